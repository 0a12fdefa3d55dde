/**
 * Tasks view: recent tasks from the event stream (kept in Redis: the broker, or the result backend beside RabbitMQ;
 * so the list survives a reload), newest first, with
 * state, runtime and worker, filtered by a search query (runner/monitor/search.ts: `args:order-42`, `exc:Timeout`,
 * `state:FAILURE`, bare words anywhere); and the task definitions found in the workspace, in
 * a group of their own (click to open, inline to enqueue).
 */
import * as vscode from 'vscode';
import type { SearchResult, TaskRecord } from '../../runner/index';
import type { TaskDefinitionSite } from '../discovery/types';
import type { TaskIndex } from '../discovery/workspace';
import type { Live } from '../live';
import type { Connection } from '../connection';
import { runner } from '../runner';
import { ago, connectionErrorItem, duration, MessageItem, taskLabel } from './items';

export type TaskNode =
  | { kind: 'definitions' }
  | { kind: 'definition'; site: TaskDefinitionSite }
  | { kind: 'record'; record: TaskRecord }
  | { kind: 'message'; item: vscode.TreeItem };

const FINISHED = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

const STATE_ICONS: Record<string, [string, string?]> = {
  SUCCESS: ['pass', 'testing.iconPassed'],
  FAILURE: ['error', 'testing.iconFailed'],
  STARTED: ['loading~spin'],
  RECEIVED: ['inbox'],
  SENT: ['send'],
  RETRY: ['sync', 'testing.iconQueued'],
  REVOKED: ['circle-slash', 'disabledForeground'],
};

/** How long a search inside the records serves the polls before it runs again by itself. */
export const SEARCH_AGAIN_MS = 60_000;

/** A search inside the records, kept between polls: what it found, for which filter, and when. */
interface LastSearch {
  text: string;
  at: number;
  found: SearchResult<TaskRecord>;
  /** The history's newest event time when it ran, then at the last poll: the polls look at what changed after it. */
  newest: number;
}

/** Tasks changed since the last look that a poll reads at most; more wait for the next search. */
const CHANGED_MAX = 500;

export class TasksProvider implements vscode.TreeDataProvider<TaskNode> {
  private readonly changed = new vscode.EventEmitter<TaskNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The filter as typed (empty: none). A new filter is searched at once. */
  filterText = '';
  private last: LastSearch | undefined;

  constructor(private readonly index: TaskIndex, private readonly live: Live, private readonly connection: Connection) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Run the filter's search again on the next load (after an action the user took), and refresh. */
  searchAgain(): void {
    this.last = undefined;
    this.refresh();
  }

  /**
   * The tasks that match the filter. A filter that looks inside the records (bare words, args:, exc:...) loads up to
   * 10,000 of them: it is searched when it changes, when asked (searchAgain) and at most once a minute; the polls
   * between read again only the tasks it found (their state moves on) and those that changed since (up to 500), and
   * keep those that match.
   */
  private async search(monitor: NonNullable<Awaited<ReturnType<Live['ensure']>>>, limit: number): Promise<{ found: SearchResult<TaskRecord>; at?: number }> {
    const r = runner();
    const query = r.parseQuery(this.filterText);
    if (!r.needsRecords(query)) return { found: await r.searchHistory(monitor.history, query, { limit, examine: monitor.history.maxTasks }) };
    const last = this.last;
    if (last && last.text === this.filterText && Date.now() - last.at < SEARCH_AGAIN_MS) {
      const changed = await monitor.history.changedSince(last.newest, CHANGED_MAX);
      const ids = [...new Set([...changed.ids, ...last.found.items.map((record) => record.id)])];
      const items = (await monitor.history.load(ids)).filter((record) => r.matches(query, r.searchableRecord(record)))
        .sort((a, b) => b.updated - a.updated).slice(0, limit);
      last.newest = changed.newest ?? last.newest;
      last.found = { ...last.found, items };
      return { found: last.found, at: last.at };
    }
    const { newest = -Infinity } = await monitor.history.changedSince(-Infinity, 1);
    const found = await r.searchHistory(monitor.history, query, { limit, examine: monitor.history.maxTasks });
    this.last = { text: this.filterText, at: Date.now(), found, newest };
    return { found, at: this.last.at };
  }

  getTreeItem(node: TaskNode): vscode.TreeItem {
    switch (node.kind) {
      case 'message':
        return node.item;
      case 'definitions': {
        const count = this.index.sites().length;
        const item = new vscode.TreeItem('Definitions in this workspace', vscode.TreeItemCollapsibleState.Collapsed);
        // Short: "none found" did not fit beside the label at the default width.
        item.description = count ? String(count) : 'none';
        item.tooltip = count ? `${count} task definition${count === 1 ? '' : 's'} in this workspace's sources`
          : 'No task definitions found: Radish looks for app.task(\'name\', fn) in TypeScript/JavaScript and @app.task, @shared_task in Python. Any task can still be sent by name (Radish: Enqueue Task...).';
        item.iconPath = new vscode.ThemeIcon('symbol-namespace');
        item.contextValue = 'taskDefinitions';
        return item;
      }
      case 'definition':
        return definitionItem(node.site);
      case 'record':
        return recordItem(node.record);
    }
  }

