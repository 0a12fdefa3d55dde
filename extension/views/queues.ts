/**
 * Queues view: each queue with its depth (per priority where the broker keeps them apart: Redis); expanding one
 * pages through its messages, 100 at a time, where the broker can show them without taking them (Redis). On
 * RabbitMQ a queue's row says how many wait, and expanding it says why they cannot be shown. The queues listed are
 * every queue the broker knows of, with the app's default queue, `radish.worker.queues` and the queues the project's
 * tasks are routed to; where the broker cannot list its queues (RabbitMQ without its management API) those known
 * ones, and a row that says how to list them all.
 */
import * as vscode from 'vscode';
import { errorMessage } from '../../runner/errors';
import type { PausedQueue, QueueDepth, QueuedMessage } from '../../runner/index';
import type { Connection } from '../connection';
import type { TaskIndex } from '../discovery/workspace';
import { MessageItem, summary } from './items';
import { runner } from '../runner';

export const PAGE = 100;

export type QueueNode =
  /** `paused`: the queue is paused for the fleet (runner/queue-control.ts), with its record. */
  | { kind: 'queue'; depth: QueueDepth; paused?: PausedQueue }
  | { kind: 'message'; queue: string; message: QueuedMessage; position: number }
  | { kind: 'more'; queue: string; shown: number }
  /** Not a queue or a message: why a queue's messages are not shown, or how to list every queue. */
  | { kind: 'note'; queue?: string; item: vscode.TreeItem };

export class QueuesProvider implements vscode.TreeDataProvider<QueueNode> {
  private readonly changed = new vscode.EventEmitter<QueueNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** How many messages each expanded queue shows. */
  private readonly shown = new Map<string, number>();

  constructor(private readonly connection: Connection, private readonly tasks: TaskIndex) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Show the next page of a queue. */
  loadMore(queue: string): void {
    this.shown.set(queue, (this.shown.get(queue) ?? PAGE) + PAGE);
    this.refresh();
  }

  /**
   * The queues known without asking the broker: those the local worker consumes (`radish.worker.queues`) and those
   * the workspace's tasks name (a task's `queue` option, its app's routes). The app's default queue is added by the
   * inspector.
   */
  knownQueues(): string[] {
    const queues = new Set(vscode.workspace.getConfiguration('radish').get<string[]>('worker.queues') ?? []);
    for (const site of this.tasks.sites()) {
      if (typeof site.options.queue === 'string' && site.options.queue) queues.add(site.options.queue);
      for (const target of Object.values(site.appRoutes ?? {})) queues.add(typeof target === 'string' ? target : target.queue);
    }
    return [...queues].filter(Boolean);
  }

  /** Every queue with its depth: those the broker lists, and the known ones. */
  async depths(): Promise<QueueDepth[]> {
    return (await this.connection.inspector()).queues(this.knownQueues());
  }

