/**
 * Schedules view: the periodic tasks of `radish beat` (published by the active scheduler to the shared Redis, see
 * runner/beat/schedules.ts) with their next and last run and whether they are paused, and Celery beat's schedules
 * found in the workspace's Python sources (a Django `CELERY_BEAT_SCHEDULE`, `app.conf.beat_schedule`), as written.
 *
 * A row shows its state first ("in 2 min", "paused", "due now"), the timing after it. Celery beat keeps its next and
 * last runs in a local shelve file (celerybeat-schedule) that only it reads, and has no pause that another process can
 * set: its rows say so in their tooltip and offer Run Now only.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ScheduleListing, ScheduleState } from '../../runner/index';
import type { Connection } from '../connection';
import type { CeleryBeatIndex } from '../discovery/python-beat-index';
import type { CeleryBeatEntry } from '../discovery/python-beat';
import { runner } from '../runner';
import { connectionErrorItem, MessageItem, summary } from './items';

export type ScheduleNode =
  | { kind: 'radish'; schedule: ScheduleState; activeBeat?: string }
  | { kind: 'celery'; entry: CeleryBeatEntry }
  | { kind: 'message'; item: vscode.TreeItem };

/** How to start the scheduler, for empty states and tooltips. */
const START_BEAT = 'Declare schedules with app.schedule(\'name\', { task: \'tasks.x\', every: 60 }) (or cron: \'*/5 * * * *\') in your '
  + 'task module and start `npx radish beat -A tasks.ts`: the active beat publishes them here.';

/**
 * "in < 1 min", "in 3 min", "in 2 h", "in 4 d"; "due now" once the time has passed. No seconds: a row that changed at
 * every poll would be redrawn at every poll (see SchedulesProvider.refresh); the tooltip has the exact time.
 */
export function untilText(ms: number, now = Date.now()): string {
  const s = (ms - now) / 1000;
  if (s <= 0) return 'due now';
  if (s < 60) return 'in < 1 min';
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86_400) return `in ${Math.round(s / 3600)} h`;
  return `in ${Math.round(s / 86_400)} d`;
}

function when(ms: number | undefined): string {
  return ms === undefined ? 'never' : new Date(ms).toLocaleString();
}

/** A Radish schedule's row state: `paused`, or its next run. */
export function scheduleState(s: ScheduleState, now = Date.now()): string {
  if (s.pausedAt !== undefined) return 'paused';
  return s.nextRun === undefined ? 'waiting for radish beat' : untilText(s.nextRun, now);
}

function radishItem(node: Extract<ScheduleNode, { kind: 'radish' }>): vscode.TreeItem {
  const s = node.schedule;
  const timing = runner().describeTiming(s);
  const item = new vscode.TreeItem(s.name, vscode.TreeItemCollapsibleState.None);
  const paused = s.pausedAt !== undefined;
  item.id = `radish:${s.name}`;
  item.description = `${scheduleState(s)} · ${timing}`;
  item.iconPath = new vscode.ThemeIcon(paused ? 'debug-pause' : 'watch');
  item.contextValue = paused ? 'schedule.paused' : 'schedule.active';
  item.tooltip = [
    `${s.name}: ${s.task} (radish beat)`,
    `${paused ? `Paused since ${when(s.pausedAt)}: no scheduler sends it; on Resume it counts from then` : `Next run: ${when(s.nextRun)}`}`,
    `Last run: ${when(s.lastRun)}`,
    `Timing: ${timing}`,
    `Args: ${summary(s.args, 200)}`,
    `Kwargs: ${summary(s.kwargs, 200)}`,
    `Queue: ${s.queue}${s.priority ? ` · priority ${s.priority}` : ''}`,
    node.activeBeat ? `Active beat: ${node.activeBeat}` : 'No radish beat is running: a due tick is sent when one starts.',
  ].join('\n');
  return item;
}

function celeryItem(entry: CeleryBeatEntry): vscode.TreeItem {
  const item = new vscode.TreeItem(entry.name, vscode.TreeItemCollapsibleState.None);
  const where = `${path.basename(entry.file)}:${entry.line + 1}`;
  item.id = `celery:${entry.file}:${entry.name}`;
  item.description = `celery beat · ${entry.seconds !== undefined ? `every ${entry.seconds} s` : entry.schedule}`;
  item.iconPath = new vscode.ThemeIcon('calendar');
  item.contextValue = 'celerySchedule';
  item.tooltip = [
    `${entry.name}: ${entry.task} (Celery beat, ${entry.setting} in ${where})`,
    `Schedule: ${entry.schedule}`,
    `Args: ${entry.unreadable ? entry.unreadable : summary(entry.args ?? [], 200)}`,
    ...(entry.unreadable ? [] : [`Kwargs: ${summary(entry.kwargs ?? {}, 200)}`]),
    ...(entry.queue ? [`Queue: ${entry.queue}`] : []),
    'Next and last run: Celery beat keeps them in its own schedule file (celerybeat-schedule, a Python shelve), which Radish cannot read.',
    'Pause: Celery beat cannot be paused from outside; edit the schedule (or use django-celery-beat\'s admin).',
  ].join('\n');
  const uri = vscode.Uri.file(entry.file);
  item.command = { command: 'vscode.open', title: 'Open', arguments: [uri, { selection: new vscode.Range(entry.line, 0, entry.line, 0) }] };
  return item;
}

