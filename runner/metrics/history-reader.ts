/**
 * Reads the per-minute metrics history the workers write (history-writer.ts) as chart series: minutes merged into
 * steps (a 3-day range in 30-minute steps, say), filtered by task and by queue, with runtime p50/p95 computed from
 * the summed histograms (never averaged from per-worker or per-minute percentiles).
 */
import type { SharedStore } from '../broker/shared-store';
import {
  HISTORY_MINUTES, minuteOf, OUTCOME_KINDS, parseQueueField, parseTaskField, quantile, RUNTIME_BOUNDS_MS, SAMPLER_FIELD, type OutcomeKind,
} from './history-buckets';

export interface MetricsQuery {
  /** Start of the range, ms since the epoch (its minute is included). */
  from: number;
  /**
   * End of the range, ms since the epoch: its minute is included, as far as it is written. Default now. Charts
   * pass {@link completeUntil}(now), so they end at the last minute every worker has written whole: the minute
   * under way is written only after it ends, and would read as a drop to 0.
   */
  to?: number;
  /** Minutes per step (a point of the charts). Default 1. */
  stepMinutes?: number;
  /** Only this task's outcomes and runtimes. Default every task. */
  task?: string;
  /** Only tasks taken from this queue, and only this queue's depth and age. Default every queue. */
  queue?: string;
}

/**
 * How long after a minute ends until every worker has written it: a worker writes a minute up to 3 s after it turns
 * (spread across the fleet), and the write takes a moment.
 */
export const SETTLE_MS = 5_000;
/**
 * Minutes this far behind the minute under way are final: written by every worker, never changed again, so a
 * {@link MinuteCache} keeps them. Wider than {@link SETTLE_MS}: a write that failed is retried on the next tick.
 */
export const FINAL_MINUTES = 2;

/** The end (ms, inclusive) of the last minute every worker has written whole at `now`: what a chart ends at. */
export function completeUntil(now: number): number {
  return minuteOf(now - SETTLE_MS) * 60_000 - 1;
}

/**
 * Keeps the final minutes of the history as read (raw hashes), so that polling a 3-day range re-reads only its last
 * few minutes instead of 4,320 of them. One per reader of one store: it forgets everything when given another.
 */
export class MinuteCache {
  private readonly minutes = new Map<number, [Record<string, string>, Record<string, string>]>();
  private owner: SharedStore | undefined;

  /** The cached minute, or undefined (for `store`: another store empties the cache first). */
  get(store: SharedStore, minute: number): [Record<string, string>, Record<string, string>] | undefined {
    if (store !== this.owner) {
      this.minutes.clear();
      this.owner = store;
    }
    return this.minutes.get(minute);
  }

  /** Keep a minute read at `now`, if it is final by then; drop those older than the history keeps. */
  put(minute: number, hashes: [Record<string, string>, Record<string, string>], now: number): void {
    if (minute > minuteOf(now) - FINAL_MINUTES) return;
    this.minutes.set(minute, hashes);
    const oldest = minuteOf(now) - HISTORY_MINUTES - 1;
    if (this.minutes.size > HISTORY_MINUTES + FINAL_MINUTES + 1) for (const m of this.minutes.keys()) if (m < oldest) this.minutes.delete(m);
  }

  /** Minutes kept (for tests). */
  get size(): number {
    return this.minutes.size;
  }
}

/** Totals over a range (or a step). Runtimes in seconds; null when no task ran. */
export interface MetricsTotals {
  succeeded: number;
  failed: number;
  retried: number;
  revoked: number;
  /** Messages that could not run (undecodable, unregistered), moved to the dead-letter list: not in throughput. */
  dead_lettered: number;
  /** Tasks that ran to an outcome: succeeded + failed + retried. */
  throughput: number;
  p50: number | null;
  p95: number | null;
}

/** One queue over the range: one value per step, null for a step no sample covers. */
export interface QueueSeries {
  queue: string;
  /** Most messages waiting in a sample of the step. */
  depth: (number | null)[];
  /** Longest wait (seconds) of the oldest waiting message in a sample of the step; null where unknown. */
  oldestAge: (number | null)[];
  /** The newest sample in the range. */
  latest?: { depth: number; oldestAge: number | null; at: number };
}

export interface MetricsHistory {
  /** Start of each step, unix seconds. */
  times: number[];
  stepMinutes: number;
  /**
   * Minutes of the range in each step: stepMinutes, fewer in a first or last step the range cuts (a 6-hour range ends
   * part-way through its last 5-minute step). A rate per minute is a step's count divided by this, not by stepMinutes.
   */
  minutes: number[];
  succeeded: number[];
  failed: number[];
  retried: number[];
  revoked: number[];
  dead_lettered: number[];
  /** succeeded + failed + retried, per step. */
  throughput: number[];
  /** Runtime percentiles per step, seconds; null for a step in which no task ran. */
  p50: (number | null)[];
  p95: (number | null)[];
  queues: QueueSeries[];
  /** Every task and queue named in the range (whatever the filter), sorted: what a picker offers. */
  taskNames: string[];
  queueNames: string[];
  totals: MetricsTotals;
  /** Minutes of the range that any worker wrote to (0: nothing written: no Radish worker ran, or history is off). */
  minutesWritten: number;
}

/**
 * Read the history between `from` and `to`. Ranges beyond the 3 days kept are cut to them. With a `cache`, final
 * minutes come from it (and go into it once read): only the newest minutes are read from Redis.
 */
