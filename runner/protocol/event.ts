/**
 * Celery events (what `celery worker -E` and `task_send_sent_event` publish) as kombu puts them on Redis: a
 * kombu envelope PUBLISHed on `/<db>.celeryev/<routing_key>`, whose base64 body is one event dict, or for a
 * worker's buffered task events a JSON list of them on `task.multi`. Pure functions, no I/O; the bytes match what
 * Celery 5.2.6 sends (field order included), so Flower and `celery events` read Radish's events as Celery's.
 */
import { randomUUID } from 'node:crypto';
import { EVENT_EXCHANGE } from './exchanges';
import { isObject, type JsonObject } from './json';
import { openEnvelope, type EnvelopeRules } from './kombu-envelope';
import type { TaskCall, TaskMessage } from './message-types';
import { argsRepr, kwargsRepr, pyRepr, truncateRepr } from './pyrepr';
import { pythonJson } from './python-json';
import { exceptionRepr, type ExceptionInfo } from './result';
import { isoWithOffset } from './time';
import type { RevokeReason } from '../errors';


export type WorkerEventType = 'worker-online' | 'worker-heartbeat' | 'worker-offline';
export type TaskEventType =
  | 'task-sent' | 'task-received' | 'task-started' | 'task-succeeded' | 'task-failed' | 'task-retried' | 'task-revoked';

/** One event dict as Celery builds it: the sender's fields, the type's fields, then `timestamp` and `type`. */
export interface CeleryEvent extends JsonObject {
  hostname: string;
  utcoffset: number;
  pid: number;
  clock: number;
  timestamp: number;
  type: string;
}

/** Who sends: fixed for a dispatcher's life. */
export interface EventSource {
  /** Node name (`w1@host`; a client uses `gen<pid>@host`). */
  hostname: string;
  pid: number;
  /** Hours west of UTC, as Celery's `utcoffset()`. Default: this process's, see {@link utcoffset}. */
  utcoffset?: number;
}

/** What changes per event. */
export interface EventStamp {
  /** The sender's Lamport clock after forwarding it. */
  clock: number;
  /** Unix seconds (a float, as Python's `time.time()`). Default: now. */
  timestamp?: number;
}

/** A message that cannot be read as an event; `reason` is one line fit for a log. */
export class EventError extends Error {
  override readonly name = 'EventError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The routing key of an event type: `worker-heartbeat` -> `worker.heartbeat` (Celery's `type.replace('-', '.')`). */
export function routingKeyOf(type: string): string {
  return type.replace(/-/g, '.');
}

/** The routing key a worker's batched task events go out on. */
export const TASK_MULTI = 'task.multi';

/** Unix time in seconds with sub-millisecond digits, like Python's `time.time()`. */
export function nowSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/**
 * Celery's `utcoffset()`: `time.altzone // 3600` where the zone has daylight saving, else `time.timezone // 3600`,
 * i.e. whole hours west of UTC (0 on a UTC host). Python takes the DST offset whenever the zone has one at all.
 */
export function utcoffset(): number {
  const year = new Date().getFullYear();
  const winter = new Date(year, 0, 1).getTimezoneOffset();
  const summer = new Date(year, 6, 1).getTimezoneOffset();
  // getTimezoneOffset is minutes west of UTC; the DST offset is the smaller of the two.
  return Math.floor((Math.min(winter, summer) * 60) / 3600);
}

/** Build an event with Celery's field order (`EventDispatcher.publish` + `Event()`). */
export function makeEvent(type: string, source: EventSource, stamp: EventStamp, fields: JsonObject): CeleryEvent {
  return {
    hostname: source.hostname,
    utcoffset: source.utcoffset ?? utcoffset(),
    pid: source.pid,
    clock: stamp.clock,
    ...fields,
    timestamp: stamp.timestamp ?? nowSeconds(),
    type,
  };
}

// ---------------------------------------------------------------------------------------------
// Fields of each event type, as Celery 5.2.6 sends them

