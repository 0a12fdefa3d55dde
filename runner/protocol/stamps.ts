/**
 * Celery 5.3's stamps (`stamped_headers`: their names, `stamps`: name -> value), read where Celery reads them: a
 * task's own (revoke_by_stamped_headers), those its retry passes on, those its result stores, those a signature
 * carries in its options (and so the message applying it). Read leniently, as Celery reads them: malformed stamps
 * are none, a message is never refused for them.
 */
import { isObject, type JsonObject } from './json';
import type { TaskMessage } from './message-types';

/** `Object.fromEntries` of names: keys defined as data, so a stamp called `__proto__` stays an ordinary key. */
function stampsOf(names: readonly unknown[], values: JsonObject): JsonObject {
  return Object.fromEntries(names.filter((name): name is string => typeof name === 'string')
    .map((name) => [name, Object.hasOwn(values, name) ? values[name] : null]));
}

/**
 * A task's stamps as Celery's `Request.stamps` reads them (Celery 5.3+ messages): for each name the `stamped_headers`
 * header lists, its value in the `stamps` header (null when absent). None for a message without stamps, or with
 * malformed ones.
 */
export function messageStamps(msg: Pick<TaskMessage, 'envelope'>): Record<string, unknown> {
  const { stamped_headers: names, stamps } = msg.envelope.headers;
  if (!Array.isArray(names) || names.length === 0) return {};
  return stampsOf(names, isObject(stamps) ? stamps : {});
}

/**
 * The stamps Celery 5.3+ passes from a request to its retry (`Context.as_execution_options()`): those its
 * `stamped_headers` name, when it has both that list and a `stamps` object (an empty list stays an empty list);
 * null, no stamps, otherwise.
 */
export function requestStamps(msg: Pick<TaskMessage, 'envelope'>): JsonObject | null {
  const { stamped_headers: names, stamps } = msg.envelope.headers;
  return Array.isArray(names) && isObject(stamps) ? stampsOf(names, stamps) : null;
}

/** What a result stores of its task's stamps, see {@link resultStamps}. */
export interface ResultStamps {
  /** The `stamped_headers` header as it came. */
  names: unknown;
  /** The `stamps` header, each of its entries stored as a field of the result. */
  values: JsonObject;
}

/**
 * What Celery 5.3+'s backend stores with a result_extended result of a stamped task (`_get_result_meta`): the
 * request's `stamped_headers` and every entry of its `stamps`, as they came; null when `stamps` is not an object
 * with entries (Celery's `if request.stamps`), as on every unstamped task.
 */
export function resultStamps(msg: Pick<TaskMessage, 'envelope'>): ResultStamps | null {
  const { stamped_headers: names, stamps } = msg.envelope.headers;
  if (!isObject(stamps)) return null;
  for (const key in stamps) if (Object.hasOwn(stamps, key)) return { names: names ?? null, values: stamps };
  return null;
}

/**
 * The stamps of the message applying a signature, from its options (Celery's stamping writes `stamped_headers` and
 * each stamp there, and `send_task` reads them back): each name `stamped_headers` lists, with its option's value
 * (null when absent). Null, no stamps, when the options have no `stamped_headers` list.
 */
export function signatureStamps(options: JsonObject): JsonObject | null {
  const names = options.stamped_headers;
  return Array.isArray(names) ? stampsOf(names, options) : null;
}

/** A signature's options stamped with `stamps`, as Celery's stamping leaves them: `stamped_headers`, then each stamp. */
export function stampOptions(options: JsonObject, stamps: JsonObject): void {
  options.stamped_headers = Object.keys(stamps);
  for (const [name, value] of Object.entries(stamps)) Object.defineProperty(options, name, { value, enumerable: true, writable: true, configurable: true });
}
