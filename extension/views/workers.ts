/** Workers view: the worker this window started, and every Radish or Celery worker visible in Redis, with what it runs. */
import * as vscode from 'vscode';
import type { WorkerInfo } from '../../runner/index';
import type { Connection } from '../connection';
import type { WorkerSupervisor } from '../worker/supervisor';
import { ago, connectionErrorItem } from './items';

export type WorkerNode =
  | { kind: 'local'; info?: WorkerInfo }
  | { kind: 'worker'; info: WorkerInfo }
  | { kind: 'active'; id: string; name: string; started: number }
  | { kind: 'error'; item: vscode.TreeItem };

export class WorkersProvider implements vscode.TreeDataProvider<WorkerNode> {
  private readonly changed = new vscode.EventEmitter<WorkerNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly connection: Connection, private readonly supervisor: WorkerSupervisor) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: WorkerNode): vscode.TreeItem {
    switch (node.kind) {
      case 'error':
        return node.item;
      case 'local': {
        const s = this.supervisor;
        const busy = node.info?.presence?.active.length ?? 0;
        const item = new vscode.TreeItem('This window\'s worker', busy ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        const what = s.plan?.kind === 'typescript' ? s.plan.module : s.plan?.kind === 'python' ? `celery -A ${s.plan.app}` : '';
        const p = node.info?.presence;
        const counts = p ? ` · ${busy}/${p.concurrency} busy · ${p.processed} processed · ${p.failed} failed` : '';
        item.description = `${s.state}${s.pid ? ` · pid ${s.pid}` : ''}${counts}${what ? ` · ${what}` : ''}`;
        item.tooltip = node.info ? `${node.info.hostname}${p ? `\nqueues: ${p.queues.join(', ')}\ntasks: ${p.tasks.join(', ')}` : ''}` : undefined;
        item.iconPath = new vscode.ThemeIcon(s.state === 'running' ? 'vm-running' : s.state === 'crashed' ? 'error' : 'vm-outline');
        item.contextValue = s.state === 'running' ? 'localWorker' : 'localWorkerStopped';
        item.command = s.state === 'running' || s.state === 'crashed'
          ? { command: 'radish.showWorkerLog', title: 'Show log' }
          : { command: 'radish.startWorker', title: 'Start worker' };
        return item;
      }
      case 'worker': {
        const { info } = node;
        const p = info.presence;
        const busy = p?.active.length ?? 0;
        const item = new vscode.TreeItem(info.hostname, busy ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.description = p
          ? `${info.kind} · ${busy}/${p.concurrency} busy · ${p.processed} processed · ${p.failed} failed · ${p.queues.join(', ')}`
          : `${info.kind} · online (details need remote control)`;
        item.iconPath = new vscode.ThemeIcon('server-process');
        item.contextValue = `${info.kind}Worker`;
        item.tooltip = p ? `${info.hostname}\npid ${p.pid} · pool ${p.pool} · ${p.sw_ident} ${p.sw_ver}\nqueues: ${p.queues.join(', ')}\ntasks: ${p.tasks.join(', ')}` : info.hostname;
        return item;
      }
      case 'active': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.description = `running ${ago(node.started).replace(' ago', '')} · ${node.id}`;
        item.iconPath = new vscode.ThemeIcon('loading~spin');
        item.contextValue = 'activeTask';
        return item;
      }
    }
  }

  async getChildren(node?: WorkerNode): Promise<WorkerNode[]> {
    if (node?.kind === 'worker' || node?.kind === 'local') return (node.info?.presence?.active ?? []).map((a) => ({ kind: 'active', ...a }));
    if (node) return [];
    try {
      const workers = await (await this.connection.get()).workers();
      // This window's worker is shown once, as its own row, with what Redis knows of it.
      const pid = this.supervisor.pid;
      const mine = pid === undefined ? undefined : workers.find((w) => w.presence?.pid === pid);
      const local: WorkerNode = { kind: 'local', info: mine };
      return [local, ...workers.filter((w) => w !== mine).map((info) => ({ kind: 'worker', info }) as WorkerNode)];
    } catch (err) {
      await this.connection.failed(err);
      return [{ kind: 'local' }, { kind: 'error', item: connectionErrorItem(this.connection.displayUrl, this.connection.error ?? String(err)) }];
    }
  }
}
