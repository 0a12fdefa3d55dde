/**
 * What the Metrics view's panel and its page say to each other. Types only, shared by both sides: the page's
 * bundle imports nothing else from the extension.
 */

/** The ranges the page offers, in hours. */
export const RANGES: readonly { hours: number; label: string; stepMinutes: number }[] = [
  { hours: 1, label: '1 h', stepMinutes: 1 },
  { hours: 6, label: '6 h', stepMinutes: 5 },
  { hours: 24, label: '24 h', stepMinutes: 15 },
  { hours: 72, label: '3 d', stepMinutes: 60 },
];

/** What the page shows: which range, task and queue, chosen by the user. */
export interface MetricsSelection {
  hours: number;
  /** A task name, or undefined for every task. */
  task?: string;
  /** A queue name, or undefined for every queue. */
  queue?: string;
}

/** One queue's series. */
export interface QueueChart {
  queue: string;
  depth: (number | null)[];
  oldestAge: (number | null)[];
  latestDepth: number | null;
  latestAge: number | null;
}

/** The charts' data, as read from the history (plain JSON). */
export interface MetricsModel {
  selection: MetricsSelection;
  /** Unix seconds of each step's start. */
  times: number[];
  stepMinutes: number;
  succeeded: number[];
  failed: number[];
  retried: number[];
  revoked: number[];
  /** Tasks that ran to an outcome per step. */
  throughput: number[];
  /** Seconds. */
  p50: (number | null)[];
  p95: (number | null)[];
  queues: QueueChart[];
  taskNames: string[];
  queueNames: string[];
  totals: { throughput: number; failed: number; retried: number; revoked: number; p50: number | null; p95: number | null };
  /** Nothing in the range was written by any worker. */
  empty: boolean;
  /** When it was read (ms since the epoch). */
  readAt: number;
}

/** From the page to the extension. */
export type MetricsRequest =
  | { type: 'ready' }
  | { type: 'select'; selection: MetricsSelection }
  | { type: 'refresh' };

/** From the extension to the page. */
export type MetricsUpdate =
  | { type: 'model'; model: MetricsModel }
  | { type: 'loading' }
  | { type: 'problem'; message: string; fix?: string };
