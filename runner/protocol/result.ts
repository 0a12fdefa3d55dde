/** Celery result-backend values (`celery-task-meta-<id>`): states, encode, decode, exceptions. Pure. */
import type { CeleryLayout } from './celery-version';
import { pyRepr } from './pyrepr';
import { pythonJson } from './python-json';
import type { ResultStamps } from './stamps';
import { dateDoneText, parseCeleryDate } from './time';
import { errorMessage } from '../errors';

export type TaskState = 'PENDING' | 'RECEIVED' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'RETRY' | 'REVOKED' | 'REJECTED';

/** States after which a result never changes (Celery's READY_STATES). */
export const READY_STATES: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/** How Celery serialises an exception with the JSON serializer. */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[] | string;
  exc_module: string | null;
}

/** One stored result, with Celery's field order. */
export interface ResultMeta {
  status: TaskState;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: string | null;
  group_id?: string;
  parent_id?: string;
  name?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  worker?: string;
  retries?: number;
  queue?: string;
  /** A stamped task's stamp names (Celery 5.3+, with result_extended); each stamp is a field of its own. */
  stamped_headers?: unknown;
  task_id: string;
}

/** The request fields that `result_extended` adds. */
export interface ExtendedFields {
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  worker: string;
  retries: number;
  queue: string;
}

export interface ResultInput {
  taskId: string;
  state: TaskState;
  result: unknown;
  traceback?: string | null;
  children?: unknown[];
  groupId?: string | null;
  parentId?: string | null;
  extended?: ExtendedFields | null;
  /** The task's stamps (`resultStamps()`), stored after the extended fields as Celery 5.3+ does; only with `extended`. */
  stamps?: ResultStamps | null;
  /** When it became ready. Default: now. */
  now?: Date;
  /** Whose `date_done` to write: Celery 5.3+'s, with its offset (`...+00:00`, the default), or 5.2's, naive UTC. */
  layout?: CeleryLayout;
}

