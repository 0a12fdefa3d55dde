/** What command handlers work with: built once in activate() and passed in, never a global. */
import type * as vscode from 'vscode';
import type { Connection } from './connection';
import type { ReadOnlyDocuments } from './documents';
import type { FailedProvider } from './views/failed';
import type { QueuesProvider } from './views/queues';
import type { RefreshManager } from './views/refresh';
import type { SchedulesProvider } from './views/schedules';
import type { TaskIndex } from './discovery/workspace';
import type { Live } from './live';
import type { MetricsPanel } from './metricsView/panel';
import type { RetryLinks } from './taskView/links';
import type { TaskPanels } from './taskView/panel';
import type { TasksProvider } from './views/tasks';
import type { WorkersProvider } from './views/workers';
import type { WorkerSupervisor } from './worker/supervisor';

export interface Services {
  readonly context: vscode.ExtensionContext;
  readonly connection: Connection;
  readonly supervisor: WorkerSupervisor;
  readonly refresh: RefreshManager;
  readonly documents: ReadOnlyDocuments;
  readonly queues: QueuesProvider;
  readonly failed: FailedProvider;
  readonly tasks: TaskIndex;
  readonly live: Live;
  readonly workers: WorkersProvider;
  readonly taskView: TasksProvider;
  /** The Schedules view: radish beat's schedules and Celery beat's found in the sources. */
  readonly schedules: SchedulesProvider;
  /** The task views (webview tabs), one per task. */
  readonly panels: TaskPanels;
  /** The Metrics view (a webview tab): charts of the metrics history. */
  readonly metrics: MetricsPanel;
  /** Which task was retried as which. */
  readonly links: RetryLinks;
  /** How long activate() took, in ms (reported by the tests and the benchmark, never asserted). */
  activationMs: number;
}
