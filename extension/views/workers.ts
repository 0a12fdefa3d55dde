/**
 * Workers view: the worker this window started, and every Radish or Celery worker on the broker, with host, pid,
 * pool and concurrency, queues, processed and failed counts; expand one to see its running tasks with their
 * runtime. Radish workers describe themselves in their presence records (in Redis: the broker, or the result backend
 * beside RabbitMQ); Celery workers are asked over remote control.
 * A row shows its state first ("Local worker: running"), the detail after it, so the state is readable at the
 * sidebar's default width. A task the user terminates changes at once: "terminating" while the workers are asked,
 * gone once one says it terminated it, without waiting for the worker's next heartbeat or the next poll.
 */
import * as vscode from 'vscode';
import type { RunningTask, WorkerDetails } from '../../runner/index';
import type { Connection } from '../connection';
import type { WorkerSupervisor } from '../worker/supervisor';
import { connectionErrorItem, duration, taskLabel } from './items';

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

/** How long a terminated task is kept apart (marked, or hidden once confirmed) while workers still list it. */
const TERMINATING_MS = 60_000;

/**
 * Whether the replies to a revoke with terminate say a worker terminated `id` (Radish and Celery both answer
 * `{ ok: 'terminate: <ids>' }` when they did, `terminate: tasks unknown` when they did not run it).
 */
export function terminatedBy(replies: Record<string, unknown> | undefined, id: string): boolean {
  return Object.values(replies ?? {}).some((reply) => {
    const ok = (reply as { ok?: unknown } | null)?.ok;
    return typeof ok === 'string' && ok.startsWith('terminate:') && ok.includes(id);
  });
}

export class WorkersProvider implements vscode.TreeDataProvider<WorkerNode> {
  private readonly changed = new vscode.EventEmitter<WorkerNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /**
   * Tasks the user terminated, by id: since when, and whether a worker confirmed it. A running task's record lags
   * its worker by up to a heartbeat (and a Celery node's answer by a poll): meanwhile the row says "terminating",
   * and is left out once confirmed. Forgotten as soon as no worker lists the task, or after TERMINATING_MS.
   */
  private readonly terminating = new Map<string, { since: number; confirmed: boolean }>();

  /** The rows as last loaded, and what they showed: the view is redrawn only when that changes. */
  private rows: Promise<WorkerNode[]> | undefined;
  private shown: string | undefined;
  /** Rows a refresh loaded for the redraw it asked for: the view's next getChildren takes them. */
  private handedOver: Promise<WorkerNode[]> | undefined;
  private loading: Promise<void> | undefined;
  private again = false;

  constructor(private readonly connection: Connection, private readonly supervisor: WorkerSupervisor) {}

  /**
   * Load the workers again (polled, and on every heartbeat) and redraw the view only if a row would read
   * differently. A redraw replaces every row, and a click on a row's inline action (Terminate) that lands while
   * its row is being replaced reaches the command without its task: so nothing is redrawn for nothing.
   */
  refresh(): void {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = (async () => {
      try {
        do {
          this.again = false;
          const rows = this.load();
          if (this.redrawIfChanged(await rows)) {
            this.rows = rows;
            this.handedOver = rows;
          }
        } while (this.again);
      } finally {
        this.loading = undefined;
      }
    })();
  }

  /** Redraw from the rows already loaded, when what only this window knows changed (a task being terminated). */
  private rerender(): void {
    void this.rows?.then((rows) => this.redrawIfChanged(rows));
  }

  private redrawIfChanged(rows: WorkerNode[]): boolean {
    const shown = this.fingerprint(rows);
    if (shown === this.shown) return false;
    this.shown = shown;
    this.changed.fire(undefined);
    return true;
  }

  /** What the rows show (not their tooltips, read when hovered): ids, labels, descriptions, icons, menus. */
  private fingerprint(rows: WorkerNode[]): string {
    const seen: unknown[] = [];
    const add = (node: WorkerNode): void => {
      const item = this.getTreeItem(node);
      const icon = item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : undefined;
      seen.push([item.id, item.label, item.description, item.contextValue, icon, item.collapsibleState]);
    };
    for (const row of rows) {
      add(row);
      if ((row.kind === 'local' || row.kind === 'worker') && row.details) for (const child of activeRows(row.details)) add(child);
    }
    return JSON.stringify(seen);
  }

  /** The user confirmed Terminate: the task's row says "terminating" from now on. */
  markTerminating(id: string): void {
    this.terminating.set(id, { since: Date.now(), confirmed: false });
    this.rerender();
  }

  /**
   * The workers answered the terminate: a task a worker says it terminated leaves the view now; one none claims
   * stays marked until the workers stop listing it. `failed`: the request itself failed, the mark goes.
   */
  terminateAnswered(id: string, replies: Record<string, unknown> | undefined, failed = false): void {
    const mark = this.terminating.get(id);
    if (!mark) return;
    if (failed) this.terminating.delete(id);
    else if (terminatedBy(replies, id)) mark.confirmed = true;
    // A confirmed terminate takes the task's row away: the rows are read again without it.
    this.refresh();
  }