export class SchedulesProvider implements vscode.TreeDataProvider<ScheduleNode> {
  private readonly changed = new vscode.EventEmitter<ScheduleNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The rows of the latest refresh, for the view's next getChildren. */
  private loaded: Promise<ScheduleNode[]> | undefined;
  /** What the rows on screen show. */
  private shown: string | undefined;

  constructor(private readonly connection: Connection, private readonly celery: CeleryBeatIndex) {}

  /**
   * Load the rows again (polled while visible, and after every action) and redraw only if a row would read
   * differently: a redraw replaces every row, and a click on an inline action (Run Now) that lands while its row is
   * replaced reaches the command without its schedule.
   */
  refresh(): void {
    const rows = this.rows();
    this.loaded = rows;
    void rows.then((r) => {
      if (this.loaded !== rows) return; // taken by getChildren, or a newer refresh is under way
      const shown = this.fingerprint(r);
      if (shown === this.shown) {
        // Nothing to redraw, so nothing takes these rows soon: the next getChildren (the view shown again, maybe hours
        // later) loads its own instead of showing these.
        this.loaded = undefined;
        return;
      }
      this.shown = shown;
      this.changed.fire(undefined);
    }, () => undefined);
  }

  private fingerprint(rows: readonly ScheduleNode[]): string {
    return JSON.stringify(rows.map((n) => {
      const item = this.getTreeItem(n);
      const icon = item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : undefined;
      return [item.id, item.label, item.description, item.contextValue, icon];
    }));
  }

  getTreeItem(node: ScheduleNode): vscode.TreeItem {
    if (node.kind === 'message') return node.item;
    return node.kind === 'radish' ? radishItem(node) : celeryItem(node.entry);
  }

  /** Radish schedules now (listed again) and Celery beat's, for the palette's pickers. */
  async all(): Promise<ScheduleNode[]> {
    const listing = await runner().listSchedules(await this.connection.client());
    return [
      ...listing.schedules.map((schedule): ScheduleNode => ({ kind: 'radish', schedule, activeBeat: listing.activeBeat })),
      ...(await this.celery.entries()).map((entry): ScheduleNode => ({ kind: 'celery', entry })),
    ];
  }

  async getChildren(node?: ScheduleNode): Promise<ScheduleNode[]> {
    if (node) return [];
    const loaded = this.loaded;
    this.loaded = undefined;
    const rows = await (loaded ?? this.rows());
    this.shown = this.fingerprint(rows);
    return rows;
  }

  private async rows(): Promise<ScheduleNode[]> {
    const celery = (await this.celery.entries()).map((entry): ScheduleNode => ({ kind: 'celery', entry }));
    let listing: ScheduleListing;
    const session = this.connection.session;
    try {
      const app = await this.connection.client();
      if (!(await app.sharedStore())) {
        // RabbitMQ with the rpc backend: no Redis for radish beat to publish to. Not a broken connection.
        const item = new MessageItem('Radish beat needs Redis', 'warning', undefined,
          'radish beat keeps its lock, its last runs and its published schedules in Redis (the broker, or the result backend beside RabbitMQ): set radish.resultBackendUrl to a Redis.');
        item.description = 'set a Redis result backend';
        return [{ kind: 'message', item }, ...celery];
      }
      listing = await runner().listSchedules(app);
    } catch (err) {
      // Failed with a connection dropped since (a setting changed): read again from the new one.
      if (!(await this.connection.failed(err, session))) return this.rows();
      return [{ kind: 'message', item: connectionErrorItem(this.connection) }, ...celery];
    }
    const radish = listing.schedules.map((schedule): ScheduleNode => ({ kind: 'radish', schedule, activeBeat: listing.activeBeat }));
    const rows: ScheduleNode[] = [];
    if (radish.length && !listing.activeBeat) {
      const item = new MessageItem('No radish beat is running', 'warning', undefined,
        `These schedules were published by a radish beat that is not running now: nothing is sent until one starts.\n\n${START_BEAT}`);
      item.description = 'nothing is sent until one starts';
      rows.push({ kind: 'message', item });
    }
    rows.push(...radish, ...celery);
    if (rows.length === 0) {
      const item = new MessageItem('No schedules', 'info', undefined,
        `No radish beat has published schedules to this broker, and no Celery beat_schedule was found in the workspace's Python files.\n\n${START_BEAT}`);
      item.description = 'start radish beat -A tasks.ts';
      rows.push({ kind: 'message', item });
    }
    return rows;
  }
}
