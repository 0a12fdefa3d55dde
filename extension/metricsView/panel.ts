/**
 * The Metrics view: one editor tab (opened by `radish.showMetrics`, from the palette or the Queues view's title) with
 * charts of the fleet over time, read from the per-minute history Radish workers write to Redis (runner/metrics).
 * It is read through the runner's reader on the window's connection, again while the tab is shown (the refresh
 * policy's timer), and when the user picks another range, task or queue. The page (dist/metrics-view.js) draws it.
 * The charts end at the last minute every worker has written whole (the minute under way is not written yet). Final
 * minutes are kept in a cache, so a poll re-reads only the last few minutes of the range, not all 4,320 of 3 days.
 */
import * as vscode from 'vscode';
import { errorMessage } from '../../runner/errors';
import type { Connection } from '../connection';
import { runner } from '../runner';
import type { MinuteCache } from '../../runner/index';
import type { RefreshManager } from '../views/refresh';
import { webviewPage } from '../webview/page';
import { buildModel } from './model';
import { RANGES, type MetricsModel, type MetricsRequest, type MetricsSelection, type MetricsUpdate } from './protocol';

/** Where the last selection is remembered (per workspace), so the tab opens as it was left. */
const SELECTION_KEY = 'radish.metrics.selection';
/** The history changes once a minute: a poll within this many ms of the last read of the same selection is skipped. */
const FRESH_MS = 10_000;

export class MetricsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private model: MetricsModel | undefined;
  private reading: Promise<void> | undefined;
  private lastRead = { at: 0, key: '' };
  /** The selection the read under way is for (a read asked for the same joins it). */
  private readingKey: string | undefined;
  /** Final minutes as read, for every selection (filters apply after reading); emptied with the panel. */
  private cache: MinuteCache | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly connection: Connection,
    private readonly refreshes: RefreshManager,
    private readonly memento: vscode.Memento,
  ) {}

  /** What the page shows now (for tests and callers). */
  get current(): MetricsModel | undefined {
    return this.model;
  }

  private get selection(): MetricsSelection {
    return this.memento.get<MetricsSelection>(SELECTION_KEY) ?? { hours: 1 };
  }

  /**
   * Open the tab (or bring it forward), optionally on another selection, and resolve once it shows what was read.
   * Returns what it shows.
   */
  async show(selection?: Partial<MetricsSelection>): Promise<MetricsModel | undefined> {
    if (selection) await this.select({ ...this.selection, ...selection }, false);
    if (this.panel) this.panel.reveal(this.panel.viewColumn, false);
    else this.panel = this.create();
    // A new tab is read as the refresh policy finds it shown: this joins that read rather than making a second one.
    await this.load(true);
    return this.model;
  }

  private async select(selection: MetricsSelection, load = true): Promise<void> {
    const hours = RANGES.some((r) => r.hours === selection.hours) ? selection.hours : 1;
    await this.memento.update(SELECTION_KEY, { hours, ...(selection.task ? { task: selection.task } : {}), ...(selection.queue ? { queue: selection.queue } : {}) });
    if (load) await this.load(true);
  }

  private create(): vscode.WebviewPanel {
    const panel = vscode.window.createWebviewPanel('radish.metrics', 'Radish Metrics', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist')],
    });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'radish.svg');
    panel.webview.html = webviewPage(panel.webview, {
      title: 'Radish Metrics', mainId: 'metrics', placeholder: 'Reading the metrics history…', images: true,
      script: panel.webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'metrics-view.js')),
      style: panel.webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'metrics-view.css')),
    });
    this.cache = new (runner().MinuteCache)();
    const subs = [
      panel.webview.onDidReceiveMessage((request: MetricsRequest) => void this.handle(request)),
      // Polled while shown, by the one refresh policy (a hidden tab costs nothing).
      this.refreshes.track({ refresh: () => void this.load(false) }, () => panel.visible, panel.onDidChangeViewState),
    ];
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.model = undefined;
      this.cache = undefined;
      for (const d of subs) d.dispose();
    });
    return panel;
  }

  private post(update: MetricsUpdate): void {
    void this.panel?.webview.postMessage(update);
  }

  private async handle(request: MetricsRequest): Promise<void> {
    switch (request.type) {
      case 'ready':
        if (this.model) this.post({ type: 'model', model: this.model });
        return;
      case 'select':
        this.post({ type: 'loading' });
        await this.select(request.selection);
        return;
      case 'refresh':
        await this.load(true);
        return;
    }
  }

  /**
   * Read the history for the selection and show it; one read at a time (a read asked for meanwhile follows it, and
   * one asked for the selection under way joins that read).
   */
  private async load(force: boolean): Promise<void> {
    if (!this.panel) return;
    const selection = this.selection;
    const key = JSON.stringify(selection);
    if (this.reading && this.readingKey === key) return this.reading;
    if (!force && key === this.lastRead.key && Date.now() - this.lastRead.at < FRESH_MS) return;
    const previous = this.reading;
    const run = (async () => {
      await previous?.catch(() => undefined);
      try {
        const model = await this.read(selection);
        this.lastRead = { at: model.readAt, key };
        this.model = model;
        this.post({ type: 'model', model });
      } catch (err) {
        this.post(problemOf(err));
      }
    })();
    this.reading = run;
    this.readingKey = key;
    await run;
    if (this.reading === run) {
      this.reading = undefined;
      this.readingKey = undefined;
    }
  }

  private async read(selection: MetricsSelection): Promise<MetricsModel> {
    const range = RANGES.find((r) => r.hours === selection.hours) ?? RANGES[0]!;
    const app = await this.connection.client();
    const store = await app.requireSharedStore('the metrics history');
    const now = Date.now();
    const to = runner().completeUntil(now);
    const history = await runner().readMetricsHistory(store, {
      from: to + 1 - range.hours * 3600_000, to, stepMinutes: range.stepMinutes,
      ...(selection.task ? { task: selection.task } : {}), ...(selection.queue ? { queue: selection.queue } : {}),
    }, this.cache);
    return buildModel(history, selection, now);
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

function problemOf(err: unknown): MetricsUpdate {
  const message = errorMessage(err);
  if (/needs Redis beside the broker/.test(message)) {
    return { type: 'problem', message: `The metrics history ${message.replace(/^the metrics history /, '')}.`, fix: 'Set radish.resultBackendUrl to a Redis: Radish workers write the history there.' };
  }
  return { type: 'problem', message: `Cannot read the metrics history: ${message}`, fix: 'Check the connection in the Queues view, then Refresh.' };
}