/** Build the value Celery's Redis backend stores (and publishes) for a state change. */
export function encodeResult(input: ResultInput): string {
  // Insertion order is Celery's: the five core fields, group_id, parent_id, the extended fields, task_id last.
  const meta: Record<string, unknown> = {
    status: input.state,
    result: input.result === undefined ? null : input.result,
    traceback: input.traceback ?? null,
    children: input.children ?? [],
    date_done: READY_STATES.has(input.state) ? dateDoneText(input.now ?? new Date(), input.layout) : null,
  };
  if (input.groupId) meta.group_id = input.groupId;
  if (input.parentId) meta.parent_id = input.parentId;
  if (input.extended) {
    Object.assign(meta, input.extended);
    const stamps = input.stamps;
    if (stamps) {
      meta.stamped_headers = stamps.names;
      // Celery's dict.update: a stamp named like a field takes its place; one called `__proto__` stays a field.
      for (const [name, value] of Object.entries(stamps.values)) Object.defineProperty(meta, name, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  meta.task_id = input.taskId;
  return JSON.stringify(meta);
}

/**
 * `encodeResult` of a SUCCESS without children or extended fields (what nearly every task stores), byte for byte,
 * written as one string: no meta object and no second walk of its keys, on the path every finished task takes.
 * Falls back to `encodeResult` for a value whose top-level JSON form may depend on the key it sits under (toJSON)
 * or that JSON leaves out (a function, a symbol), so the two can never differ.
 */
export function encodeSuccess(taskId: string, value: unknown, groupId: string | null | undefined, parentId: string | null | undefined, now?: Date, layout?: CeleryLayout): string {
  let result: string | undefined;
  if (value === null || value === undefined) result = 'null';
  else if (typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON !== 'function') result = JSON.stringify(value) as string | undefined;
  if (result === undefined) return encodeResult({ taskId, state: 'SUCCESS', result: value, groupId, parentId, ...(now ? { now } : {}), ...(layout ? { layout } : {}) });
  // dateDoneText keeps the text of the last millisecond: a busy worker ends many tasks in one.
  return '{"status":"SUCCESS","result":' + result + ',"traceback":null,"children":[],"date_done":"' + dateDoneText(now ?? new Date(), layout) + '"'
    + (groupId ? ',"group_id":' + JSON.stringify(groupId) : '') + (parentId ? ',"parent_id":' + JSON.stringify(parentId) : '')
    + ',"task_id":' + JSON.stringify(taskId) + '}';
}

/**
 * When a stored result became ready: its `date_done` read in either form (Celery 5.2's naive UTC, 5.3+'s with an
 * offset), or null when it has none or an unreadable one. Compare these, never the texts: the forms do not sort
 * together, and Python refuses to compare a naive datetime with an aware one.
 */
export function dateDoneOf(meta: Pick<ResultMeta, 'date_done'>): Date | null {
  try {
    return parseCeleryDate(meta.date_done);
  } catch {
    return null;
  }
}

/**
 * The body of a result message of Celery's rpc backend: `{"task_id", "status", "result", "traceback", "children"}` in
 * that order, written as kombu's JSON writes it (Python's separators), so it is Celery's byte for byte. Nothing else:
 * no date_done, group_id, parent_id or extended fields (Celery's rpc backend sends none).
 */
export function encodeRpcResult(input: Pick<ResultInput, 'taskId' | 'state' | 'result' | 'traceback' | 'children'>): string {
  return pythonJson({
    task_id: input.taskId,
    status: input.state,
    result: input.result === undefined ? null : input.result,
    traceback: input.traceback ?? null,
    children: input.children ?? [],
  });
}

/** {@link encodeRpcResult} of a value stored in the Redis form (`encodeResult`/`encodeSuccess`): its five fields. */
export function rpcResultOf(stored: string): string {
  const meta = decodeResult(stored);
  return encodeRpcResult({ taskId: meta.task_id, state: meta.status, result: meta.result, traceback: meta.traceback, children: meta.children });
}

/**
 * A result message of the rpc backend (Celery's or Radish's) as a meta: `taskId` is the message's correlation id (what
 * the result is matched by; the body's `task_id` when it has none). There is no `date_done` in such a message: null.
 * Throws ResultDecodeError on a body that is not a JSON result.
 */
export function decodeRpcResult(body: string, correlationId: string | undefined): ResultMeta {
  const meta = decodeResult(body) as Partial<ResultMeta> & { status: TaskState };
  const taskId = correlationId || (typeof meta.task_id === 'string' ? meta.task_id : '');
  if (!taskId) throw new ResultDecodeError('result message has neither a correlation_id nor a task_id');
  return {
    status: meta.status,
    result: meta.result === undefined ? null : meta.result,
    traceback: typeof meta.traceback === 'string' ? meta.traceback : null,
    children: Array.isArray(meta.children) ? meta.children : [],
    date_done: typeof meta.date_done === 'string' ? meta.date_done : null,
    task_id: taskId,
  };
}

export class ResultDecodeError extends Error {
  override readonly name = 'ResultDecodeError';
}

export function decodeResult(raw: string): ResultMeta {
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch (err) {
    throw new ResultDecodeError(`stored result is not valid JSON: ${errorMessage(err)}`);
  }
  if (typeof meta !== 'object' || meta === null || typeof (meta as ResultMeta).status !== 'string') {
    throw new ResultDecodeError('stored result has no status');
  }
  return meta as ResultMeta;
}

/** Names that exist in Python's `builtins`, so Python re-raises the same type for a JS error of that name. */
const PYTHON_BUILTIN_ERRORS = new Set([
  'Exception', 'ArithmeticError', 'AssertionError', 'AttributeError', 'IndexError', 'KeyError', 'LookupError',
  'MemoryError', 'NotImplementedError', 'OSError', 'OverflowError', 'RecursionError', 'RuntimeError',
  'TimeoutError', 'TypeError', 'ValueError', 'ZeroDivisionError', 'PermissionError', 'FileNotFoundError',
  'ConnectionError', 'UnicodeError',
]);

/**
 * A thrown JS value as Celery's `{exc_type, exc_message, exc_module}`. The type is the error's `name`;
 * `exc_module` is `builtins` where Python has an exception of that name, otherwise `radish` (Python then
 * makes up a class of that name, as it does for any unknown exception type), or the error's own `excModule`.
 * The message is the error's `args` when it has an array of them (Python's `Exception.args`, so that
 * `new ExpectedException('failed', 'test')` reaches Python as `ExpectedException('failed', 'test')`), else its
 * message alone.
 */
export function exceptionInfo(err: unknown): ExceptionInfo {
  if (err instanceof Error) {
    const type = err.name && err.name !== 'Error' ? err.name : err.constructor?.name || 'Error';
    const excModule = (err as { excModule?: unknown }).excModule;
    const args = (err as { args?: unknown }).args;
    return {
      exc_type: type,
      exc_message: Array.isArray(args) ? args : [err.message],
      exc_module: typeof excModule === 'string' ? excModule : PYTHON_BUILTIN_ERRORS.has(type) ? 'builtins' : 'radish',
    };
  }
  return { exc_type: 'Error', exc_message: [String(err)], exc_module: 'radish' };
}

/** `ValueError('kaboom')`-style text, as Celery logs and events show an exception. */
export function exceptionRepr(info: ExceptionInfo): string {
  const args = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
  return `${info.exc_type}(${args.map(pyRepr).join(', ')})`;
}

/** A failure read from the backend, thrown by `AsyncResult.get()` with the remote type, message and traceback. */
export class TaskFailedError extends Error {
  constructor(
    readonly taskId: string,
    readonly excType: string,
    readonly excModule: string | null,
    readonly excMessage: unknown[] | string,
    readonly remoteTraceback: string | null,
    readonly state: TaskState = 'FAILURE',
  ) {
    super(Array.isArray(excMessage) ? excMessage.map(String).join(', ') : String(excMessage));
    this.name = excType;
  }
}

/** Turn a FAILURE/REVOKED meta into the error `get()` rejects with. */
export function failureFromMeta(meta: ResultMeta): TaskFailedError {
  const r = meta.result as Partial<ExceptionInfo> | null;
  const type = r && typeof r.exc_type === 'string' ? r.exc_type : meta.status === 'REVOKED' ? 'TaskRevokedError' : 'Exception';
  return new TaskFailedError(meta.task_id, type, r?.exc_module ?? null, r?.exc_message ?? String(meta.result), meta.traceback, meta.status);
}

