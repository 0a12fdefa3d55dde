/**
 * A queue's oldest waiting message's age, read the same way by the endpoint (queue-metrics.ts) and the history
 * writer (runner/worker/metrics-history.ts).
 */
import type { QueueStats } from '../broker/transport';

/**
 * Seconds the oldest waiting message of a queue has waited: 0 for an empty queue (nothing waits), null only when it is
 * unknown (the oldest message has no send-time stamp, as Celery's, or the broker cannot show it), never guessed.
 * @param nowMs the clock, ms since the epoch.
 */
export function oldestAgeSec(stats: Pick<QueueStats, 'depth' | 'oldestSentAt'>, nowMs: number): number | null {
  if (stats.depth === 0) return 0;
  return stats.oldestSentAt === undefined ? null : Math.max(0, nowMs - stats.oldestSentAt) / 1000;
}
