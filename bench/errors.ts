/**
 * An expected failure (no redis-server, a worker that died, a drain that stalled): the bench prints its
 * message as one line and exits non-zero, without a stack trace.
 */
export class BenchError extends Error {
  override readonly name = 'BenchError';
}
