/**
 * Failed view: the dead-letter list (failed for good, unknown tasks, unreadable messages) and the FAILURE results
 * of workers that have no dead-letter list (Celery), with a count badge.
 */
import * as vscode from 'vscode';
import type { DeadLetter, ResultMeta } from '../../runner/index';
import type { Connection } from '../connection';
import { ago, connectionErrorItem, summary } from './items';

const SHOWN = 500;

export type FailedNode =
  | { kind: 'letter'; letter: DeadLetter }
  | { kind: 'result'; meta: ResultMeta }
  | { kind: 'error'; item: vscode.TreeItem };

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
    if (node.kind === 'result') return resultItem(node);
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
      const inspector = await this.connection.inspector();
      const [letters, count, results] = await Promise.all([inspector.deadLetters(0, SHOWN), inspector.deadLetterCount(), inspector.failedResults(SHOWN)]);
      this.current = letters;
      // A Radish failure is in both places; the dead-letter record (with the whole message) is the one shown.
      const lettered = new Set(letters.map((l) => l.task?.id ?? l.record.task_id));
      const others = results.filter((r) => !lettered.has(r.task_id));
      this.onCount?.(count + others.length);
      return [...letters.map((letter) => ({ kind: 'letter', letter }) as FailedNode), ...others.map((meta) => ({ kind: 'result', meta }) as FailedNode)];
    } catch (err) {
      await this.connection.failed(err);
      this.current = [];
      this.onCount?.(0);
      return [{ kind: 'error', item: connectionErrorItem(this.connection.displayUrl, this.connection.error ?? String(err)) }];
    }
  }
}

function resultItem(node: Extract<FailedNode, { kind: 'result' }>): vscode.TreeItem {
  const { meta } = node;
  const exc = meta.result as { exc_type?: string; exc_message?: unknown } | null;
  const item = new vscode.TreeItem(meta.name ?? meta.task_id, vscode.TreeItemCollapsibleState.None);
  const when = meta.date_done ? ago(Date.parse(meta.date_done + 'Z') / 1000) : '';
  const message = Array.isArray(exc?.exc_message) ? exc.exc_message.map(String).join(', ') : String(exc?.exc_message ?? '');
  item.description = `${when} · ${exc?.exc_type ?? 'failed'}: ${message}`;
  item.tooltip = `${meta.name ?? '(no name: the worker does not keep result_extended)'}[${meta.task_id}]\n${exc?.exc_type}: ${message}` +
    `${meta.worker ? `\nworker ${meta.worker}` : ''}${meta.args ? `\nargs: ${summary(meta.args, 200)}\nkwargs: ${summary(meta.kwargs, 200)}` : ''}`;
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
  // Retry needs the task name and arguments, which Celery keeps only with result_extended.
  item.contextValue = meta.name ? 'failedResult' : 'failedResultBare';
  item.command = { command: 'radish.openFailed', title: 'Open', arguments: [node] };
  return item;
}
