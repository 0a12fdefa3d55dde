/**
 * What a Radish worker answers on Celery's remote-control channel (pidbox), so `celery inspect` / `celery control`
 * and Radish's `Control` treat it like a Celery worker. Each handler replies as Celery 5.2's worker does.
 */
import type { JsonObject } from '../protocol/message';
import { nok, ok, PidboxError, revokeArguments, revokeReply, signalName } from '../protocol/pidbox';
import { pyRepr } from '../protocol/pyrepr';
import type { TaskDefinition } from '../task';
import type { ControlHandlers } from './mailbox';
import { parseRate } from '../task';
import type { HeldJobs } from './jobs';
import type { PoolKind } from './pool';
import type { Job } from './recorder';
import { errorMessage } from '../errors';

/** A worker's facts as `inspect stats` and `active_queues` report them (`Worker.controlInfo()`). */
export interface WorkerControlInfo {
  pid: number;
  /** Unix seconds. */
  startedAt: number;
  /** The mailbox's Lamport clock (0 before it starts). */
  clock: number;
  prefetch: number;
  concurrency: number;
  queues: string[];
  /** Tasks started per name. */
  totals: Record<string, number>;
  /** Pool kind and the pids running tasks (the worker's own for `async`). */
  pool: { kind: PoolKind; pids: number[] };
  /** The worker's default time limits in seconds, 0 for none. */
  timeLimits: { soft: number; hard: number };
  /** Where the broker connection goes (null before start). */
  broker: { host: string | null; port: number | null; db: number; username: string | null; tls: boolean; visibilityTimeout: number | null };
}

/**
 * The worker as the handlers see it. The worker's module imports this one (to install the handlers), so this one
 * names no class of it: a narrow interface, which the Worker satisfies.
 */
export interface Controllable {
  readonly hostname: string;
  readonly app: { readonly taskNames: string[]; lookup(name: string): TaskDefinition | undefined };
  revoke(ids: readonly string[], options: { terminate?: boolean; signal?: NodeJS.Signals }): Promise<{ terminated: string[] }>;
  revokedIds(): string[];
  heldJobs(): HeldJobs;
  controlInfo(): WorkerControlInfo;
  setRateLimit(taskName: string, rate: string | number | null): void;
  setTimeLimits(taskName: string, limits: { soft: number | null; hard: number | null }): void;
  addConsumer(queue: string): boolean;
  cancelConsumer(queue: string): Promise<void>;
  resizePool(delta: number): number;
  requestShutdown(): void;
  /** The pid of the process running this task (a process-pool child, or the worker's own); null when not running. */
  taskPid(taskId: string): number | null;
  /** Start sending events (task events too); resolves false when task events were on already. */
  enableEvents(): Promise<boolean>;
  /** Stop sending task events; resolves false when they were off already. */
  disableEvents(): Promise<boolean>;
}

/** Celery's `Request.info()`: how inspect commands describe one task the worker holds. */
export interface RequestInfo {
  id: string;
  name: string;
  args: unknown[];
  kwargs: JsonObject;
  type: string;
  hostname: string;
  /** Unix seconds it started; null until it runs. */
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number; redelivered: true | null };
  worker_pid: number | null;
}

/** Celery 5.2's timer priority for ETA entries (`Consumer.apply_eta_task` is entered with priority 6). */
const ETA_TIMER_PRIORITY = 6;

/** What `registered` reports per task when no `taskinfoitems` are asked (Celery's DEFAULT_TASK_INFO_ITEMS). */
const DEFAULT_TASK_INFO_ITEMS = ['exchange', 'routing_key', 'rate_limit'];

