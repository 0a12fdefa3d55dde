/**
 * The status-bar item: the local worker's state; clicking starts or stops it. Its tooltip also carries the fleet's
 * last minutes in words (from the metrics history the workers write), read once a minute while connected.
 */
import * as vscode from 'vscode';
import { runner } from './runner';
import type { Connection } from './connection';
import { summarize } from './metricsView/model';
import type { RefreshManager } from './views/refresh';
import type { WorkerSupervisor } from './worker/supervisor';

/** The minutes the tooltip sums up. */
const LAST_MINUTES = 5;
/** How often the summary is read: the history is written once a minute. */
const SUMMARY_MS = 60_000;

/** Where the tooltip's summary comes from: the window's connection, on the refresh policy's timer. */
export interface StatusBarMetrics {
  connection: Connection;
  refresh: RefreshManager;
}

export function createStatusBar(supervisor: WorkerSupervisor, metrics?: StatusBarMetrics): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('radish.worker', vscode.StatusBarAlignment.Left, 50);
  item.name = 'Radish Worker';
  let summary: string | undefined;
  const update = () => {
    const state = supervisor.state;
    const icon = state === 'running' ? '$(vm-running)' : state === 'starting' || state === 'stopping' ? '$(loading~spin)' : state === 'crashed' ? '$(error)' : '$(vm-outline)';
    item.text = `${icon} Radish: ${state}`;
    const action = state === 'running' ? 'Radish worker running: click to stop' : 'Radish worker: click to start';
    if (summary) {
      const md = new vscode.MarkdownString(`${escape(action)}\n\n${escape(summary)}\n\n[Open Metrics](command:radish.showMetrics)`);
      md.isTrusted = { enabledCommands: ['radish.showMetrics'] };
      item.tooltip = md;
    } else {
      item.tooltip = action;
    }
    item.command = state === 'running' ? 'radish.stopWorker' : 'radish.startWorker';
    item.backgroundColor = state === 'crashed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  };
  update();
  item.show();
  const subs: vscode.Disposable[] = [item, supervisor.onDidChange(update)];
  if (metrics) {
    const read = () => void readSummary(metrics.connection).then((text) => {
      if (text === summary) return;
      summary = text;
      update();
    });
    subs.push(metrics.refresh.every(SUMMARY_MS, read), metrics.connection.onDidChange(read));
  }
  return vscode.Disposable.from(...subs);
}

/** The last minutes in words; undefined while not connected (reading never opens a connection) or nothing was written. */
export async function readSummary(connection: Connection): Promise<string | undefined> {
  if (connection.state !== 'connected') return undefined;
  try {
    const store = await (await connection.client()).sharedStore();
    if (!store) return undefined;
    // The last LAST_MINUTES minutes every worker has written whole: the minute under way is written only when it
    // ends, and counting it would make the summary dip at every minute's start.
    const to = runner().completeUntil(Date.now());
    const history = await runner().readMetricsHistory(store, { from: to + 1 - LAST_MINUTES * 60_000, to, stepMinutes: LAST_MINUTES });
    return summarize(history, LAST_MINUTES);
  } catch {
    // The views say what is wrong with the connection; the tooltip just goes without its summary.
    return undefined;
  }
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
