/** Failed view: the dead-letter list (failed for good, unknown tasks, unreadable messages), with a count badge. */
import * as vscode from 'vscode';
import type { DeadLetter } from '../../runner/index';
import type { Connection } from '../connection';
import { ago, connectionErrorItem, summary } from './items';

const SHOWN = 500;

export type FailedNode = { kind: 'letter'; letter: DeadLetter } | { kind: 'error'; item: vscode.TreeItem };

export class FailedProvider implements vscode.TreeDataProvider<FailedNode> {
  private readonly changed = new vscode.EventEmitter<FailedNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** Set by the view's owner so the provider can keep the badge in step with what it lists. */
  onCount: ((count: number) => void) | undefined;
  /** The records last listed (for Retry all). */
  current: DeadLetter[] = [];

  constructor(private readonly connection: Connection) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: FailedNode): vscode.TreeItem {
    if (node.kind === 'error') return node.item;
    const { letter } = node;
    const { record, task } = letter;
    const item = new vscode.TreeItem(task?.name ?? record.task ?? 'unreadable message', vscode.TreeItemCollapsibleState.None);
    const reason = record.reason.replace(/^failed: /, '');
    // Age first: the reason is long and the sidebar narrow.
    item.description = `${ago(record.time)} · ${reason}`;
    item.tooltip = new vscode.MarkdownString(undefined, true);
    item.tooltip.appendText(`${task ? `${task.name}[${task.id}]` : 'message'}\n${record.reason}\nqueue ${record.queue} · worker ${record.worker}` +
      `${task ? `\nargs: ${summary(task.args, 200)}\nkwargs: ${summary(task.kwargs, 200)}` : ''}`);
    item.iconPath = new vscode.ThemeIcon(task ? 'error' : 'warning', new vscode.ThemeColor('errorForeground'));
    item.contextValue = task ? 'failedTask' : 'deadMessage';
    item.command = { command: 'radish.openFailed', title: 'Open', arguments: [node] };
    return item;
  }

  async getChildren(node?: FailedNode): Promise<FailedNode[]> {
    if (node) return [];
    try {
      const inspector = await this.connection.get();
      const [letters, count] = await Promise.all([inspector.deadLetters(0, SHOWN), inspector.deadLetterCount()]);
      this.current = letters;
      this.onCount?.(count);
      return letters.map((letter) => ({ kind: 'letter', letter }));
    } catch (err) {
      await this.connection.failed(err);
      this.current = [];
      this.onCount?.(0);
      return [{ kind: 'error', item: connectionErrorItem(this.connection.displayUrl, this.connection.error ?? String(err)) }];
    }
  }
}