/** Celery task attribute -> the Radish option it reads; attributes Radish has no notion of are simply absent. */
const TASK_ATTRIBUTES: Record<string, (def: TaskDefinition) => unknown> = {
  name: (def) => def.name,
  queue: (def) => def.options.queue,
  priority: (def) => def.options.priority,
  rate_limit: (def) => def.options.rateLimit,
  time_limit: (def) => def.options.timeLimit,
  soft_time_limit: (def) => def.options.softTimeLimit,
  acks_late: (def) => def.options.acksLate,
  ignore_result: (def) => def.options.ignoreResult,
  max_retries: (def) => def.options.maxRetries,
  default_retry_delay: (def) => def.options.defaultRetryDelay,
};

/** Python's `str()` of an attribute value, as Celery prints it in `registered` (`True`, `10/s`). */
function attributeStr(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  return String(value);
}

/** Python's `datetime.isoformat()` of an aware UTC datetime: microseconds only when not zero. */
export function pyIsoformat(date: Date): string {
  const ms = date.getUTCMilliseconds();
  const base = date.toISOString().slice(0, 19);
  return `${base}${ms ? '.' + String(ms * 1000).padStart(6, '0') : ''}+00:00`;
}

/** One held job as Celery's `Request.info()` describes it. */
export function requestInfo(job: Readonly<Job>, hostname: string, workerPid: number | null): RequestInfo {
  const { msg } = job;
  return {
    id: msg.id,
    name: msg.name,
    args: msg.args,
    kwargs: msg.kwargs,
    type: msg.name,
    hostname,
    time_start: job.started ?? null,
    // Radish acks late by default, so a running task is usually not acknowledged yet (Celery's capture, made with
    // early acks, says true).
    acknowledged: job.acked === true,
    delivery_info: {
      exchange: msg.exchange,
      routing_key: msg.routingKey || job.delivery.queue,
      priority: msg.priority,
      // kombu's Redis transport leaves `redelivered` unset (null) on a first delivery.
      redelivered: msg.redelivered ? true : null,
    },
    worker_pid: job.started === undefined ? null : workerPid,
  };
}

/** Celery's `registered` entry: the name, then ` [attr=value ...]` for the asked attributes that are set. */
function taskInfo(def: TaskDefinition, items: readonly string[]): string {
  const fields = items.flatMap((item) => {
    const value = TASK_ATTRIBUTES[item]?.(def);
    return value === undefined || value === null ? [] : [`${item}=${attributeStr(value)}`];
  });
  return fields.length ? `${def.name} [${fields.join(' ')}]` : def.name;
}

/** kombu's `Queue.as_dict(recurse=True)` for a queue as Celery declares it (direct exchange of the same name). */
export function queueInfo(name: string): JsonObject {
  return {
    name,
    exchange: {
      name, type: 'direct', arguments: null, durable: true, passive: false, auto_delete: false, delivery_mode: null,
      no_declare: false,
    },
    routing_key: name, queue_arguments: null, binding_arguments: null, consumer_arguments: null, durable: true,
    exclusive: false, auto_delete: false, no_ack: false, alias: null, bindings: [], no_declare: null, expires: null,
    message_ttl: null, max_length: null, max_length_bytes: null, max_priority: null,
  };
}

