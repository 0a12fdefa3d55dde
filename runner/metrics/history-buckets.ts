/**
 * The per-minute metrics history's layout, shared by its writer (every worker) and its reader (the Metrics view, the
 * status bar): what a minute's hash holds, how a field is named, and the fixed runtime buckets. Runtime is kept as a
 * histogram, not as percentiles, because percentiles of several workers (or minutes) cannot be averaged, while
 * histograms add up: p50/p95 are computed from the sum, at read time.
 */

/**
 * What a counter field counts. `dead_lettered`: a message that could not run (undecodable, unregistered) moved to the
 * dead-letter list, by the queue it came from and its task name (`(unknown)` when unreadable); a task that failed
 * for good counts as `failed` only. A reader older than a kind skips its fields (see {@link parseTaskField}).
 */
export type OutcomeKind = 'succeeded' | 'failed' | 'retried' | 'revoked' | 'dead_lettered';

export const OUTCOME_KINDS: readonly OutcomeKind[] = ['succeeded', 'failed', 'retried', 'revoked', 'dead_lettered'];

/** A minute's length; minutes are numbered from the epoch (ms / 60 000, floored). */
export const MINUTE_MS = 60_000;

/** The minute a time (ms since the epoch) falls in: the number in its hashes' keys. */
export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

/** Seconds a minute's hashes live: a little over the 72 h the history shows, so the oldest shown minute is complete. */
export const HISTORY_TTL_SEC = 73 * 3600;

/** The longest range the history keeps, in minutes (3 days). */
export const HISTORY_MINUTES = 72 * 60;

/**
 * Upper bounds of the runtime buckets, in ms: 2^(i/2) ms, from 1 ms to about 36 h (√2 apart, so a percentile read from
 * them is off by at most ~20 %, less with the interpolation below). The last bucket takes everything above. Fixed for
 * ever: changing them would make minutes written before and after unreadable together.
 */
export const RUNTIME_BOUNDS_MS: readonly number[] = Array.from({ length: 55 }, (_, i) => 2 ** (i / 2));

/** The bucket a runtime (ms) falls in: the first whose bound is not below it; beyond the last, the overflow bucket. */
export function runtimeBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  // 2 log2(ms), rounded up, is the first i with 2^(i/2) >= ms; a float one ulp off is corrected by the comparisons.
  let i = Math.ceil(2 * Math.log2(ms));
  if (i > 0 && RUNTIME_BOUNDS_MS[i - 1]! >= ms) i--;
  if (i < RUNTIME_BOUNDS_MS.length && RUNTIME_BOUNDS_MS[i]! < ms) i++;
  return Math.min(i, RUNTIME_BOUNDS_MS.length);
}

/** Separates the parts of a field name (task names and queue names never hold a tab). */
const SEP = '\t';

/** A counter's field: `<kind>\t<queue>\t<task>`. */
export function counterField(kind: OutcomeKind, queue: string, task: string): string {
  return kind + SEP + queue + SEP + task;
}

/** A runtime bucket's field: `h<bucket>\t<queue>\t<task>`. */
export function bucketField(bucket: number, queue: string, task: string): string {
  return 'h' + bucket + SEP + queue + SEP + task;
}

/** A queue sample's field in the queues hash: `depth\t<queue>` (messages waiting) or `age\t<queue>` (seconds). */
export function queueField(what: 'depth' | 'age', queue: string): string {
  return what + SEP + queue;
}

/** The field of the queues hash naming the worker that sampled the minute (the one that set it first). */
export const SAMPLER_FIELD = '_sampled_by';

/** A task field read back; undefined for a field this version does not know (written by a later one, say). */
export type ParsedTaskField =
  | { kind: OutcomeKind; queue: string; task: string }
  | { kind: 'bucket'; bucket: number; queue: string; task: string };

export function parseTaskField(field: string): ParsedTaskField | undefined {
  const [head, queue, task, ...rest] = field.split(SEP);
  if (head === undefined || queue === undefined || task === undefined || rest.length > 0) return undefined;
  if ((OUTCOME_KINDS as readonly string[]).includes(head)) return { kind: head as OutcomeKind, queue, task };
  const bucket = /^h(\d+)$/.exec(head);
  if (bucket) return { kind: 'bucket', bucket: Number(bucket[1]), queue, task };
  return undefined;
}

/** A queue field read back. */
export function parseQueueField(field: string): { what: 'depth' | 'age'; queue: string } | undefined {
  const at = field.indexOf(SEP);
  if (at < 0) return undefined;
  const what = field.slice(0, at);
  if (what !== 'depth' && what !== 'age') return undefined;
  return { what, queue: field.slice(at + 1) };
}

/**
 * The `q` quantile (0..1) of a runtime histogram (counts per bucket), in seconds; null when it is empty. Within its
 * bucket the value is interpolated geometrically (the buckets are log-spaced); in the overflow bucket it is the last
 * bound.
 */
export function quantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] ?? 0;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const upper = RUNTIME_BOUNDS_MS[Math.min(i, RUNTIME_BOUNDS_MS.length - 1)]!;
      if (i >= RUNTIME_BOUNDS_MS.length) return upper / 1000;
      const lower = i === 0 ? upper / Math.SQRT2 : RUNTIME_BOUNDS_MS[i - 1]!;
      const within = Math.max(0, Math.min(1, (rank - seen) / n));
      return (lower * (upper / lower) ** within) / 1000;
    }
    seen += n;
  }
  return RUNTIME_BOUNDS_MS[RUNTIME_BOUNDS_MS.length - 1]! / 1000;
}
