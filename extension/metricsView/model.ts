/**
 * From the runner's metrics history to what the Metrics view and the status bar show: the page's model, and the last
 * minutes in words. Pure functions, no vscode: tested as they are.
 */
import type { MetricsHistory } from '../../runner/index';
import type { MetricsModel, MetricsSelection } from './protocol';

export function buildModel(history: MetricsHistory, selection: MetricsSelection, readAt: number): MetricsModel {
  const { totals } = history;
  return {
    selection,
    times: history.times,
    stepMinutes: history.stepMinutes,
    minutes: history.minutes,
    succeeded: history.succeeded,
    failed: history.failed,
    retried: history.retried,
    revoked: history.revoked,
    deadLettered: history.dead_lettered,
    throughput: history.throughput,
    p50: history.p50,
    p95: history.p95,
    queues: history.queues,
    taskNames: history.taskNames,
    queueNames: history.queueNames,
    totals: {
      throughput: totals.throughput, failed: totals.failed, retried: totals.retried, revoked: totals.revoked, deadLettered: totals.dead_lettered, p50: totals.p50, p95: totals.p95,
    },
    empty: history.minutesWritten === 0 && history.queues.length === 0,
    readAt,
  };
}

/** A duration in seconds as people read it: `120 ms`, `1.4 s`, `12 s`, `3 min`, `2.5 h`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * The last minutes in words, for the status bar's tooltip: `Last 5 min: 1,240 tasks, 3 failed, p95 120 ms; celery:
 * 40 waiting, oldest 12 s` (retried and dead-lettered counts too, where not 0). Undefined when no worker wrote anything in
 * that time.
 */
export function summarize(history: MetricsHistory, minutes: number): string | undefined {
  const t = history.totals;
  const queues = history.queues.filter((q) => q.latest);
  if (history.minutesWritten === 0 && queues.length === 0) return undefined;
  const parts = [`${count(t.throughput)} task${t.throughput === 1 ? '' : 's'}`, `${count(t.failed)} failed`];
  if (t.retried) parts.push(`${count(t.retried)} retried`);
  if (t.dead_lettered) parts.push(`${count(t.dead_lettered)} dead-lettered`);
  if (t.p95 !== null) parts.push(`p95 ${formatSeconds(t.p95)}`);
  const waiting = queues.map((q) => {
    const { depth, oldestAge } = q.latest!;
    return `${q.queue}: ${count(depth)} waiting${oldestAge !== null && depth > 0 ? `, oldest ${formatSeconds(oldestAge)}` : ''}`;
  });
  return `Last ${minutes} min: ${parts.join(', ')}${waiting.length ? `; ${waiting.join('; ')}` : ''}`;
}
