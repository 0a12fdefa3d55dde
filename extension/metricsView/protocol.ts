/**
 * What the Metrics view's panel and its page say to each other. Types only, shared by both sides: the page's
 * bundle imports nothing else from the extension (the runner's types are types only, gone from the bundle).
 */
import type { QueueSeries } from '../../runner/metrics/history-reader';

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

/** The charts' data, as read from the history (plain JSON). */
export interface MetricsModel {
  selection: MetricsSelection;
  /** Unix seconds of each step's start; the last step ends at the last minute every worker has written whole. */
  times: number[];
  stepMinutes: number;
  /** Minutes of the range in each step (fewer than stepMinutes in a step the range cuts): rates divide by these. */
  minutes: number[];
  succeeded: number[];
  failed: number[];
  retried: number[];
  revoked: number[];
  /** Messages that could not run (undecodable, unregistered), dead-lettered per step. */
  deadLettered: number[];
  /** Tasks that ran to an outcome per step. */
  throughput: number[];
  /** Seconds. */
  p50: (number | null)[];
  p95: (number | null)[];
  /** Per queue, sorted by name: depth and oldest age per step, and the newest sample. */
  queues: QueueSeries[];
  taskNames: string[];
  queueNames: string[];
  totals: { throughput: number; failed: number; retried: number; revoked: number; deadLettered: number; p50: number | null; p95: number | null };
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
