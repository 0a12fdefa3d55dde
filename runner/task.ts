/** Task definitions: options with their defaults, the request a running task sees, and `retry()`. */
import type { AsyncResult } from './backend/async-result';
import { paramInfo, type ParamInfo } from './params';
import { exceptionInfo, exceptionRepr } from './protocol/result';
import type { JsonObject } from './protocol/message';
import type { CallOptions } from './protocol/canvas';

/** Options of one call (Celery's `apply_async` options). */
export interface SendOptions extends CallOptions {
  /** Retry count to send (set by retries; 0 for a fresh call). */
  retries?: number;
  parentId?: string;
  rootId?: string;
  /**
   * Celery 5.3's stamps, name -> value, sent as its `stamped_headers` and `stamps` headers: the task's result keeps
   * them (with result_extended), the messages it leads to carry them on (retries, chain steps, callbacks), and
   * Celery's `revoke_by_stamped_headers` finds it by them. Default none.
   */
  stamps?: JsonObject;
}

/** Seconds per unit of a rate limit. */
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Tasks per second for a rate limit as Celery writes it (`'10/s'`, `'100/m'`, `'1000/h'`, or a number per second);
 * throws a clear error on a malformed one. 0 means no limit.
 */
export function parseRate(rate: string | number): number {
  if (typeof rate === 'number') {
    if (!Number.isFinite(rate) || rate < 0) throw new Error(`invalid rate limit ${rate}: expected a number of tasks per second >= 0`);
    return rate;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(rate);
  if (!m) throw new Error(`invalid rate limit ${JSON.stringify(rate)}: expected e.g. "10/s", "100/m" or "1000/h"`);
  return Number(m[1]) / UNITS[m[2] ?? 's']!;
}

export interface TaskOptions {
  /** Queue this task is sent to unless the call or a route says otherwise. Default: the app's default queue. */
  queue?: string;
  /** Default priority 0..9 (on Redis 0 is served first). Default 0. */
  priority?: number;
  /** Do not store the return value (failures are still stored). Default false. */
  ignoreResult?: boolean;
  /** Pass the running task's context as the first argument, like Celery's `bind=True`. Default false. */
  bind?: boolean;
  /** Parameter names for keyword arguments, when they cannot be read from the function (e.g. it is wrapped). */
  params?: string[];
  /** Most retries `retry()` allows before the task fails for good. Default 3 (Celery's). */
  maxRetries?: number;
  /** Seconds before a retry when `retry()` is given no countdown. Default 180 (Celery's). */
  defaultRetryDelay?: number;
  /** Hard time limit in seconds, sent with each call. Default none. */
  timeLimit?: number;
  /** Soft time limit in seconds, sent with each call. Default none. */
  softTimeLimit?: number;
  /**
   * Errors that retry the task automatically (Celery's `autoretry_for`): error classes, error names
   * (`'ConnectionError'`), or a predicate. Default none.
   */
  autoretryFor?: ErrorMatcher;
  /** Errors never retried automatically, even when `autoretryFor` matches them (Celery's `dont_autoretry_for`). */
  dontAutoretryFor?: ErrorMatcher;
  /**
   * Exponential backoff for automatic retries: `true` for a 1 s factor, or the factor in seconds; the n-th retry
   * waits `factor * 2^n` seconds, capped by `retryBackoffMax`. Default false: `defaultRetryDelay`.
   */
  retryBackoff?: boolean | number;
  /** Cap of the backoff in seconds. Default 600 (Celery's). */
  retryBackoffMax?: number;
  /** Full jitter: wait a random time between 0 and the backoff, so retries of many tasks spread out. Default true. */
  retryJitter?: boolean;
  /**
   * Ack after the task ends (true: a crash redelivers it, at-least-once) or before it runs (false: a crash loses
   * it, at-most-once). Default: the worker's `acksLate`, which defaults to true.
   */
  acksLate?: boolean;
  /** Most starts of this task per worker: `'10/s'`, `'100/m'`, `'1000/h'`, or a number per second. Default none. */
  rateLimit?: string | number;
}

/** Which errors a retry option applies to. */
export type ErrorMatcher = (abstract new (...args: never[]) => Error)[] | string[] | ((err: unknown) => boolean);

/** Whether an error matches a retry option (classes by instanceof, names by `name` up the prototype chain). */
export function matchesError(matcher: ErrorMatcher | undefined, err: unknown): boolean {
  if (!matcher) return false;
  if (typeof matcher === 'function') return matcher(err);
  return (matcher as unknown[]).some((m) => {
    if (typeof m === 'string') {
      for (let p: unknown = err; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
        if ((p as { name?: unknown }).name === m || (p as { constructor?: { name?: string } }).constructor?.name === m) return true;
      }
      return false;
    }
    return typeof m === 'function' && err instanceof (m as abstract new () => Error);
  });
}

/**
 * Seconds before retry number `retries + 1` with exponential backoff, as Celery computes it: `factor * 2^retries`,
 * capped at `max`, then with full jitter a whole number of seconds drawn from 0..that.
 */
export function backoffDelay(retries: number, factor: number, max: number, jitter: boolean, random: () => number = Math.random): number {
  const ceiling = Math.min(max, factor * 2 ** retries);
  return Math.max(0, jitter ? Math.floor(random() * (Math.floor(ceiling) + 1)) : ceiling);
}

/** What a bound task sees of the message that is running it. */
export interface TaskRequest {
  id: string;
  task: string;
  args: unknown[];
  kwargs: JsonObject;
  retries: number;
  queue: string;
  priority: number;
  eta: Date | null;
  expires: Date | null;
  parentId: string | null;
  rootId: string;
  groupId: string | null;
  /** Node name of the worker running it. */
  hostname: string;
  redelivered: boolean;
  /**
   * The message's properties, as Celery's `request.properties`: correlation_id, reply_to, delivery_info, priority,
   * and any a client added (`apply_async(app_id=...)` puts `app_id` there).
   */
  properties: Readonly<Record<string, unknown>>;
}

export interface RetryOptions {
  /** Seconds to wait before the retry. Default: the task's `defaultRetryDelay`. */
  countdown?: number;
  /** Exact time of the retry (wins over countdown). */
  eta?: Date;
  /** The error that caused the retry: stored with the RETRY state, and raised when retries run out. */
  exc?: unknown;
  /** Override the task's maxRetries for this call. */
  maxRetries?: number;
}

/** Thrown by `retry()`; the worker republishes the task rather than failing it. */
export class Retry extends Error {
  override readonly name = 'Retry';
  constructor(readonly when: Date, readonly exc: unknown, message: string) {
    super(message);
  }
}

/** Raised when `retry()` is called with no retries left and no `exc` to raise instead. */
export class MaxRetriesExceededError extends Error {
  override readonly name = 'MaxRetriesExceededError';
  readonly excModule = 'celery.exceptions';
}

/** The first argument of a `bind: true` task. */
export interface TaskContext {
  readonly name: string;
  readonly request: TaskRequest;
  /** Aborted when the worker shuts down cold (and, with time limits, when the soft limit passes). */
  readonly signal: AbortSignal;
  /** Ask for this task to run again later; always throws (use `throw task.retry(...)` for readable flow). */
  retry(options?: RetryOptions): never;
}

export type TaskFunction = (...args: never[]) => unknown;

/** Resolved options of a defined task. */
export interface TaskDefinition {
  readonly name: string;
  readonly fn: TaskFunction;
  readonly options: Readonly<TaskOptions>;
  readonly params: ParamInfo;
}

export function defineTask(name: string, fn: TaskFunction, options: TaskOptions): TaskDefinition {
  if (!name || typeof name !== 'string') throw new TypeError('a task needs a name, e.g. "emails.send"');
  if (typeof fn !== 'function') throw new TypeError(`task ${name}: expected a function`);
  if (options.rateLimit !== undefined) parseRate(options.rateLimit);
  let params = paramInfo(fn);
  if (options.bind) params = { names: params.names.slice(1), rest: params.rest, required: Math.max(0, params.required - 1) };
  if (options.params) params = { ...params, names: [...options.params] };
  return { name, fn, options: { ...options }, params };
}

/** Build the retry error for a running task (shared by the context's `retry`). */
export function makeRetry(def: TaskDefinition, request: TaskRequest, options: RetryOptions = {}): Retry | Error {
  const max = options.maxRetries ?? def.options.maxRetries ?? 3;
  if (request.retries >= max) {
    if (options.exc instanceof Error) return options.exc;
    return new MaxRetriesExceededError(`Can't retry ${def.name}[${request.id}] args:${JSON.stringify(request.args)} kwargs:${JSON.stringify(request.kwargs)}`);
  }
  const delay = options.countdown ?? def.options.defaultRetryDelay ?? 180;
  const when = options.eta ?? new Date(Date.now() + delay * 1000);
  // Celery's wording: "Retry in 0.5s: ValueError('x')", or "Retry at <eta>" when an eta was given.
  const timing = options.eta ? `at ${options.eta.toISOString()}` : `in ${delay}s`;
  const cause = options.exc === undefined ? '' : `: ${exceptionRepr(exceptionInfo(options.exc))}`;
  return new Retry(when, options.exc, `Retry ${timing}${cause}`);
}

/**
 * The automatic retry for an error a task threw, per its `autoretryFor` options: a Retry to republish it, the
 * error to fail with when retries are used up, or undefined when the error is not one to retry.
 */
export function autoRetry(def: TaskDefinition, request: TaskRequest, err: unknown, random?: () => number): Retry | Error | undefined {
  const o = def.options;
  if (err instanceof MaxRetriesExceededError || !matchesError(o.autoretryFor, err) || matchesError(o.dontAutoretryFor, err)) return undefined;
  const factor = o.retryBackoff === true ? 1 : typeof o.retryBackoff === 'number' ? o.retryBackoff : 0;
  const countdown = factor > 0 ? backoffDelay(request.retries, factor, o.retryBackoffMax ?? 600, o.retryJitter ?? true, random) : undefined;
  return makeRetry(def, request, { exc: err, countdown });
}

/** A handle on a defined task, for calling it. Created by `Radish.task()`. */
export interface Task<A extends unknown[] = unknown[], R = unknown> extends TaskDefinition {
  /** Send with positional arguments and the task's defaults. */
  delay(...args: A): Promise<AsyncResult<Awaited<R>>>;
  /** Send with every Celery option. */
  applyAsync(args?: A | unknown[], kwargs?: JsonObject, options?: SendOptions): Promise<AsyncResult<Awaited<R>>>;
}