export async function readMetricsHistory(store: SharedStore, query: MetricsQuery, cache?: MinuteCache): Promise<MetricsHistory> {
  const now = Date.now();
  const to = query.to ?? now;
  if (!(query.from <= to)) throw new Error(`the metrics range must start before it ends (from ${query.from}, to ${to})`);
  const step = Math.max(1, Math.floor(query.stepMinutes ?? 1));
  const last = minuteOf(to);
  const start = Math.max(minuteOf(query.from), last - HISTORY_MINUTES);
  // Steps start on multiples of the step, so they stay put from one read to the next; the first may be partly
  // before the range, and only the range's minutes are read into it.
  const first = Math.floor(start / step) * step;
  const steps = Math.floor((last - first) / step) + 1;
  const minutes = Array.from({ length: last - start + 1 }, (_, i) => start + i);

  const hashes = minutes.map((m) => cache?.get(store, m));
  const missing = minutes.filter((_, i) => !hashes[i]);
  if (missing.length) {
    const pipeline = store.redis.pipeline();
    for (const m of missing) pipeline.hgetall(store.keys.metricsMinute(m)).hgetall(store.keys.metricsQueues(m));
    const replies = (await pipeline.exec()) ?? [];
    let j = 0;
    minutes.forEach((minute, i) => {
      if (hashes[i]) return;
      const [taskErr, taskHash] = replies[2 * j] ?? [];
      const [queueErr, queueHash] = replies[2 * j + 1] ?? [];
      j++;
      if (taskErr) throw taskErr;
      if (queueErr) throw queueErr;
      const read: [Record<string, string>, Record<string, string>] = [(taskHash ?? {}) as Record<string, string>, (queueHash ?? {}) as Record<string, string>];
      hashes[i] = read;
      cache?.put(minute, read, now);
    });
  }

  const counts = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, new Array<number>(steps).fill(0)])) as Record<OutcomeKind, number[]>;
  const perStep = new Array<number>(steps).fill(0);
  const histograms = Array.from({ length: steps }, () => new Array<number>(RUNTIME_BOUNDS_MS.length + 1).fill(0));
  const total = new Array<number>(RUNTIME_BOUNDS_MS.length + 1).fill(0);
  const tasks = new Set<string>();
  const queueNames = new Set<string>();
  const queues = new Map<string, QueueSeries>();
  let minutesWritten = 0;

  minutes.forEach((minute, i) => {
    const [taskHash, queueHash] = hashes[i]!;
    const at = Math.floor((minute - first) / step);
    perStep[at]!++;
    const fields = Object.entries(taskHash);
    if (fields.length) minutesWritten++;
    for (const [field, value] of fields) {
      const parsed = parseTaskField(field);
      if (!parsed) continue;
      tasks.add(parsed.task);
      queueNames.add(parsed.queue);
      if ((query.task !== undefined && parsed.task !== query.task) || (query.queue !== undefined && parsed.queue !== query.queue)) continue;
      const n = Number(value) || 0;
      if (parsed.kind === 'bucket') {
        const b = Math.min(parsed.bucket, RUNTIME_BOUNDS_MS.length);
        histograms[at]![b]! += n;
        total[b]! += n;
      } else {
        counts[parsed.kind][at]! += n;
      }
    }
    // Minutes go oldest first: a queue's latest sample is the last one seen.
    const sampled = new Map<string, { depth: number; oldestAge: number | null }>();
    for (const [field, value] of Object.entries(queueHash)) {
      if (field === SAMPLER_FIELD) continue;
      const parsed = parseQueueField(field);
      const n = Number(value);
      if (!parsed || !Number.isFinite(n)) continue;
      queueNames.add(parsed.queue);
      if (query.queue !== undefined && parsed.queue !== query.queue) continue;
      const series = queueSeries(queues, parsed.queue, steps);
      const values = parsed.what === 'depth' ? series.depth : series.oldestAge;
      values[at] = Math.max(values[at] ?? n, n);
      const latest = sampled.get(parsed.queue) ?? { depth: 0, oldestAge: null };
      if (parsed.what === 'depth') latest.depth = n;
      else latest.oldestAge = n;
      sampled.set(parsed.queue, latest);
    }
    for (const [queue, latest] of sampled) queues.get(queue)!.latest = { ...latest, at: minute * 60 };
  });

  const throughput = counts.succeeded.map((n, i) => n + counts.failed[i]! + counts.retried[i]!);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    times: Array.from({ length: steps }, (_, i) => (first + i * step) * 60),
    stepMinutes: step,
    minutes: perStep,
    ...counts,
    throughput,
    p50: histograms.map((h) => quantile(h, 0.5)),
    p95: histograms.map((h) => quantile(h, 0.95)),
    queues: [...queues.values()].sort((a, b) => a.queue.localeCompare(b.queue)),
    taskNames: [...tasks].sort(),
    queueNames: [...queueNames].sort(),
    totals: {
      ...(Object.fromEntries(OUTCOME_KINDS.map((k) => [k, sum(counts[k])])) as Record<OutcomeKind, number>),
      throughput: sum(throughput),
      p50: quantile(total, 0.5),
      p95: quantile(total, 0.95),
    },
    minutesWritten,
  };
}

function queueSeries(queues: Map<string, QueueSeries>, queue: string, steps: number): QueueSeries {
  let series = queues.get(queue);
  if (!series) {
    series = { queue, depth: new Array<number | null>(steps).fill(null), oldestAge: new Array<number | null>(steps).fill(null) };
    queues.set(queue, series);
  }
  return series;
}
