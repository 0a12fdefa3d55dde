/**
 * Workers view: the worker this window started, and every Radish or Celery worker on the broker, with host, pid,
 * pool and concurrency, queues, processed and failed counts; expand one to see its running tasks with their
 * runtime. Radish workers describe themselves in Redis; Celery workers are asked over remote control.
 */
import * as vscode from 'vscode';
import type { RunningTask, WorkerDetails } from '../../runner/index';
import { runner } from '../runner';
import type { Connection } from '../connection';
import type { WorkerSupervisor } from '../worker/supervisor';
import { connectionErrorItem, duration } from './items';

export type WorkerNode =
  | { kind: 'local'; details?: WorkerDetails }
  | { kind: 'worker'; details: WorkerDetails }
  | { kind: 'active'; worker: WorkerDetails; task: RunningTask }
  | { kind: 'error'; item: vscode.TreeItem };

function counts(d: WorkerDetails): string {
  const busy = `${d.active.length}/${d.concurrency ?? '?'} busy`;
  return [busy, d.processed === undefined ? undefined : `${d.processed} processed`, d.failed === undefined ? undefined : `${d.failed} failed`]
    .filter(Boolean).join(' · ');
}

function tooltip(d: WorkerDetails): string {
  return [
    d.hostname,
    `host ${d.host}${d.pid ? ` · pid ${d.pid}` : ''}`,
    `pool ${d.pool ?? '?'} × ${d.concurrency ?? '?'}${d.software ? ` · ${d.software}` : ''}`,
    `queues: ${d.queues.join(', ') || '(none)'}`,
    `${counts(d)}`,
    ...(d.unreachable ? [d.unreachable] : []),
  ].join('\n');
}

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
        const d = node.details;
        const item = new vscode.TreeItem('This window\'s worker', collapsible(d));
        item.id = rowId('local', d);
        const what = s.plan?.kind === 'typescript' ? s.plan.module : s.plan?.kind === 'python' ? `celery -A ${s.plan.app}` : '';
        item.description = [s.state, s.pid ? `pid ${s.pid}` : undefined, d ? counts(d) : undefined, what || undefined].filter(Boolean).join(' · ');
        item.tooltip = d ? tooltip(d) : undefined;
        item.iconPath = new vscode.ThemeIcon(s.state === 'running' ? 'vm-running' : s.state === 'crashed' ? 'error' : 'vm-outline');
        // `+control`: remote-control actions apply (the worker is known on the broker).
        item.contextValue = s.state === 'running' ? `localWorker${d ? '+control' : ''}` : 'localWorkerStopped';
        item.command = s.state === 'running' || s.state === 'crashed'
          ? { command: 'radish.showWorkerLog', title: 'Show log' }
          : { command: 'radish.startWorker', title: 'Start worker' };
        return item;
      }
      case 'worker': {
        const d = node.details;
        const item = new vscode.TreeItem(d.hostname, collapsible(d));
        item.id = rowId(`worker:${d.hostname}`, d);
        item.description = d.unreachable
          ? `${d.kind} · ${d.unreachable}`
          : `${d.kind} · ${counts(d)} · ${d.pool ?? '?'} · ${d.queues.join(', ')}`;
        item.iconPath = new vscode.ThemeIcon(d.unreachable ? 'warning' : 'server-process');
        item.contextValue = `${d.kind}Worker+control`;
        item.tooltip = tooltip(d);
        return item;
      }
      case 'active': {
        const { task } = node;
        const item = new vscode.TreeItem(task.name, vscode.TreeItemCollapsibleState.None);
        const runtime = task.started ? `running ${duration(Math.max(0, Date.now() / 1000 - task.started))}` : 'running';
        item.description = [runtime, task.pid ? `pid ${task.pid}` : undefined, task.id].filter(Boolean).join(' · ');
        item.tooltip = `${task.name}[${task.id}]\non ${node.worker.hostname}${task.args === undefined ? '' : `\nargs ${JSON.stringify(task.args)}\nkwargs ${JSON.stringify(task.kwargs)}`}`;
        item.iconPath = new vscode.ThemeIcon('loading~spin');
        item.contextValue = 'activeTask';
        item.command = { command: 'radish.openTask', title: 'Open task', arguments: [node] };
        return item;
      }
    }
  }

  async getChildren(node?: WorkerNode): Promise<WorkerNode[]> {
    if (node?.kind === 'worker' || node?.kind === 'local') {
      const worker = node.details;
      return worker ? worker.active.map((task) => ({ kind: 'active', worker, task })) : [];
    }
    if (node) return [];
    try {
      const workers = await runner().describeWorkers(await this.connection.inspector(), await this.connection.control());
      // This window's worker is shown once, as its own row, with what the broker knows of it.
      const name = this.supervisor.nodeName;
      const pid = this.supervisor.pid;
      const mine = workers.find((w) => w.hostname === name || (pid !== undefined && w.pid === pid));
      const local: WorkerNode = { kind: 'local', details: mine };
      return [local, ...workers.filter((w) => w !== mine).map((details) => ({ kind: 'worker', details }) as WorkerNode)];
    } catch (err) {
      await this.connection.failed(err);
      return [{ kind: 'local' }, { kind: 'error', item: connectionErrorItem(this.connection.displayUrl, this.connection.error ?? String(err)) }];
    }
  }
}

/** A worker row is expanded while it runs tasks (its children), a leaf otherwise. */
function collapsible(details: WorkerDetails | undefined): vscode.TreeItemCollapsibleState {
  return details?.active.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None;
}

/**
 * A worker row's id changes when it gains or loses its running tasks: the tree keeps an element's collapsible state
 * for as long as its id lives, so a row first seen idle (a leaf) would never show the tasks it starts later.
 */
function rowId(base: string, details: WorkerDetails | undefined): string {
  return details?.active.length ? `${base}:busy` : base;
}
