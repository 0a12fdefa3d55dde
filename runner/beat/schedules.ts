/**
 * The schedules of `radish beat` as other processes see them (the VS Code extension, `radish schedules`): the
 * active scheduler publishes its schedule definitions to the shared store (Redis), and anyone can list them with
 * their next and last run, pause and resume them, or send one now.
 *
 * Keys (runner/broker/keys.ts): `radish.beat.schedules` (name -> definition JSON, replaced whole by each active
 * scheduler when it takes the lock and every `publishInterval`), `radish.beat.paused` (name -> when paused, ms),
 * `radish.beat.anchor` (name -> when first seen or last resumed, ms), beside beat's own `radish.beat.last_run`.
 *
 * Pause is a flag in the shared store, so it binds every scheduler: the active one, a standby taking over, one
 * started later. A scheduler checks it in the same script that claims a tick (beat_claim.lua), so no tick is sent once
 * a pause has returned. Ticks due while paused are skipped, not saved up: on resume the schedule counts from the
 * resume time (an interval's next tick is one interval after it; a crontab's is its next match after it), as
 * Sidekiq-cron and django-celery-beat do on re-enabling. Run Now is a plain send of the schedule's task with its
 * args, kwargs, queue and options: it is not a tick and moves no last run.
 */
import type { Radish, ScheduleEntry } from '../app';
import { scripts } from '../broker/scripts';
import type { SharedStore } from '../broker/shared-store';
import type { JsonObject } from '../protocol/json';
import { nextDue, parseTiming, type Timing } from '../schedule';

/** Send options of a published schedule beside its queue and priority: those that mean the same in every process. */
export interface PublishedOptions {
  /** Seconds after the send before it may run. */
  countdown?: number;
  /** Seconds after the send after which it is revoked instead of run. */
  expires?: number;
  timeLimit?: number;
  softTimeLimit?: number;
  ignoreResult?: boolean;
  stamps?: JsonObject;
}

/** A schedule as the active `radish beat` publishes it. */
export interface PublishedSchedule {
  name: string;
  task: string;
  args: unknown[];
  kwargs: JsonObject;
  /** The queue it is sent to: its options', else the beat app's routes', else the default queue. */
  queue: string;
  /** Its priority, resolved the same way. */
  priority: number;
  options: PublishedOptions;
  /** Seconds between runs (exactly one of `every` and `cron`). */
  every?: number;
  /** 5-field crontab expression, UTC. */
  cron?: string;
  /** When it was published (ms since the epoch). */
  publishedAt: number;
  /** Which scheduler published it (`host:pid`). */
  publishedBy: string;
}

/** A published schedule with its run times and state, as {@link listSchedules} reads them. */
export interface ScheduleState extends PublishedSchedule {
  /** The due time of its last tick (ms); undefined when no tick was sent yet. */
  lastRun?: number;
  /** When it is next due (ms); undefined while paused. In the past when no scheduler runs (it is sent once one does). */
  nextRun?: number;
  /** When it was paused (ms); undefined when active. */
  pausedAt?: number;
}

export interface ScheduleListing {
  /** Published schedules, by name. */
  schedules: ScheduleState[];
  /** The active scheduler (`host:pid`), or undefined when no `radish beat` holds the lock. */
  activeBeat?: string;
}

/** A schedule name that no `radish beat` published. */
export class UnknownScheduleError extends Error {
  override readonly name = 'UnknownScheduleError';
}

/** A scheduler's lock token (`host:pid:uuid`) without its random part. */
export function beatOwner(token: string): string {
  return token.replace(/:[^:]*$/, '');
}

/** "every 30 s", "every 1.5 s", "cron 0 * * * * (UTC)": a schedule's timing in words. */
export function describeTiming(s: { every?: number; cron?: string }): string {
  if (s.cron !== undefined) return `cron ${s.cron} (UTC)`;
  const every = s.every ?? 0;
  if (every >= 3600 && every % 3600 === 0) return `every ${every / 3600} h`;
  if (every >= 60 && every % 60 === 0) return `every ${every / 60} min`;
  return `every ${every} s`;
}

/** The timing of a published schedule (throws on a malformed record). */
export function timingOf(s: { every?: number; cron?: string }): Timing {
  return parseTiming(s.cron !== undefined ? { cron: s.cron } : { every: s.every });
}

/** The definition `radish beat` publishes for one of its app's schedules. */
export function publishedSchedule(app: Radish, entry: ScheduleEntry, publishedBy: string, now: number): PublishedSchedule {
  const o = entry.options ?? {};
  const { queue, priority } = app.route(entry.task, o);
  const options: PublishedOptions = {};
  if (o.countdown !== undefined) options.countdown = o.countdown;
  // An expiry as a date makes no sense for a task sent again and again: only the relative one is kept.
  if (typeof o.expires === 'number') options.expires = o.expires;
  if (o.timeLimit !== undefined) options.timeLimit = o.timeLimit;
  if (o.softTimeLimit !== undefined) options.softTimeLimit = o.softTimeLimit;
  if (o.ignoreResult !== undefined) options.ignoreResult = o.ignoreResult;
  if (o.stamps !== undefined) options.stamps = o.stamps;
  const timing = entry.timing.kind === 'interval' ? { every: entry.timing.ms / 1000 } : { cron: entry.timing.crontab.expr };
  return {
    name: entry.name, task: entry.task, args: entry.args ?? [], kwargs: entry.kwargs ?? {}, queue, priority, options,
    ...timing, publishedAt: now, publishedBy,
  };
}

