/**
 * Failed view: one row per failed task, from the dead-letter list (failed for good, unknown tasks, unreadable
 * messages) and the FAILURE results of workers that have no dead-letter list (Celery), with a count badge. A Radish
 * failure is in both places (its dead-letter record and its stored FAILURE): it is one row, holding both.
 */
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { DeadLetter, FailedEntry, Inspector, ResultMeta, SearchResult } from '../../runner/index';
import type { Connection } from '../connection';
import { runner } from '../runner';
import { ago, connectionErrorItem, MessageItem, summary } from './items';

/** Rows listed at most (of each kind). */
export const SHOWN = 500;

export type FailedNode =
  /** A dead-letter record, with the task's stored FAILURE result when there is one. */
  | { kind: 'letter'; letter: DeadLetter; meta?: ResultMeta }
  | { kind: 'result'; meta: ResultMeta }
  /** Not a task: what is wrong with the connection, or that there is nothing to list. */
  | { kind: 'message'; item: vscode.TreeItem };

/** A row that is a failed task. */
export type FailedTask = Exclude<FailedNode, { kind: 'message' }>;

/** The failed tasks, one per task, newest dead letters first, then the other stored failures; and how many in all. */
export async function listFailed(inspector: Inspector, limit = SHOWN): Promise<{ tasks: FailedTask[]; count: number }> {
  const [letters, letterCount, results] = await Promise.all([inspector.deadLetters(0, limit), inspector.deadLetterCount(), inspector.failedResults(limit)]);
  const unlettered = new Map(results.map((meta) => [meta.task_id, meta]));
  const tasks: FailedTask[] = letters.map((letter) => {
    const { id } = failedIdentity({ kind: 'letter', letter });
    const meta = id === undefined ? undefined : unlettered.get(id);
    if (id !== undefined) unlettered.delete(id);
    return meta ? { kind: 'letter', letter, meta } : { kind: 'letter', letter };
  });
  for (const meta of unlettered.values()) tasks.push({ kind: 'result', meta });
  return { tasks, count: letterCount + unlettered.size };
}

/** Every failed task, not only the rows on screen: every dead letter (the list is bounded by deadLetterMax). */
export async function listAllFailed(inspector: Inspector): Promise<{ tasks: FailedTask[]; count: number }> {
  return listFailed(inspector, Math.max(await inspector.deadLetterCount(), SHOWN));
}

/** `tasks.fail[ab12cd34]`: the task's name and short id, as notifications name it. */
export function failedLabel(node: FailedTask): string {
  const { id, name = node.kind === 'result' ? 'task' : 'unreadable message' } = failedIdentity(node);
  return id ? `${name}[${id.slice(0, 8)}]` : name;
}

/** A failed task's id and name, whichever kind of row it is. */
export function failedIdentity(node: FailedTask): { id: string | undefined; name: string | undefined; queue: string | undefined } {
  if (node.kind === 'result') return { id: node.meta.task_id, name: node.meta.name, queue: node.meta.queue || undefined };
  const { task, record } = node.letter;
  return { id: task?.id ?? record.task_id, name: task?.name ?? record.task, queue: record.queue || task?.routingKey || undefined };
}

/**
 * A row's stable id: the stored result's task id, or a digest of the dead-letter record (two records of one task
 * stay two rows). Without ids the tree matches rows by position and label, and a refresh racing another can show a
 * row twice.
 */
function failedRowId(node: FailedTask): string {
  if (node.kind === 'result') return `failed/result/${node.meta.task_id}`;
  return `failed/letter/${createHash('sha1').update(node.letter.stored).digest('hex')}`;
}

/** The exception type a dead-letter record names (`ValueError`), if it has one. */
function excType(exception: unknown): string | undefined {
  const type = (exception as { exc_type?: unknown } | null | undefined)?.exc_type;
  return typeof type === 'string' && type ? type : undefined;
}

