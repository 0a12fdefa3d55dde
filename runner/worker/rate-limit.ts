/**
 * Per-task rate limits, as Celery writes them (`'10/s'`, `'100/m'`, `'1000/h'`, or a number per second): the
 * worker spaces the starts of a limited task so that no more than the rate begin, one token at a time (kombu's
 * token bucket with capacity 1). A task waiting for its turn holds no concurrency slot.
 */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Tasks per second for a rate; throws a clear error on a malformed one. 0 means no limit. */
export function parseRate(rate: string | number): number {
  if (typeof rate === 'number') {
    if (!Number.isFinite(rate) || rate < 0) throw new Error(`invalid rate limit ${rate}: expected a number of tasks per second >= 0`);
    return rate;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(rate);
  if (!m) throw new Error(`invalid rate limit ${JSON.stringify(rate)}: expected e.g. "10/s", "100/m" or "1000/h"`);
  return Number(m[1]) / UNITS[m[2] ?? 's']!;
}

/** Spaces starts `1 / rate` seconds apart. The clock is injectable so tests can drive time. */
export class RateLimiter {
  private next = 0;
  private readonly intervalMs: number;

  constructor(readonly perSecond: number, private readonly now: () => number = Date.now) {
    this.intervalMs = perSecond > 0 ? 1000 / perSecond : 0;
  }

  /** Take the next start slot: milliseconds to wait before starting (0: start now). */
  reserve(): number {
    if (this.intervalMs === 0) return 0;
    const now = this.now();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    return at - now;
  }
}