/** Celery's `stats` reply, with the keys Flower reads: total, pid, clock, uptime, pool, broker, prefetch_count, rusage. */
export function statsReply(info: WorkerControlInfo, now = Date.now() / 1000): JsonObject {
  const usage = process.resourceUsage();
  const { broker, pool } = info;
  return {
    total: info.totals,
    pid: info.pid,
    clock: String(info.clock),
    uptime: Math.round(now - info.startedAt),
    pool: {
      'max-concurrency': info.concurrency,
      processes: pool.pids,
      'max-tasks-per-child': 'N/A',
      'put-guarded-by-semaphore': false,
      timeouts: [info.timeLimits.soft, info.timeLimits.hard],
      // Not Celery's: says which Radish pool runs the tasks (Celery tools ignore keys they do not know).
      implementation: `radish:${pool.kind}`,
    },
    // As Celery's consumer reports its connection: kombu's `Connection.info()` without the password.
    broker: {
      hostname: broker.host, userid: broker.username, virtual_host: String(broker.db), port: broker.port, insist: false,
      ssl: broker.tls, transport: 'redis', connect_timeout: 4,
      transport_options: broker.visibilityTimeout === null ? {} : { visibility_timeout: broker.visibilityTimeout },
      login_method: null, uri_prefix: null, heartbeat: null, failover_strategy: 'round-robin', alternates: [],
    },
    prefetch_count: info.prefetch,
    // getrusage(RUSAGE_SELF) in Python's units: seconds of CPU, kilobytes of RSS, counts.
    rusage: {
      utime: usage.userCPUTime / 1e6, stime: usage.systemCPUTime / 1e6, maxrss: usage.maxRSS,
      ixrss: usage.sharedMemorySize, idrss: usage.unsharedDataSize, isrss: usage.unsharedStackSize,
      minflt: usage.minorPageFault, majflt: usage.majorPageFault, nswap: usage.swappedOut,
      inblock: usage.fsRead, oublock: usage.fsWrite, msgsnd: usage.ipcSent, msgrcv: usage.ipcReceived,
      nsignals: usage.signalsCount, nvcsw: usage.voluntaryContextSwitches, nivcsw: usage.involuntaryContextSwitches,
    },
  };
}

/** Task ids as `query_task` takes them: a list, or one id. */
function idsArgument(args: JsonObject): Set<string> {
  const raw = args.ids ?? args.id ?? [];
  const ids = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new PidboxError('ids must be a list of task ids');
  return new Set(ids);
}

/** A string argument the command needs (`task_name`, `queue`); a clear error when it is missing. */
function stringArgument(args: JsonObject, name: string): string {
  const value = args[name];
  if (typeof value !== 'string' || value === '') throw new PidboxError(`${name} must be a non-empty string`);
  return value;
}

/** A time limit in seconds, or null (none), as `time_limit` takes `soft` and `hard`. */
function secondsArgument(args: JsonObject, name: string): number | null {
  const value = args[name] ?? null;
  if (value !== null && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
    throw new PidboxError(`${name} must be a number of seconds >= 0, or null`);
  }
  return value;
}

/** `n` of pool_grow/pool_shrink: a whole number, default 1 (Celery's). */
function countArgument(args: JsonObject): number {
  const n = args.n ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new PidboxError('n must be a whole number >= 0');
  return n;
}

/**
 * pool_grow/pool_shrink. Both pools resize (never below 1). Where Celery's prefork refuses to shrink when every
 * process is busy, Radish retires busy children as their tasks end, so the reply is always Celery's `ok`.
 */
function resize(worker: Controllable, delta: number, done: string): { ok: string } {
  worker.resizePool(delta);
  return ok(done);
}