export class FailedProvider implements vscode.TreeDataProvider<FailedNode> {
  private readonly changed = new vscode.EventEmitter<FailedNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The filter as typed (empty: none): the search query language of the Tasks view (`exc:Timeout args:order-42`). */
  filterText = '';
  /** Set by the view's owner so the provider can keep the badge in step with what it lists. */
  onCount: ((count: number) => void) | undefined;
  private last: LastSearch | undefined;
  constructor(private readonly connection: Connection) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: FailedNode): vscode.TreeItem {
    if (node.kind === 'message') return node.item;
    if (node.kind === 'result') return resultItem(node);
    const { letter } = node;
    const { record, task } = letter;
    const item = new vscode.TreeItem(task?.name ?? record.task ?? 'unreadable message', vscode.TreeItemCollapsibleState.None);
    // What went wrong in a word (the exception's type, or the reason) and when: the sidebar is narrow, the full
    // reason is in the tooltip and the task view.
    item.description = `${excType(record.exception) ?? record.reason.replace(/^failed: /, '')} · ${ago(record.time)}`;
    item.tooltip = new vscode.MarkdownString(undefined, true);
    item.tooltip.appendText(`${task ? `${task.name}[${task.id}]` : 'message'}\n${record.reason}\nqueue ${record.queue} · worker ${record.worker}` +
      `${task ? `\nargs: ${summary(task.args, 200)}\nkwargs: ${summary(task.kwargs, 200)}` : ''}`);
    item.iconPath = new vscode.ThemeIcon(task ? 'error' : 'warning', new vscode.ThemeColor('errorForeground'));
    item.contextValue = task ? 'failedTask' : 'deadMessage';
    item.id = failedRowId(node);
    item.command = { command: 'radish.openFailed', title: 'Open', arguments: [node] };
    return item;
  }

  async getChildren(node?: FailedNode): Promise<FailedNode[]> {
    if (node) return [];
    const session = this.connection.session;
    try {
      if (this.filterText) return await this.filtered(await this.connection.inspector());
      const { tasks, count } = await listFailed(await this.connection.inspector());
      this.onCount?.(count);
      // The empty state is a row the list returns, not welcome content: that would show while the list loads too.
      return tasks.length ? tasks : [{ kind: 'message', item: new MessageItem('No failed tasks', 'pass', undefined,
        'Tasks that fail for good, unknown tasks and unreadable messages land here.') }];
    } catch (err) {
      // Failed with a connection dropped since (a setting changed): listed again from the new one.
      if (!(await this.connection.failed(err, session))) return this.getChildren(node);
      this.onCount?.(0);
      return [{ kind: 'message', item: connectionErrorItem(this.connection) }];
    }
  }

  /** Run the filter's search again on the next load (after an action the user took), and refresh. */
  searchAgain(): void {
    this.last = undefined;
    this.refresh();
  }

  /**
   * The rows that match the filter. The search reads up to 10,000 dead letters and scans the stored results, so it
   * runs when the filter changes, when asked (searchAgain), when failures went away (retried or discarded: rows
   * would be stale) and at most once a minute; the polls between show what it found. The badge still counts every
   * failed task, as without a filter (the same read as the unfiltered list), and the filter row says so.
   */
  private async filtered(inspector: Inspector): Promise<FailedNode[]> {
    const r = runner();
    const text = this.filterText;
    const query = r.parseQuery(text);
    const [{ count }, letterCount] = await Promise.all([listFailed(inspector), inspector.deadLetterCount()]);
    this.onCount?.(count);
    const last = this.last;
    const fresh = last && last.text === text && Date.now() - last.at < SEARCH_AGAIN_MS && letterCount >= last.letterCount;
    const kept = fresh ? last : { text, at: Date.now(), letterCount, found: await r.searchFailures(inspector, query, { limit: SHOWN }) };
    this.last = { ...kept, letterCount };
    return filteredRows(text, kept.found, r.searchSummary(kept.found, query, 'failures'), count, kept.at);
  }
}

/** A failure search kept between polls: what it found, for which filter, when, and the dead letters there were. */
interface LastSearch {
  text: string;
  at: number;
  letterCount: number;
  found: SearchResult<FailedEntry>;
}

/** How long a failure search serves the polls before it runs again by itself. */
const SEARCH_AGAIN_MS = 60_000;

/**
 * The rows that match the filter, under a row that says what is filtered (one click clears it), how many of all the
 * failed tasks (the badge's count), how far it looked and when.
 */
function filteredRows(text: string, found: SearchResult<FailedEntry>, cutShort: string | undefined, total: number, at: number): FailedNode[] {
  const when = `searched ${new Date(at).toLocaleTimeString()}`;
  const head = new MessageItem(`Filtered: ${text}`, 'filter', { command: 'radish.clearFailedFilter', title: 'Clear Failed Filter' },
    `Only failed tasks matching "${text}" are listed${cutShort ? ` (${cutShort})` : ''}; the badge counts every failed task (${total}). `
    + `The failures were ${when} (again when the filter changes, when failures go, and every minute). Click to show every failed task.`);
  head.description = `${cutShort ?? `${found.matched} of ${total} failed`} · ${when} · click to clear`;
  const rows: FailedNode[] = [{ kind: 'message', item: head }, ...found.items];
  if (found.items.length === 0) rows.push({ kind: 'message', item: new MessageItem(`No failed task matches "${text}"`, 'info') });
  return rows;
}

function resultItem(node: Extract<FailedNode, { kind: 'result' }>): vscode.TreeItem {
  const { meta } = node;
  const exc = meta.result as { exc_type?: string; exc_message?: unknown } | null;
  const item = new vscode.TreeItem(meta.name ?? meta.task_id, vscode.TreeItemCollapsibleState.None);
  const done = (runner().dateDoneOf(meta)?.getTime() ?? NaN) / 1000;
  const when = Number.isFinite(done) ? ago(done) : '';
  const message = Array.isArray(exc?.exc_message) ? exc.exc_message.map(String).join(', ') : String(exc?.exc_message ?? '');
  item.description = `${exc?.exc_type ?? 'failed'}${when ? ` · ${when}` : ''}`;
  item.tooltip = `${meta.name ?? '(no name: the worker does not keep result_extended)'}[${meta.task_id}]\n${exc?.exc_type}: ${message}` +
    `${meta.worker ? `\nworker ${meta.worker}` : ''}${meta.args ? `\nargs: ${summary(meta.args, 200)}\nkwargs: ${summary(meta.kwargs, 200)}` : ''}`;
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
  // Retry needs the task name and arguments, which Celery keeps only with result_extended.
  item.contextValue = meta.name ? 'failedResult' : 'failedResultBare';
  item.id = failedRowId(node);
  item.command = { command: 'radish.openFailed', title: 'Open', arguments: [node] };
  return item;
}