/** Replace the published schedules with the app's (one transaction: a reader sees the old set or the new one). */
export async function publishSchedules(app: Radish, store: SharedStore, publishedBy: string, now: number): Promise<void> {
  const tx = store.redis.multi().del(store.keys.beatSchedules);
  const fields = app.schedules.flatMap((e) => [e.name, JSON.stringify(publishedSchedule(app, e, publishedBy, now))]);
  if (fields.length) tx.hset(store.keys.beatSchedules, ...fields);
  const replies = await tx.exec();
  const failed = replies?.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
}

function readRecord(name: string, json: string): PublishedSchedule | undefined {
  try {
    const record = JSON.parse(json) as PublishedSchedule;
    if (typeof record.task !== 'string') return undefined;
    timingOf(record);
    return { ...record, name };
  } catch {
    return undefined; // written by something else: left out of the list rather than failing it
  }
}

async function store(app: Radish): Promise<SharedStore> {
  return app.requireSharedStore('radish beat\'s schedules');
}

/**
 * Every published schedule with its last and next run and whether it is paused, and the active scheduler.
 * @param now the clock for next runs (default `Date.now()`).
 */
export async function listSchedules(app: Radish, now = Date.now()): Promise<ScheduleListing> {
  const { redis, keys } = await store(app);
  const [published, lastRuns, paused, anchors, lock] = await Promise.all([
    redis.hgetall(keys.beatSchedules), redis.hgetall(keys.beatLastRun), redis.hgetall(keys.beatPaused),
    redis.hgetall(keys.beatAnchor), redis.get(keys.beatLock),
  ]);
  const num = (text: string | undefined) => (text === undefined || text === '' || !Number.isFinite(Number(text)) ? undefined : Number(text));
  const schedules: ScheduleState[] = [];
  for (const [name, json] of Object.entries(published)) {
    const record = readRecord(name, json);
    if (!record) continue;
    const state: ScheduleState = { ...record };
    const [last, pausedAt, anchor] = [num(lastRuns[name]), num(paused[name]), num(anchors[name])];
    // A last run equal to the anchor is where the first scheduler that saw it started counting, not a run.
    if (last !== undefined && last !== anchor) state.lastRun = last;
    if (pausedAt !== undefined) state.pausedAt = pausedAt;
    else state.nextRun = nextDue(timingOf(record), Math.max(last ?? now, anchor ?? -Infinity));
    schedules.push(state);
  }
  schedules.sort((a, b) => a.name.localeCompare(b.name));
  return lock ? { schedules, activeBeat: beatOwner(lock) } : { schedules };
}

async function published(app: Radish, name: string): Promise<PublishedSchedule> {
  const { redis, keys } = await store(app);
  const json = await redis.hget(keys.beatSchedules, name);
  const record = json === null ? undefined : readRecord(name, json);
  if (record) return record;
  const known = Object.keys(await redis.hgetall(keys.beatSchedules)).sort();
  throw new UnknownScheduleError(`no schedule named ${JSON.stringify(name)} was published by radish beat${known.length ? ` (published: ${known.join(', ')})` : ' (none is: start radish beat -A MODULE)'}`);
}

/**
 * Pause a published schedule for every scheduler; resolves false when it was paused already.
 * Throws {@link UnknownScheduleError} when no `radish beat` published it.
 */
export async function pauseSchedule(app: Radish, name: string, now = Date.now()): Promise<boolean> {
  await published(app, name);
  const { redis, keys } = await store(app);
  return (await redis.hsetnx(keys.beatPaused, name, String(now))) === 1;
}

/**
 * Resume a paused schedule: its next tick is counted from `now` (default `Date.now()`), the ticks due meanwhile are
 * not sent. Resolves false when it was not paused. Throws {@link UnknownScheduleError} for an unpublished name.
 */
export async function resumeSchedule(app: Radish, name: string, now = Date.now()): Promise<boolean> {
  await published(app, name);
  const { redis, keys } = await store(app);
  return (await scripts.beatResume.run<number>(redis, [keys.beatPaused, keys.beatAnchor, keys.beatLastRun], [name, now])) === 1;
}

/**
 * Send a published schedule's task now, with its args, kwargs, queue, priority and options (paused or not): a plain
 * send, not a tick, so its last and next run stay as they are. Resolves with the task id and where it went.
 */
export async function runScheduleNow(app: Radish, name: string): Promise<{ id: string; task: string; queue: string }> {
  const s = await published(app, name);
  const result = await app.send(s.task, s.args, s.kwargs, { ...s.options, queue: s.queue, priority: s.priority });
  return { id: result.id, task: s.task, queue: s.queue };
}