/** What a worker event carries besides the sender fields. */
export interface WorkerStatus {
  /** Heartbeat interval in seconds (`freq`). Default 2.0, Celery's. */
  freq?: number;
  /** Tasks executing now. */
  active: number;
  /** Tasks finished since the worker started. */
  processed: number;
  /** 1, 5 and 15 minute load averages, rounded to 2 decimals by the encoder as Celery does. */
  loadavg: readonly number[];
}

/** The worker's software, shown by Flower. */
export interface SoftwareInfo {
  ident: string;
  version: string;
  system: string;
}

/** Fields of worker-online/heartbeat/offline (Celery's `Heart._send`). */
export function workerFields(status: WorkerStatus, sw: SoftwareInfo): JsonObject {
  return {
    freq: status.freq ?? 2.0,
    active: status.active,
    processed: status.processed,
    loadavg: status.loadavg.slice(0, 3).map((n) => Math.round(n * 100) / 100),
    sw_ident: sw.ident,
    sw_ver: sw.version,
    sw_sys: sw.system,
  };
}

/** A header date as Python's `datetime.isoformat()` would write it back: the header text itself when there is one. */
function isoHeader(header: unknown, date: Date | null): string | null {
  if (typeof header === 'string') return header;
  return date ? isoWithOffset(date) : null;
}

function reprs(msg: TaskMessage): { args: string; kwargs: string } {
  const h = msg.envelope.headers;
  return {
    args: typeof h.argsrepr === 'string' ? h.argsrepr : argsRepr(msg.args),
    kwargs: typeof h.kwargsrepr === 'string' ? h.kwargsrepr : kwargsRepr(msg.kwargs),
  };
}

/** task-received (Celery's `Request` on arrival): args/kwargs are the message's `argsrepr`/`kwargsrepr`. */
export function taskReceivedFields(msg: TaskMessage): JsonObject {
  const { args, kwargs } = reprs(msg);
  return {
    uuid: msg.id,
    name: msg.name,
    args,
    kwargs,
    root_id: msg.rootId,
    parent_id: msg.parentId,
    retries: msg.retries,
    eta: isoHeader(msg.envelope.headers.eta, msg.eta),
    expires: isoHeader(msg.envelope.headers.expires, msg.expires),
  };
}

/**
 * task-sent (the client, `task_send_sent_event`): as task-received plus where the message was routed, built from
 * the call just published, with the reprs and date forms its message's headers carry.
 */
export function taskSentFields(call: TaskCall): JsonObject {
  return {
    uuid: call.id,
    root_id: call.rootId ?? call.id,
    parent_id: call.parentId ?? null,
    name: call.name,
    args: argsRepr(call.args ?? []),
    kwargs: kwargsRepr(call.kwargs ?? {}),
    retries: call.retries ?? 0,
    eta: call.eta ? isoWithOffset(call.eta) : null,
    expires: call.expires ? isoWithOffset(call.expires) : null,
    queue: call.queue,
    exchange: '',
    routing_key: call.queue,
  };
}

export function taskStartedFields(uuid: string): JsonObject {
  return { uuid };
}

/** task-succeeded: the result as Python's `saferepr` (at most 1024 characters), runtime in seconds. */
export function taskSucceededFields(uuid: string, value: unknown, runtime: number): JsonObject {
  return { uuid, result: truncateRepr(pyRepr(value)), runtime };
}

function exceptionText(exc: ExceptionInfo | string): string {
  return typeof exc === 'string' ? exc : exceptionRepr(exc);
}

/** task-failed: `exception` is the repr (`ValueError('kaboom')`); Celery always sends a traceback string. */
export function taskFailedFields(uuid: string, exc: ExceptionInfo | string, traceback?: string | null): JsonObject {
  return { uuid, exception: exceptionText(exc), traceback: traceback ?? '' };
}

/** task-retried: the same fields as task-failed (Celery's `Request.on_retry` sends the retry's exception). */
export const taskRetriedFields: typeof taskFailedFields = taskFailedFields;

