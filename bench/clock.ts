/**
 * Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine.
 *
 * `Date.now()` has 1 ms resolution and `performance.now()` / `hrtime` are relative to each process's own
 * start, so neither alone can time a message from a client process to a worker process; the wall-clock time
 * origin plus the monotonic offset can.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
