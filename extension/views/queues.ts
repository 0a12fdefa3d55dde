/** Queues view: each queue with its depth per priority; expanding pages through its messages (100 at a time). */
import * as vscode from 'vscode';
import type { QueueDepth, QueuedMessage } from '../../runner/index';
import type { Connection } from '../connection';
import { MessageItem, summary } from './items';

export const PAGE = 100;

export type QueueNode =
  | { kind: 'queue'; depth: QueueDepth }
  | { kind: 'message'; queue: string; message: QueuedMessage; position: number }
  | { kind: 'more'; queue: string; shown: number };

export class QueuesProvider implements vscode.TreeDataProvider<QueueNode> {
  private readonly changed = new vscode.EventEmitter<QueueNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** How many messages each expanded queue shows. */
  private readonly shown = new Map<string, number>();

  constructor(private readonly connection: Connection) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Show the next page of a queue. */
  loadMore(queue: string): void {
    this.shown.set(queue, (this.shown.get(queue) ?? PAGE) + PAGE);
    this.refresh();
  }

  getTreeItem(node: QueueNode): vscode.TreeItem {
    if (node.kind === 'queue') {
      const { queue, total, byPriority } = node.depth;
      const item = new vscode.TreeItem(queue, total > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      const parts = Object.entries(byPriority).filter(([, n]) => n > 0).map(([p, n]) => `p${p}: ${n}`);
      item.description = `${total} waiting${parts.length > 1 ? ` (${parts.join(', ')})` : ''}`;
      item.iconPath = new vscode.ThemeIcon('list-ordered');
      item.contextValue = 'queue';
      item.id = `queue:${queue}`;
      item.tooltip = `${queue}: ${total} waiting\n${Object.entries(byPriority).map(([p, n]) => `priority step ${p}: ${n}`).join('\n')}`;
      return item;
    }
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
    try {
      const inspector = await this.connection.inspector();
      if (!node) {
        const queues = vscode.workspace.getConfiguration('radish').get<string[]>('worker.queues') ?? [];
        const depths = await inspector.queues(queues);
        return depths.map((depth) => ({ kind: 'queue', depth }) as QueueNode);
      }
      if (node.kind !== 'queue') return [];
      const limit = this.shown.get(node.depth.queue) ?? PAGE;
      const messages = await inspector.messages(node.depth.queue, 0, limit);
      const items: QueueNode[] = messages.map((message, position) => ({ kind: 'message', queue: node.depth.queue, message, position }));
      if (messages.length === limit) items.push({ kind: 'more', queue: node.depth.queue, shown: limit });
      return items;
    } catch (err) {
      // Empty on purpose: the view's welcome content then offers the fixes as buttons (set the URL, the password,
      // start a local redis-server); the Workers and Failed views show Redis's own error as a tree item.
      await this.connection.failed(err);
      return [];
    }
  }
}
