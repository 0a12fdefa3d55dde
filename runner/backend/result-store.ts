/**
 * The result backend contract: what the worker (storing results), the client (`AsyncResult`, `GroupResult`, canvas)
 * and the app (inspector, shared store) ask of a result backend. Two implementations, chosen by the URL in app.ts:
 * {@link RedisResultBackend} (`redis://`: Celery's Redis backend, results stored as keys that anyone can read) and
 * {@link RpcBackend} (`rpc://`: Celery's rpc backend, results sent as messages on the AMQP broker to the one client
 * that sent the task).
 */
import type Redis from 'ioredis';
import type { ResultTuple } from '../protocol/canvas-apply';
import type { ResultInput, ResultMeta } from '../protocol/result';
import type { ChordPart, ChordProgress } from './groups';

/** A result that did not become ready in time. */
/**
 * The deadline of one wait for a result: `within(step)` rejects with {@link ResultTimeoutError} once `timeoutMs` has
 * passed since the deadline was made (steps after the first included); `clear()` when the wait is over.
 */
export function resultDeadline(taskId: string, timeoutMs: number): { within<T>(step: Promise<T>): Promise<T>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const timeout = Number.isFinite(timeoutMs)
    ? new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ResultTimeoutError(`result of task ${taskId} not ready after ${timeoutMs / 1000}s`)), timeoutMs);
    })
    : undefined;
  return {
    within: <T>(step: Promise<T>): Promise<T> => (timeout ? Promise.race([step, timeout]) : step),
    clear: () => { if (timer) clearTimeout(timer); },
  };
}

export class ResultTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/**
 * The result backend cannot do what was asked (the rpc backend: chords, saved groups). Named as Celery's
 * `NotImplementedError`, which a Celery client raises in the same places, so a task failing for it reads the same.
 */
export class BackendUnsupportedError extends Error {
  override readonly name = 'NotImplementedError';
}

/**
 * Where a task's result goes, for a backend that sends results as messages (rpc://): the task's `reply_to` (the
 * sending client's reply queue) and `correlation_id` (default: the task id). A backend that stores results by task
 * id (Redis) ignores it.
 */
export interface ResultDestination {
  replyTo: string | null | undefined;
  correlationId?: string | null | undefined;
}

/** Saved groups and chord bookkeeping (Celery's `celery-taskset-meta-*` and the chord keys), where the backend keeps them. */
export interface ResultGroups {
  /** Set a chord's size, as Celery's client does before the header goes out. */
  setChordSize(groupId: string, size: number): Promise<void>;
  /** Record one header member's end (atomically with reading the set when it completes it). */
  recordPart(part: ChordPart): Promise<ChordProgress>;
  /** Delete a chord's keys once its callback is sent (or failed). */
  clearChord(groupId: string): Promise<void>;
  /** Save a group's member ids (`GroupResult.save()`). */
  saveGroup(groupId: string, taskIds: readonly string[]): Promise<void>;
  /** Save a group in any shape (a chord header holding groups). */
  saveGroupTuple(groupId: string, result: ResultTuple): Promise<void>;
  /** A saved group as its tuple, or null when none is saved. */
  restoreGroupTuple(groupId: string): Promise<ResultTuple | null>;
  /** Delete a saved group. */
  deleteGroup(groupId: string): Promise<void>;
  /** The member ids of a saved group (`GroupResult.restore()`), or null when none is saved. */
  restoreGroup(groupId: string): Promise<string[] | null>;
}

export interface ResultStore {
  /** Which backend this is (`redis`, `rpc`), for logs and messages: never a reason to branch, use the capabilities. */
  readonly kind: 'redis' | 'rpc';
  /** Seconds a result is kept (Celery's `result_expires`); 0 for ever. The rpc backend's reply queue expires after it unused. */
  readonly resultExpires: number;
  /** The Redis connection results are stored on, when they are (the shared store and the worker's finisher use it). */
  readonly redis?: Redis | undefined;
  /**
   * Whether the backend can run chords (keep the header's results for the callback). False for rpc://, as in Celery:
   * a chord is then refused before anything is sent, and a worker fails the task that would apply one.
   */
  readonly supportsChords: boolean;
  /** Saved groups and chords; the rpc backend rejects every call with a {@link BackendUnsupportedError}. */
  readonly groups: ResultGroups;

  /**
   * Called before a task whose result is wanted is sent (Celery's `on_task_call`): the rpc backend declares the
   * client's reply queue there (once per connection), so that a result that comes before anyone waits is kept.
   */
  beforeSend(): Promise<void>;
  /** Store (or send) a state change. Resolves true when written (Redis: never over a stored SUCCESS; rpc: when sent). */
  store(input: ResultInput, to?: ResultDestination): Promise<boolean>;
  /** Store a value already encoded with `encodeResult`/`encodeSuccess` (encoding errors surface before anything is written). */
  storeEncoded(taskId: string, json: string, to?: ResultDestination): Promise<boolean>;
  /** The latest known meta, or null when none is known (Celery calls that PENDING). */
  get(taskId: string): Promise<ResultMeta | null>;
  /** The metas of many tasks, null where none is known, in the order given. */
  getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]>;
  /**
   * Wait until the task's result is ready (SUCCESS, FAILURE or REVOKED) and return its meta, or reject with a
   * ResultTimeoutError after `timeoutMs`.
   */
  waitFor(taskId: string, timeoutMs: number): Promise<ResultMeta>;
  /** Forget a result (delete it where it is stored; rpc: this client's copy). */
  forget(taskId: string): Promise<void>;
  /** FAILURE results the backend keeps, newest first (none with rpc://, which keeps nothing). */
  failures(limit?: number, scanBudget?: number): Promise<ResultMeta[]>;
  /** Close what the backend opened; idempotent. */
  close(): Promise<void>;
}
