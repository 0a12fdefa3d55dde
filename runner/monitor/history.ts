/**
 * A bounded history of tasks, built from their Celery events and kept in Redis, so it outlives the process that
 * recorded it (a VS Code window reload) and several recorders (two windows) can share it.
 *
 * Every write goes through one Lua script (runner/broker/scripts/history_record.lua) that merges a batch of events
 * atomically and idempotently: an event is kept once by (uuid, type, timestamp, hostname), and each field keeps the
 * value of the latest event that carried it. So recording the same events twice, or in another order, gives the
 * same records.
 *
 *     const history = new TaskHistory(broker.redis, broker.keys);
 *     await history.record(events);                       // one round trip per call
 *     const page = await history.recent({ limit: 50, filter: { state: 'FAILURE' } });
 */
import type Redis from 'ioredis';
import type { Keys } from '../broker/keys';
import { scripts } from '../broker/scripts';
import type { CeleryEvent } from '../protocol/event';

/** The states a history record can be in: Celery's, plus SENT for a task only a client has announced. */
export type TaskRecordState = 'SENT' | 'RECEIVED' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'RETRY' | 'REVOKED';

/** One event of a task as kept in its record: the event without the sender's `uuid`, `pid`, `clock`, `utcoffset`. */
export interface TaskRecordEvent {
  type: string;
  /** Unix seconds, by the sender's clock. */
  timestamp: number;
  /** The sender: the worker's node name, or the client's `gen<pid>@host` for task-sent. */
  hostname: string;
  /** The type's own fields (`result`, `runtime`, `exception`, `traceback`, `terminated`...), as sent. */
  [field: string]: unknown;
}

/** What the history knows about one task. Times are unix seconds by the sender's clock. */
export interface TaskRecord {
  id: string;
  name?: string;
  /** From the latest event by timestamp, ties broken by Celery's state precedence (a late RECEIVED never undoes a SUCCESS). */
  state: TaskRecordState;
  /** Python repr of the positional arguments, as events carry them (`"(2, 3)"`). */
  args?: string;
  /** Python repr of the keyword arguments (`"{'x': 1}"`). */
  kwargs?: string;
  /** From task-sent only (workers do not say which queue they took a task from). */
  queue?: string;
  routingKey?: string;
  /** The worker that handled the task last. */
  hostname?: string;
  sent?: number;
  received?: number;
  started?: number;
  succeeded?: number;
  failed?: number;
  retried?: number;
  revoked?: number;
  /**
   * Seconds the last run took: the worker's own measure for a success; for a failure or a revoke of a started task,
   * the time between its task-started and task-failed/task-revoked events.
   */
  runtime?: number;
  /** Python repr of the return value (at most 1024 characters, as Celery truncates it). */
  result?: string;
  /** Python repr of the exception of the last failure or retry (`"ValueError('kaboom')"`). */
  exception?: string;
  traceback?: string;
  /** The retry count of the latest attempt. */
  retries?: number;
  /** ISO-8601 strings, as the message headers had them. */
  eta?: string;
  expires?: string;
  rootId?: string;
  /** The task that sent this one (chain, link, chord callback). Never the task itself (a retry names itself). */
  parentId?: string;
  /** Ids of the tasks this one sent, as their events named it parent, in the order they were first seen. */
  children: string[];
  /** The kept events, oldest first (at most `maxEventsPerTask`). */
  events: TaskRecordEvent[];
  /** Timestamp of the latest event: what `recent()` orders by and trimming drops the oldest of. */
  updated: number;
}

export interface TaskHistoryOptions {
  /** Tasks kept; beyond, those whose latest event is oldest are dropped. Default 10_000. */
  maxTasks?: number;
  /** Events kept per task; beyond, the oldest are dropped (the state and fields still take them into account). Default 50. */
  maxEventsPerTask?: number;
  /** Child ids kept per task (a task fanning out to a huge group keeps the first ones). Default 1000. */
  maxChildrenPerTask?: number;
}