  getTreeItem(node: QueueNode): vscode.TreeItem {
    if (node.kind === 'queue') {
      const { queue, total, byPriority } = node.depth;
      const item = new vscode.TreeItem(queue, total > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      // Per priority only where the broker keeps them apart (Redis); RabbitMQ gives the total alone.
      const steps = Object.entries(byPriority).filter(([, n]) => n > 0);
      const parts = steps.map(([p, n]) => `p${p}: ${n}`);
      const paused = node.paused;
      // The state first: the description is cut at the sidebar's default width.
      item.description = `${paused ? 'paused · ' : ''}${total} waiting${parts.length > 1 ? ` (${parts.join(', ')})` : ''}`;
      item.iconPath = new vscode.ThemeIcon(paused ? 'debug-pause' : 'list-ordered');
      // `queue.paused` vs `queue`: menus that apply to both match /^queue(\.paused)?$/.
      item.contextValue = paused ? 'queue.paused' : 'queue';
      item.id = `queue:${queue}`;
      item.tooltip = [`${queue}: ${total} waiting`, ...steps.map(([p, n]) => `priority step ${p}: ${n}`), ...(paused ? pausedTooltip(paused) : [])].join('\n');
      return item;
    }
    if (node.kind === 'note') return node.item;
    if (node.kind === 'more') {
      return new MessageItem(`Load more (showing ${node.shown})`, 'ellipsis', { command: 'radish.loadMore', title: 'Load more', arguments: [node.queue] });
    }
    const { message } = node;
    const task = message.task;
    const item = new vscode.TreeItem(task ? task.name : 'unreadable message', vscode.TreeItemCollapsibleState.None);
    item.description = task ? `${summary(task.args)}${Object.keys(task.kwargs).length ? ' ' + summary(task.kwargs) : ''} · p${task.priority}` : message.error;
    item.iconPath = new vscode.ThemeIcon(task ? (task.eta ? 'watch' : 'mail') : 'warning');
    item.contextValue = task ? 'queuedMessage' : 'badMessage';
    item.tooltip = task ? `${task.name}[${task.id}]\nargs: ${JSON.stringify(task.args)}\nkwargs: ${JSON.stringify(task.kwargs)}` : message.error;
    item.command = { command: 'radish.openMessage', title: 'Open', arguments: [node] };
    return item;
  }

  async getChildren(node?: QueueNode): Promise<QueueNode[]> {
    const session = this.connection.session;
    try {
      const inspector = await this.connection.inspector();
      if (!node) {
        const [depths, paused] = await Promise.all([this.depths(), this.pausedQueues()]);
        const queues: QueueNode[] = depths.map((depth) => {
          const record = paused instanceof Map ? paused.get(depth.queue) : undefined;
          return record ? { kind: 'queue', depth, paused: record } : { kind: 'queue', depth };
        });
        if (!(paused instanceof Map)) queues.push({ kind: 'note', item: pausedUnknown(paused.error) });
        if (!(await this.listsEveryQueue())) queues.push({ kind: 'note', item: managementHint() });
        return queues;
      }
      if (node.kind !== 'queue') return [];
      const queue = node.depth.queue;
      const limit = this.shown.get(queue) ?? PAGE;
      let messages: QueuedMessage[];
      try {
        messages = await inspector.messages(queue, 0, limit);
      } catch (err) {
        // Not a connection problem: the broker cannot show what waits without taking it (RabbitMQ).
        if (err instanceof Error && err.name === 'BrowseUnsupportedError') return [{ kind: 'note', queue, item: browseNote(queue, node.depth.total, err.message) }];
        throw err;
      }
      const items: QueueNode[] = messages.map((message, position) => ({ kind: 'message', queue, message, position }));
      if (messages.length === limit) items.push({ kind: 'more', queue, shown: limit });
      return items;
    } catch (err) {
      // Empty on purpose: the view's welcome content then offers the fixes as buttons (set the broker URL, the
      // password, the result backend, start a local redis-server); the Workers and Failed views show the error as a
      // tree item. Failed with a connection dropped since (a setting changed): read again from the new one.
      if (!(await this.connection.failed(err, session))) return this.getChildren(node);
      return [];
    }
  }

  /**
   * The queues paused for the fleet, by name (none where nothing can be paused: RabbitMQ with the rpc:// backend);
   * or, when they cannot be read, why. They live in the shared store, which on RabbitMQ is the Redis result backend:
   * that being down must not blank the depths, which RabbitMQ still gives.
   */
  private async pausedQueues(): Promise<Map<string, PausedQueue> | { error: unknown }> {
    try {
      const list = await runner().pausedQueues(await this.connection.client());
      return new Map(list.map((p) => [p.queue, p]));
    } catch (error) {
      return { error };
    }
  }

  /** Whether the broker lists every queue: Redis does; RabbitMQ only through its management API, which says unacked counts too. */
  private async listsEveryQueue(): Promise<boolean> {
    if (!this.connection.isAmqp) return true;
    return (await (await (await this.connection.client()).broker()).unackedCount()) !== null;
  }
}

/** What a paused queue's tooltip adds: since when, which Celery workers were stopped, and what a pause cannot do. */
function pausedTooltip(p: PausedQueue): string[] {
  return [
    '',
    `Paused for the fleet${p.since ? ` since ${new Date(p.since * 1000).toLocaleString()}` : ''}: Radish workers take nothing from it, those started later included.`,
    p.cancelled.length ? `Celery workers told to stop consuming it: ${p.cancelled.join(', ')}.` : 'No Celery worker consumed it when it was paused.',
    'A Celery worker started after the pause consumes it all the same (Celery has no pause): pause it again to stop that one.',
  ];
}

/** The child of a RabbitMQ queue: why its messages are not listed. */
function browseNote(queue: string, total: number, reason: string): vscode.TreeItem {
  const item = new MessageItem('RabbitMQ cannot show them', 'info', undefined,
    `${reason.charAt(0).toUpperCase()}${reason.slice(1)}.\n\n${queue} has ${total} waiting. A worker takes them in turn; Purge Queue deletes them.`);
  item.description = 'without taking them off the queue';
  item.contextValue = 'browseUnsupported';
  item.id = `queue:${queue}:browse`;
  return item;
}

/** Below the queues when the paused queues could not be read: the rows may miss their "paused" mark. */
function pausedUnknown(err: unknown): vscode.TreeItem {
  const item = new MessageItem('Paused queues unknown', 'warning', undefined,
    `The queues paused for the fleet could not be read (${errorMessage(err)}), so no row says "paused" now, `
    + 'though some queues may be. They are recorded in Redis (the broker, or the result backend beside RabbitMQ); '
    + 'the view reads them again at its next refresh.');
  item.description = 'no paused marks until Redis answers';
  item.contextValue = 'pausedUnknown';
  item.id = 'queues:paused-unknown';
  return item;
}

/** Below the queues of a RabbitMQ without its management API: only the known queues are listed. */
function managementHint(): vscode.TreeItem {
  const item = new MessageItem('Known queues only', 'info', undefined,
    'RabbitMQ lists its queues, and the Celery workers\' mailboxes, through its management API, which does not answer here '
    + '(or radish.rabbitmq.managementUrl is off). '
    + 'Listed: the app\'s default queue, radish.worker.queues and the queues the workspace\'s tasks are routed to.\n\n'
    + 'Enable it on the broker (rabbitmq-plugins enable rabbitmq_management) to list every queue, or point '
    + 'radish.rabbitmq.managementUrl at it if it runs elsewhere than the broker\'s host on port 15672.');
  item.description = 'enable rabbitmq_management to list every queue';
  item.contextValue = 'managementHint';
  item.id = 'queues:management-hint';
  return item;
}