  /** The workers as listed, less the tasks a worker confirmed it terminated; forgets marks no longer needed. */
  private withoutTerminated(workers: WorkerDetails[]): WorkerDetails[] {
    if (this.terminating.size === 0) return workers;
    const listed = new Set(workers.flatMap((w) => w.active.map((t) => t.id)));
    for (const [id, mark] of this.terminating) {
      if (!listed.has(id) || Date.now() - mark.since > TERMINATING_MS) this.terminating.delete(id);
    }
    return workers.map((w) => (w.active.some((t) => this.terminating.get(t.id)?.confirmed)
      ? { ...w, active: w.active.filter((t) => !this.terminating.get(t.id)?.confirmed) }
      : w));
  }

  getTreeItem(node: WorkerNode): vscode.TreeItem {
    switch (node.kind) {
      case 'error':
        return node.item;
      case 'local': {
        const s = this.supervisor;
        const d = node.details;
        // The state in the label: the description is cut first in a narrow sidebar.
        const item = new vscode.TreeItem(`Local worker: ${s.state === 'running' && s.debugging ? 'debugging' : s.state}`, collapsible(d));
        item.id = rowId('local', d);
        const what = s.plan?.kind === 'typescript' ? s.plan.module : s.plan?.kind === 'python' ? `celery -A ${s.plan.app}` : '';
        item.description = [s.pid ? `pid ${s.pid}` : undefined, d ? counts(d) : undefined, what || undefined].filter(Boolean).join(' · ');
        item.tooltip = [`The worker this window starts and stops (it stops with the window): ${s.state}${s.debugging ? ', under the debugger' : ''}`
          + `${what ? `, ${what}` : ''}${s.pid ? `, pid ${s.pid}` : ''}`, ...(d ? [tooltip(d)] : [])].join('\n\n');
        item.iconPath = new vscode.ThemeIcon(s.state === 'running' ? 'vm-running' : s.state === 'crashed' ? 'error' : 'vm-outline');
        // `+control`: remote-control actions apply (the worker is known on the broker).
        item.contextValue = s.state === 'running' ? `localWorker${d ? '+control' : ''}` : 'localWorkerStopped';
        item.command = s.state === 'running' || s.state === 'crashed'
          ? { command: 'radish.showWorkerLog', title: 'Show Worker Log' }
          : { command: 'radish.startWorker', title: 'Start Worker' };
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
        const terminating = this.terminating.has(task.id);
        const item = new vscode.TreeItem(taskLabel(task.name), vscode.TreeItemCollapsibleState.None);
        // Minutes in the row (it changes once a minute, not on every heartbeat); to the tenth of a second on hover.
        const state = terminating ? 'terminating' : `running${task.started ? ` ${minutes(Date.now() / 1000 - task.started)}` : ''}`;
        item.description = [state, task.pid ? `pid ${task.pid}` : undefined, task.id].filter(Boolean).join(' · ');
        item.iconPath = new vscode.ThemeIcon(terminating ? 'stop-circle' : 'loading~spin');
        item.contextValue = 'activeTask';
        item.command = { command: 'radish.openTask', title: 'Open Task', arguments: [node] };
        return item;
      }
    }
  }

  /** The tooltip of a running task, read when hovered: how long it has run, now. */
  resolveTreeItem(item: vscode.TreeItem, node: WorkerNode): vscode.TreeItem {
    if (node.kind !== 'active') return item;
    const { task } = node;
    const state = this.terminating.has(task.id) ? 'terminating' : `running${task.started ? ` ${duration(Math.max(0, Date.now() / 1000 - task.started))}` : ''}`;
    item.tooltip = `${task.name}[${task.id}]\n${state} on ${node.worker.hostname}${task.args === undefined ? '' : `\nargs ${JSON.stringify(task.args)}\nkwargs ${JSON.stringify(task.kwargs)}`}`;
    return item;
  }

  async getChildren(node?: WorkerNode): Promise<WorkerNode[]> {
    if (node?.kind === 'worker' || node?.kind === 'local') return node.details ? activeRows(node.details) : [];
    if (node) return [];
    // The rows a refresh loaded for this redraw; loaded now otherwise (the view opening, a caller asking).
    const rows = this.handedOver ?? this.load();
    this.handedOver = undefined;
    this.rows = rows;
    void rows.then((r) => { if (this.rows === rows) this.shown = this.fingerprint(r); });
    return rows;
  }

  private async load(): Promise<WorkerNode[]> {
    const session = this.connection.session;
    try {
      const workers = this.withoutTerminated(await this.connection.workers());
      // This window's worker is shown once, as its own row, with what the broker knows of it.
      const name = this.supervisor.nodeName;
      const pid = this.supervisor.pid;
      const mine = workers.find((w) => w.hostname === name || (pid !== undefined && w.pid === pid));
      const local: WorkerNode = { kind: 'local', details: mine };
      return [local, ...workers.filter((w) => w !== mine).map((details) => ({ kind: 'worker', details }) as WorkerNode)];
    } catch (err) {
      // Failed with a connection dropped since (a setting changed): asked again on the new one.
      if (!(await this.connection.failed(err, session))) return this.load();
      return [{ kind: 'local' }, { kind: 'error', item: connectionErrorItem(this.connection) }];
    }
  }
}

function activeRows(worker: WorkerDetails): WorkerNode[] {
  return worker.active.map((task) => ({ kind: 'active', worker, task }));
}

/** How long a task has run, to the minute: `<1 min`, `12 min`, `2 h 05 min`. */
function minutes(seconds: number): string {
  const m = Math.floor(Math.max(0, seconds) / 60);
  if (m < 1) return '<1 min';
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
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