/**
 * task-revoked (Celery's `Request._announce_revoked`): `terminated` with the signal number when the running task
 * was killed, `expired` when it passed its expiry. `signum` is null when not terminated (or unknown).
 */
export function taskRevokedFields(uuid: string, reason: RevokeReason, signum: number | null = null): JsonObject {
  return { uuid, terminated: reason === 'terminated', signum: reason === 'terminated' ? signum : null, expired: reason === 'expired' };
}

// ---------------------------------------------------------------------------------------------
// Bytes

/** Fields Python sends as floats; JSON cannot tell `2.0` from `2`, so they are written with a `.0` when integral. */
const FLOAT_FIELDS = new Set(['freq', 'runtime', 'timestamp']);

function pyFloat(n: unknown): string {
  if (typeof n === 'number' && Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  return pythonJson(n);
}

/** One event as `json.dumps` writes it, floats where Python has floats. */
function dumpEvent(event: JsonObject): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (value === undefined) continue;
    let text: string;
    if (FLOAT_FIELDS.has(key)) text = pyFloat(value);
    else if (key === 'loadavg' && Array.isArray(value)) text = '[' + value.map(pyFloat).join(', ') + ']';
    else text = pythonJson(value);
    parts.push(pythonJson(key) + ': ' + text);
  }
  return '{' + parts.join(', ') + '}';
}

/** The event JSON text (one dict, or a list of them for `task.multi`), byte-compatible with Celery's. */
export function eventBodyJson(body: JsonObject | readonly JsonObject[]): string {
  if (Array.isArray(body)) return '[' + (body as readonly JsonObject[]).map(dumpEvent).join(', ') + ']';
  return dumpEvent(body as JsonObject);
}

function envelope(bodyJson: string, hostname: string, routingKey: string, deliveryTag: string | undefined): string {
  return pythonJson({
    body: Buffer.from(bodyJson, 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { hostname },
    properties: {
      delivery_mode: 1,
      delivery_info: { exchange: EVENT_EXCHANGE, routing_key: routingKey },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: deliveryTag ?? randomUUID(),
    },
  });
}

/** The envelope for one event, on the routing key of its type. `deliveryTag` defaults to a fresh uuid4. */
export function encodeEvent(event: CeleryEvent, deliveryTag?: string): string {
  return envelope(eventBodyJson(event), event.hostname, routingKeyOf(event.type), deliveryTag);
}

/** The envelope for a worker's buffered task events: a JSON list on `task.multi`. */
export function encodeEventBatch(events: readonly CeleryEvent[], hostname: string, deliveryTag?: string): string {
  return envelope(eventBodyJson(events), hostname, TASK_MULTI, deliveryTag);
}

/** An events message read off a channel. */
export interface EventMessage {
  /** The sender's node name (envelope header). */
  hostname: string | null;
  routingKey: string | null;
  deliveryTag: string | null;
  /** One event, or a batch's events in order. */
  events: CeleryEvent[];
}

/** Event envelopes: kombu's lenient body rules, refused with an EventError. */
const EVENT_ENVELOPE: EnvelopeRules = { fail: (reason) => new EventError(reason) };

/** Read an events message (JSON only, never pickle). Throws EventError when it is not one. */
export function decodeEventMessage(raw: string): EventMessage {
  const { headers, properties, body } = openEnvelope(raw, EVENT_ENVELOPE);
  const list = Array.isArray(body) ? body : [body];
  for (const event of list) {
    if (!isObject(event) || typeof event.type !== 'string') throw new EventError('event has no type');
  }
  const info = isObject(properties.delivery_info) ? properties.delivery_info : {};
  return {
    hostname: typeof headers.hostname === 'string' ? headers.hostname : null,
    routingKey: typeof info.routing_key === 'string' ? info.routing_key : null,
    deliveryTag: typeof properties.delivery_tag === 'string' ? properties.delivery_tag : null,
    events: list as CeleryEvent[],
  };
}