/** Which tasks `recent()` returns. */
export interface TaskFilter {
  /** Substring of the task name, case-insensitive. */
  name?: string;
  /** Exact state (`'FAILURE'`); case-insensitive. */
  state?: string;
  /** Substring of the task id, case-insensitive. */
  id?: string;
}

export interface RecentOptions {
  /** Matches to skip, newest first. Default 0. */
  offset?: number;
  /** Records to return at most. Default 50. */
  limit?: number;
  filter?: TaskFilter;
}

/** What one `record()` call did. */
export interface RecordOutcome {
  /** Events that were new to the history (duplicates and events dropped at the cap are not counted). */
  added: number;
  /** Every record the call touched, after it: the events' tasks and the parents that got a child. */
  records: Map<string, TaskRecord>;
}

/** A task's small index entry: what a search decides on before loading records. */
export interface IndexEntry {
  id: string;
  state?: string;
  name?: string;
  /** False when the index has no entry yet (the record decides). */
  indexed: boolean;
}

/** A command connection, or a function that gives one on first use. */
export type RedisSource = Redis | (() => Promise<Redis>);

export const HISTORY_DEFAULTS = { maxTasks: 10_000, maxEventsPerTask: 50, maxChildrenPerTask: 1000 } as const;

/** Events per script call: keeps each call short, since a script blocks Redis while it runs. */
const BATCH = 500;
/** Ids read per round trip while scanning for a filtered page. */
const SCAN_CHUNK = 1000;

/** Celery's state precedence (celery/states.py PRECEDENCE, reversed: higher wins a tie). SENT ranks as PENDING. */
const STATE_OF: Readonly<Record<string, { state: TaskRecordState; rank: number }>> = {
  'task-sent': { state: 'SENT', rank: 0 },
  'task-retried': { state: 'RETRY', rank: 1 },
  'task-received': { state: 'RECEIVED', rank: 3 },
  'task-started': { state: 'STARTED', rank: 4 },
  'task-revoked': { state: 'REVOKED', rank: 5 },
  'task-failed': { state: 'FAILURE', rank: 7 },
  'task-succeeded': { state: 'SUCCESS', rank: 8 },
};

/** The record field each event type's timestamp goes to. */
const TIME_FIELD: Readonly<Record<string, keyof TaskRecord>> = {
  'task-sent': 'sent', 'task-received': 'received', 'task-started': 'started', 'task-succeeded': 'succeeded',
  'task-failed': 'failed', 'task-retried': 'retried', 'task-revoked': 'revoked',
};

type FieldKind = 'string' | 'number';
/** Event field -> record field, for the fields sent and received carry about the call. */
const CALL_FIELDS: readonly [string, keyof TaskRecord, FieldKind][] = [
  ['name', 'name', 'string'], ['args', 'args', 'string'], ['kwargs', 'kwargs', 'string'], ['root_id', 'rootId', 'string'],
  ['parent_id', 'parentId', 'string'], ['retries', 'retries', 'number'], ['eta', 'eta', 'string'], ['expires', 'expires', 'string'],
];
const TYPE_FIELDS: Readonly<Record<string, readonly [string, keyof TaskRecord, FieldKind][]>> = {
  'task-sent': [...CALL_FIELDS, ['queue', 'queue', 'string'], ['routing_key', 'routingKey', 'string']],
  'task-received': CALL_FIELDS,
  'task-succeeded': [['result', 'result', 'string'], ['runtime', 'runtime', 'number']],
  'task-failed': [['exception', 'exception', 'string'], ['traceback', 'traceback', 'string']],
  'task-retried': [['exception', 'exception', 'string'], ['traceback', 'traceback', 'string']],
};
/** Sender fields left out of a kept event (`uuid` is the record's id). */
const SENDER_FIELDS = new Set(['uuid', 'utcoffset', 'pid', 'clock']);

