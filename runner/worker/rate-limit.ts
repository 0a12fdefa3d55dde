/**
 * Per-task rate limits (`parseRate` in task.ts reads them): the worker spaces the starts of a limited task so that
 * no more than the rate begin, one token at a time (kombu's token bucket with capacity 1). A task waiting for its
 * turn holds no concurrency slot.
 */

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