export function controlHandlers(worker: Controllable): ControlHandlers {
  const info = (job: Readonly<Job>, pid: number | null = null): RequestInfo => requestInfo(job, worker.hostname, pid);
  /** A running task as Celery describes it, with the pid of the process it runs in (a child's, in the process pool). */
  const activeInfo = (job: Readonly<Job>): RequestInfo => info(job, worker.taskPid(job.msg.id));
  return {
    ping: () => ok('pong'),
    revoke: async (args: JsonObject) => {
      const { ids, terminate, signal } = revokeArguments(args);
      const { terminated } = await worker.revoke(ids, { terminate, signal: signalName(signal) });
      return terminate ? revokeReply(ids, terminated) : revokeReply(ids);
    },
    revoked: () => worker.revokedIds(),
    active: () => worker.heldJobs().active.map(activeInfo),
    // As Celery: waiting for a slot (or a rate limit's turn), not running and not an ETA wait.
    reserved: () => worker.heldJobs().reserved.map((job) => info(job)),
    scheduled: () => worker.heldJobs().scheduled.map((job) => ({
      eta: job.msg.eta ? pyIsoformat(job.msg.eta) : null,
      priority: ETA_TIMER_PRIORITY,
      request: info(job),
    })),
    registered: (args: JsonObject) => {
      const asked = Array.isArray(args.taskinfoitems) ? args.taskinfoitems.filter((i): i is string => typeof i === 'string') : [];
      const items = asked.length ? asked : DEFAULT_TASK_INFO_ITEMS;
      // Celery hides its own `celery.*` tasks unless `builtins` is asked for.
      const names = worker.app.taskNames.filter((name) => args.builtins === true || !name.startsWith('celery.'));
      return names.flatMap((name) => {
        const def = worker.app.lookup(name);
        return def ? [taskInfo(def, items)] : [];
      });
    },
    stats: () => statsReply(worker.controlInfo()),
    // {id: [state, request]} for the asked ids held here. Celery 5.2 says 'active' or 'reserved' and does not find
    // ETA waits at all (they join its request table only when due); Radish lists those as 'scheduled'.
    query_task: (args: JsonObject) => {
      const wanted = idsArgument(args);
      const { active, reserved, scheduled } = worker.heldJobs();
      const found: Record<string, [string, RequestInfo]> = {};
      const add = (state: string, jobs: readonly Readonly<Job>[], describe: (job: Readonly<Job>) => RequestInfo) => {
        for (const job of jobs) if (wanted.has(job.msg.id)) found[job.msg.id] = [state, describe(job)];
      };
      add('scheduled', scheduled, info);
      add('reserved', reserved, info);
      add('active', active, activeInfo);
      return found;
    },
    active_queues: () => worker.controlInfo().queues.map(queueInfo),
    // Celery validates the rate before it looks up the task, and words a bad one as `repr()` of the ValueError.
    rate_limit: (args: JsonObject) => {
      const rate = args.rate_limit ?? null;
      if (rate !== null && typeof rate !== 'string' && typeof rate !== 'number') {
        return nok(`Invalid rate limit string: ValueError(${pyRepr(`invalid rate limit ${JSON.stringify(rate)}`)})`);
      }
      try {
        parseRate(rate ?? 0);
      } catch (err) {
        return nok(`Invalid rate limit string: ValueError(${pyRepr(errorMessage(err))})`);
      }
      const name = args.task_name;
      if (typeof name !== 'string' || !worker.app.lookup(name)) return nok('unknown task');
      worker.setRateLimit(name, rate);
      return ok(rate === null || rate === '' || parseRate(rate) === 0 ? 'rate limit disabled successfully' : 'new rate limit set successfully');
    },
    time_limit: (args: JsonObject) => {
      const name = args.task_name;
      if (typeof name !== 'string' || !worker.app.lookup(name)) return nok('unknown task');
      worker.setTimeLimits(name, { soft: secondsArgument(args, 'soft'), hard: secondsArgument(args, 'hard') });
      return ok('time limits set successfully');
    },
    // Celery 5.2 replies `add consumer <q>` whether or not it consumed the queue already (it only logs that).
    add_consumer: (args: JsonObject) => {
      const queue = stringArgument(args, 'queue');
      worker.addConsumer(queue);
      return ok(`add consumer ${queue}`);
    },
    cancel_consumer: async (args: JsonObject) => {
      const queue = stringArgument(args, 'queue');
      await worker.cancelConsumer(queue);
      return ok(`no longer consuming from ${queue}`);
    },
    pool_grow: (args: JsonObject) => resize(worker, countArgument(args), 'pool will grow'),
    pool_shrink: (args: JsonObject) => resize(worker, -countArgument(args), 'pool will shrink'),
    // Celery 5.2's words; "already" when there was nothing to change.
    enable_events: async () => ok(await worker.enableEvents() ? 'task events enabled' : 'task events already enabled'),
    disable_events: async () => ok(await worker.disableEvents() ? 'task events disabled' : 'task events already disabled'),
    // Celery 5.2 raises WorkerShutdown here and sends no reply; Radish answers, so its Control need not wait out the
    // timeout to learn that the node heard it.
    shutdown: () => {
      worker.requestShutdown();
      return ok('shutting down');
    },
  };
}