/** Lone UTF-16 surrogates: Redis's cjson refuses their `\ud800` escapes, which would fail the whole batch. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function json(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? v.replace(LONE_SURROGATE, '\uFFFD') : v));
}

/** Whether `event` is a task event the history can keep: a task type, an id, a sender and a time. */
export function isTaskEvent(event: CeleryEvent): boolean {
  return typeof event.type === 'string' && event.type.startsWith('task-') && typeof event.uuid === 'string' && event.uuid !== ''
    && typeof event.hostname === 'string' && typeof event.timestamp === 'number' && Number.isFinite(event.timestamp);
}

/**
 * The exception a failure event names. Celery 5.2 with billiard 4 sends the repr of billiard's wrapper,
 * `ExceptionWithTraceback()`, for failures in pool processes; the traceback's last line (`ValueError: order 7 cannot
 * be processed`) says what the exception was, so that line is kept instead.
 */
export function readableException(exception: unknown, traceback: unknown): unknown {
  if (typeof exception !== 'string' || !/^ExceptionWithTraceback\(/.test(exception) || typeof traceback !== 'string') return exception;
  const last = traceback.trimEnd().split('\n').pop()?.trim();
  return last || exception;
}

/** The script's view of one event (see the header of history_record.lua). */
function patchOf(event: CeleryEvent): string {
  const id = event.uuid as string;
  const known = STATE_OF[event.type];
  const fields: Record<string, string> = {};
  const kept: Record<string, unknown> = { type: event.type, timestamp: event.timestamp, hostname: event.hostname };
  for (const [key, value] of Object.entries(event)) {
    if (!SENDER_FIELDS.has(key) && !(key in kept)) kept[key] = value;
  }
  let parent: string | undefined;
  if (known) {
    fields[TIME_FIELD[event.type] as string] = json(event.timestamp);
    if (event.type !== 'task-sent') fields.hostname = json(event.hostname);
    for (const [from, to, kind] of TYPE_FIELDS[event.type] ?? []) {
      const value = from === 'exception' ? readableException(event.exception, event.traceback) : event[from];
      if (value === null || value === undefined) continue;
      if (kind === 'number' && (typeof value !== 'number' || !Number.isFinite(value))) continue;
      // A repr is a string; anything else another client put there is kept as JSON text rather than lost.
      fields[to] = json(kind === 'string' && typeof value !== 'string' ? JSON.stringify(value) : value);
    }
    // A retried task's message names itself as parent: not a parent in any sense a user means.
    if (typeof event.parent_id === 'string' && event.parent_id !== '' && event.parent_id !== id) parent = event.parent_id;
    else delete fields.parentId;
  }
  const patch: Record<string, unknown> = {
    id, ts: String(event.timestamp), ty: event.type, h: event.hostname, f: fields, e: json(kept),
  };
  if (known) {
    patch.r = known.rank;
    patch.s = known.state;
  }
  if (parent !== undefined) patch.p = parent;
  return json(patch);
}

interface WireRecord {
  id: string;
  s: [string, number, string, TaskRecordState];
  f: Record<string, [string, number, string, string]>;
  ev: [string, string, string, string][] | Record<string, never>;
  c: string[] | Record<string, never>;
  u: string;
}

/** A stored record as the API shows it; throws on text that is not one (the caller skips it). */
function fromWire(text: string): TaskRecord {
  const wire = JSON.parse(text) as WireRecord;
  const record: TaskRecord = {
    id: wire.id,
    state: wire.s[3],
    children: Array.isArray(wire.c) ? [...wire.c] : [],
    events: (Array.isArray(wire.ev) ? wire.ev : []).map((e) => JSON.parse(e[3]) as TaskRecordEvent),
    updated: Number(wire.u),
  };
  const target = record as unknown as Record<string, unknown>;
  for (const [field, stamp] of Object.entries(wire.f ?? {})) target[field] = JSON.parse(stamp[3]);
  if (record.runtime === undefined && record.started !== undefined) {
    const end = record.state === 'FAILURE' ? record.failed : record.state === 'REVOKED' ? record.revoked : undefined;
    if (end !== undefined && end >= record.started) record.runtime = end - record.started;
  }
  return record;
}

/** The name in an index entry (JSON text, empty when no event named the task yet). */
function indexedName(text: string): string | undefined {
  if (!text) return undefined;
  try {
    return String(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Task records kept in Redis under Radish's prefix, bounded in tasks and in events per task. */
export class TaskHistory {
  readonly maxTasks: number;
  readonly maxEventsPerTask: number;
  readonly maxChildrenPerTask: number;

  private readonly source: RedisSource;

  /**
   * @param redis a connection for commands (not one in subscriber mode), or a function that gives it on first use
   * (e.g. `async () => (await app.broker()).redis`). The history never closes it.
   */
  constructor(redis: RedisSource, readonly keys: Keys, options: TaskHistoryOptions = {}) {
    this.source = redis;
    this.maxTasks = positiveInt('maxTasks', options.maxTasks ?? HISTORY_DEFAULTS.maxTasks);
    this.maxEventsPerTask = positiveInt('maxEventsPerTask', options.maxEventsPerTask ?? HISTORY_DEFAULTS.maxEventsPerTask);
    this.maxChildrenPerTask = positiveInt('maxChildrenPerTask', options.maxChildrenPerTask ?? HISTORY_DEFAULTS.maxChildrenPerTask);
  }

  /** The command connection (resolved on first use when given as a function). */
  async connection(): Promise<Redis> {
    return typeof this.source === 'function' ? this.source() : this.source;
  }

  private get scriptKeys(): string[] {
    return [this.keys.history, this.keys.historyRecords, this.keys.historyIndex];
  }

  /**
   * Merge task events into the history, in one atomic script call (per 500 events). Events that are not task
   * events with an id, hostname and timestamp are ignored; events already recorded are skipped.
   */
  async record(events: readonly CeleryEvent[]): Promise<RecordOutcome> {
    const patches = events.filter(isTaskEvent).map(patchOf);
    const outcome: RecordOutcome = { added: 0, records: new Map() };
    for (let i = 0; i < patches.length; i += BATCH) {
      const reply = await scripts.historyRecord.run<(number | string)[]>(await this.connection(), this.scriptKeys,
        [this.maxTasks, this.maxEventsPerTask, this.maxChildrenPerTask, ...patches.slice(i, i + BATCH)]);
      outcome.added += Number(reply[0]);
      for (let j = 1; j + 1 < reply.length; j += 2) outcome.records.set(String(reply[j]), fromWire(String(reply[j + 1])));
    }
    return outcome;
  }

  /** One task's record, or null when the history has none. */
  async get(id: string): Promise<TaskRecord | null> {
    const raw = await (await this.connection()).hget(this.keys.historyRecords, id);
    return raw === null ? null : fromWire(raw);
  }

  /**
   * The records of `ids`, in their order, in one round trip; ids no longer in the history (trimmed) and records
   * this version cannot read are left out.
   */
  async load(ids: readonly string[]): Promise<TaskRecord[]> {
    if (ids.length === 0) return [];
    const raws = await (await this.connection()).hmget(this.keys.historyRecords, ...ids);
    const records: TaskRecord[] = [];
    for (const raw of raws) {
      if (raw === null) continue; // trimmed since the ids were read
      try {
        records.push(fromWire(raw));
      } catch {
        // Not written by this version's script: skipped rather than failing the page.
      }
    }
    return records;
  }

  /**
   * The ids of the newest `count` tasks, newest first, in one read: a list a long search can walk in chunks while
   * events keep moving tasks (reading by position chunk by chunk would see a task twice, or never).
   */
  async newest(count: number): Promise<string[]> {
    if (count < 1) return [];
    return (await this.connection()).zrevrange(this.keys.history, 0, Math.floor(count) - 1);
  }

  /**
   * The tasks whose latest event is later than `after` (unix seconds; `-Infinity` for any), newest first, at most
   * `max` of them, and the newest one's time: what changed since a view last searched, read without a scan.
   */
  async changedSince(after: number, max: number): Promise<{ ids: string[]; newest?: number }> {
    if (max < 1) return { ids: [] };
    const min = after === -Infinity ? '-inf' : `(${after}`;
    const flat = await (await this.connection()).zrevrangebyscore(this.keys.history, '+inf', min, 'WITHSCORES', 'LIMIT', 0, Math.floor(max));
    const ids: string[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(flat[i] as string);
    return flat.length ? { ids, newest: Number(flat[1]) } : { ids };
  }

  /** The small index entries of `ids` (state and name; `indexed: false` when the index has none yet), in their order. */
  async entries(ids: readonly string[]): Promise<IndexEntry[]> {
    if (ids.length === 0) return [];
    const entries = await (await this.connection()).hmget(this.keys.historyIndex, ...ids);
    return ids.map((id, i) => {
      const raw = entries[i];
      if (raw === null || raw === undefined) return { id, indexed: false };
      const tab = raw.indexOf('\t');
      return { id, state: raw.slice(0, tab), name: indexedName(raw.slice(tab + 1)), indexed: true };
    });
  }

  /** Tasks in the history (possibly more than `maxTasks` for a moment if another recorder keeps more). */
  async count(): Promise<number> {
    return (await this.connection()).zcard(this.keys.history);
  }

  /** Forget every task. */
  async clear(): Promise<void> {
    await (await this.connection()).del(this.keys.history, this.keys.historyRecords, this.keys.historyIndex);
  }

  /**
   * Records newest first (by their latest event). With a filter, the newest tasks are scanned in chunks (ids and
   * the small index entries only) until the page is full, and at most `maxTasks` tasks are looked at.
   */
  async recent(options: RecentOptions = {}): Promise<TaskRecord[]> {
    const offset = Math.max(0, Math.floor(options.offset ?? 0));
    const limit = Math.max(0, Math.floor(options.limit ?? 50));
    if (limit === 0) return [];
    const filter = options.filter ?? {};
    const name = filter.name?.toLowerCase() || undefined;
    const id = filter.id?.toLowerCase() || undefined;
    const state = filter.state?.toUpperCase() || undefined;
    const redis = await this.connection();
    let ids: string[];
    if (name === undefined && id === undefined && state === undefined) {
      ids = await redis.zrevrange(this.keys.history, offset, offset + limit - 1);
    } else {
      ids = await this.scan(redis, offset + limit, (taskId, entry) => {
        if (id !== undefined && !taskId.toLowerCase().includes(id)) return false;
        if (entry === undefined) return true;
        if (entry === null) return false;
        if (state !== undefined && entry.state !== state) return false;
        return name === undefined || (entry.name ?? '').toLowerCase().includes(name);
      }, name !== undefined || state !== undefined);
      ids = ids.slice(offset);
    }
    return this.load(ids);
  }

  /** Ids of the newest tasks that `match`, up to `wanted` of them, looking at no more than `maxTasks`. */
  private async scan(redis: Redis, wanted: number, match: (id: string, entry?: { state: string; name?: string } | null) => boolean,
    withIndex: boolean): Promise<string[]> {
    const found: string[] = [];
    for (let start = 0; start < this.maxTasks && found.length < wanted; start += SCAN_CHUNK) {
      const stop = Math.min(start + SCAN_CHUNK, this.maxTasks) - 1;
      const ids = await redis.zrevrange(this.keys.history, start, stop);
      if (ids.length === 0) break;
      const entries = withIndex ? await redis.hmget(this.keys.historyIndex, ...ids) : [];
      for (let i = 0; i < ids.length && found.length < wanted; i++) {
        const taskId = ids[i] as string;
        let entry: { state: string; name?: string } | null | undefined;
        if (withIndex) {
          const raw = entries[i];
          if (raw === null || raw === undefined) entry = null;
          else {
            const tab = raw.indexOf('\t');
            entry = { state: raw.slice(0, tab), name: indexedName(raw.slice(tab + 1)) };
          }
        }
        if (match(taskId, entry)) found.push(taskId);
      }
      if (ids.length < stop - start + 1) break;
    }
    return found;
  }
}