  async getChildren(node?: TaskNode): Promise<TaskNode[]> {
    if (node?.kind === 'definitions') {
      return [...this.index.sites()].sort((a, b) => a.name.localeCompare(b.name)).map((site) => ({ kind: 'definition', site }));
    }
    if (node) return [];
    const root: TaskNode[] = [];
    // An active filter is said on top, where the list starts, and one click clears it: tasks never vanish unexplained.
    if (this.filterText) root.push({ kind: 'message', item: filterItem(this.filterText) });
    root.push({ kind: 'definitions' });
    const monitor = await this.live.ensure();
    if (!monitor) {
      // What is wrong with the connection, with its fix; else why the events could not be followed.
      const item = this.connection.state === 'error'
        ? connectionErrorItem(this.connection)
        : new MessageItem('Task history unavailable', 'warning', { command: 'radish.refresh', title: 'Refresh' },
          `The task history could not be read: ${this.live.startError ?? this.live.connectionError ?? 'not connected'}. Click to try again.`);
      root.push({ kind: 'message', item });
      return root;
    }
    const limit = vscode.workspace.getConfiguration('radish').get<number>('taskHistory.limit') ?? 200;
    const r = runner();
    const { found, at } = await this.search(monitor, limit);
    const records = found.items;
    if (this.filterText) root[0] = { kind: 'message', item: filterItem(this.filterText, found, r.searchSummary(found, r.parseQuery(this.filterText)), at) };
    if (records.length === 0) {
      const item = this.filterText
        ? new MessageItem(`No recent task matches "${this.filterText}"`, 'info')
        : new MessageItem('No tasks seen yet', 'info', undefined,
          'No tasks seen yet: task events come from workers started with -E (the local worker sends them).');
      if (!this.filterText) item.description = 'events come from workers run with -E';
      root.push({ kind: 'message', item });
    }
    return [...root, ...records.map((record) => ({ kind: 'record', record }) as TaskNode)];
  }
}

/**
 * The filter row: what is filtered, whether the search was cut short (`first 200 matches`, `searched the last 10,000
 * tasks`), and when a search inside the records ran (`searched 14:02:07`: the polls since only re-read its tasks).
 */
function filterItem(text: string, found?: SearchResult<TaskRecord>, cutShort?: string, at?: number): vscode.TreeItem {
  const when = at === undefined ? '' : `searched ${new Date(at).toLocaleTimeString()}`;
  const item = new MessageItem(`Filtered: ${text}`, 'filter', { command: 'radish.clearTaskFilter', title: 'Clear Task Filter' },
    `Only tasks matching "${text}" are listed${cutShort ? ` (${cutShort})` : ''}.${when ? ` The history was ${when} (again when the filter changes, and every minute; meanwhile the tasks found and those changed since are re-read).` : ''} Click to show every task.`);
  item.description = [cutShort ?? (found ? String(found.matched) : undefined), when || undefined, 'click to clear'].filter(Boolean).join(' · ');
  return item;
}

/** A task definition: its name (short for a module path: the file beside it says the module), where it is. */
function definitionItem(site: TaskDefinitionSite): vscode.TreeItem {
  const item = new vscode.TreeItem(taskLabel(site.name), vscode.TreeItemCollapsibleState.None);
  item.description = `${vscode.workspace.asRelativePath(site.file)}:${site.range.start.line + 1}`;
  item.tooltip = `${site.name}(${site.params.join(', ')})\n${site.file}`;
  item.iconPath = new vscode.ThemeIcon(site.language === 'python' ? 'symbol-method' : 'symbol-function');
  item.contextValue = 'taskDefinition';
  const { line, character } = site.nameRange.start;
  item.command = { command: 'vscode.open', title: 'Open Definition', arguments: [vscode.Uri.file(site.file), { selection: new vscode.Range(line, character, line, character) }] };
  return item;
}

/** A recent task: state icon and short name, then its state in words, runtime, worker and age; the rest in the tooltip. */
function recordItem(r: TaskRecord): vscode.TreeItem {
  const item = new vscode.TreeItem(r.name ? taskLabel(r.name) : r.id.slice(0, 8), vscode.TreeItemCollapsibleState.None);
  const when = r.succeeded ?? r.failed ?? r.revoked ?? r.started ?? r.received ?? r.sent ?? r.updated;
  const runtime = r.runtime !== undefined ? duration(r.runtime)
    : r.state === 'STARTED' && r.started ? `running ${duration(Math.max(0, Date.now() / 1000 - r.started))}` : undefined;
  item.description = [r.state, runtime, r.hostname, when ? ago(when) : undefined].filter(Boolean).join(' · ');
  const [icon, color] = STATE_ICONS[r.state] ?? ['circle-outline'];
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${r.name ?? 'task'}** \`${r.id}\`\n\n${r.state}${r.hostname ? ` on ${r.hostname}` : ''}\n\n`);
  if (r.args !== undefined) md.appendCodeblock(`args=${clip(r.args, 300)}\nkwargs=${clip(r.kwargs ?? '{}', 300)}`, 'python');
  if (r.exception) md.appendCodeblock(r.exception, 'text');
  item.tooltip = md;
  item.id = `task:${r.id}`;
  item.contextValue = FINISHED.has(r.state) ? 'taskRecord.finished' : 'taskRecord.pending';
  item.command = { command: 'radish.openTask', title: 'Open Task', arguments: [{ kind: 'record', record: r }] };
  return item;
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}
