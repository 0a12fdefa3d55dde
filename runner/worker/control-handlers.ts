/**
 * What a Radish worker answers on Celery's remote-control channel (pidbox), so `celery inspect` / `celery control`,
 * Flower, a starting Celery worker's mingle and Radish's `Control` treat it like a Celery worker. Each handler
 * replies as Celery's worker does; where Celery 5.3 reworded a reply, as the Celery version the worker is set to
 * (`celeryVersion`, see runner/protocol/pidbox-commands.ts).
 */
import { arch, release, type as osType } from 'node:os';
import type { BackendOptions } from '../backend/backend';
import type { BrokerConnectionInfo, BrokerOptions } from '../broker/transport';
import { matchStamps, RevokedStamps } from '../broker/revoked';
import type { Logger } from '../log';
import type { JsonObject, TaskMessage } from '../protocol/message';
import { messageStamps } from '../protocol/message-decode';
import { nok, ok, PidboxError, revokeArguments, signalName } from '../protocol/pidbox';
import {
  bugreport, confReply, helloArguments, helloReply, monotonicSeconds, replyStyle, revokeReplyAs, stampedRevokeArguments,
  stampedRevokeReply, withDefaultsArgument, type ReplyStyle, type Setting,
} from '../protocol/pidbox-commands';
import { pyRepr } from '../protocol/pyrepr';
import type { TaskDefinition } from '../task';
import { VERSION } from '../version';
import type { ControlHandlers } from './mailbox';
import { parseRate } from '../task';
import type { HeldJobs } from './jobs';
import { compileOptions, type CompiledWorkerOptions, type WorkerOptions } from './options';
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
  broker: BrokerConnectionInfo | null;
}

/**
 * The worker as the handlers see it. The worker's module imports this one (to install the handlers), so this one
 * names no class of it: a narrow interface, which the Worker satisfies.
 */
export interface Controllable {
  readonly hostname: string;
  /** The options the worker was made with (`conf` and `report` read them; `celeryVersion` picks the wording). */
  readonly options: WorkerOptions;
  readonly logger: Logger;
  readonly app: {
    readonly taskNames: string[];
    lookup(name: string): TaskDefinition | undefined;
    readonly defaultQueue: string;
    readonly brokerOptions: BrokerOptions;
    readonly backendOptions: BackendOptions;
    readonly options: { readonly sendEvents?: boolean };
  };
  /**
   * The worker's `task-received` event (emitted for every task taken, before its revoke check): the handlers revoke
   * there the tasks stamped with a revoked header.
   */
  on(event: 'task-received', listener: (id: string, msg: TaskMessage) => void): unknown;
  /**
   * Send a worker-heartbeat event now, if the worker sends events (the `heartbeat` command). Optional: without it
   * the command is answered and nothing is sent.
   */
  sendHeartbeat?(): Promise<void>;
  revoke(ids: readonly string[], options: { terminate?: boolean; signal?: NodeJS.Signals }): Promise<{ terminated: string[] }>;
  revokedIds(): string[];
  heldJobs(): HeldJobs;
  controlInfo(): WorkerControlInfo;
  setRateLimit(taskName: string, rate: string | number | null): void;
  setTimeLimits(taskName: string, limits: { soft: number | null; hard: number | null }): void;
  addConsumer(queue: string): boolean;
  cancelConsumer(queue: string): Promise<void>;
  /** A queue paused or resumed for the whole fleet; resolves once nothing more is taken from a paused one. */
  setQueuePaused(queue: string, paused: boolean): Promise<boolean>;
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
  /** `redelivered`: true or false from Celery 5.3 on; true or null (kombu leaves it unset) before. */
  delivery_info: { exchange: string; routing_key: string; priority: number; redelivered: boolean | null };
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

/** One held job as Celery's `Request.info()` describes it, in a Celery version's style (default 5.2's). */
export function requestInfo(job: Readonly<Job>, hostname: string, workerPid: number | null, style: ReplyStyle = '5.2'): RequestInfo {
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
      // Celery 5.3+ says false on a first delivery; before, kombu's Redis transport left it unset (null).
      redelivered: msg.redelivered ? true : style === '5.3' ? false : null,
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

/**
 * Celery's `stats` reply, with the keys Flower reads: total, pid, clock, uptime, pool, broker, prefetch_count, rusage.
 * In Celery 5.3+'s style `pool.implementation` comes first and `broker` ends with `credential_provider`.
 */
export function statsReply(info: WorkerControlInfo, now = Date.now() / 1000, style: ReplyStyle = '5.2'): JsonObject {
  const usage = process.resourceUsage();
  const { broker, pool } = info;
  // Celery 5.3+ names its pool class here; Radish names its pool (before 5.3 last, where Celery tools ignore it).
  const implementation = `radish:${pool.kind}`;
  return {
    total: info.totals,
    pid: info.pid,
    clock: String(info.clock),
    uptime: Math.round(now - info.startedAt),
    pool: {
      ...(style === '5.3' ? { implementation } : {}),
      'max-concurrency': info.concurrency,
      processes: pool.pids,
      'max-tasks-per-child': 'N/A',
      'put-guarded-by-semaphore': false,
      timeouts: [info.timeLimits.soft, info.timeLimits.hard],
      ...(style === '5.3' ? {} : { implementation }),
    },
    // As Celery's consumer reports its connection: kombu's `Connection.info()` without the password.
    broker: {
      hostname: broker?.hostname ?? null, userid: broker?.userid ?? null, virtual_host: broker?.virtual_host ?? '0', port: broker?.port ?? null, insist: false,
      ssl: broker?.ssl ?? false, transport: broker?.transport ?? 'redis', connect_timeout: 4,
      transport_options: broker?.transport_options ?? {},
      login_method: broker?.transport === 'amqp' ? 'AMQPLAIN' : null, uri_prefix: null, heartbeat: broker?.heartbeat ?? null, failover_strategy: 'round-robin', alternates: [],
      ...(style === '5.3' ? { credential_provider: null } : {}),
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

/**
 * The worker's command table. Also starts watching the worker's `task-received` event, where a task stamped with a
 * header revoked by `revoke_by_stamped_headers` is revoked before the worker checks it (so it is discarded as
 * REVOKED): call it once per worker.
 */
export function controlHandlers(worker: Controllable): ControlHandlers {
  const config = compileOptions(worker.options, worker.app.defaultQueue);
  const style = replyStyle(config.celeryVersion);
  const info = (job: Readonly<Job>, pid: number | null = null): RequestInfo => requestInfo(job, worker.hostname, pid, style);
  /** A running task as Celery describes it, with the pid of the process it runs in (a child's, in the process pool). */
  const activeInfo = (job: Readonly<Job>): RequestInfo => info(job, worker.taskPid(job.msg.id));
  const revokedStamps = new RevokedStamps();
  worker.on('task-received', (id, msg) => {
    const hit = revokedStamps.match(messageStamps(msg));
    if (!hit) return;
    worker.logger.log('info', `Task ${msg.name}[${id}] revoked by stamped header ${pyRepr({ [hit.header]: hit.value })}`);
    // Revoked by id: Worker.revoke() records the id in memory before it first waits, so the worker's own check,
    // right after this event, discards the task as REVOKED (and a redelivery of it later too).
    worker.revoke([id], {}).catch((err: unknown) =>
      worker.logger.log('error', `Could not revoke ${msg.name}[${id}] by its stamps: ${errorMessage(err)}`));
  });
  const conf = (args: JsonObject): JsonObject => confReply(settingsOf(worker, config), withDefaultsArgument(args));
  return {
    ping: () => ok('pong'),
    revoke: async (args: JsonObject) => {
      const { ids, terminate, signal } = revokeArguments(args);
      const { terminated } = await worker.revoke(ids, { terminate, signal: signalName(signal) });
      return revokeReplyAs(style, ids, terminate ? terminated : undefined);
    },
    // Celery 5.3+. Celery revokes a held task stamped so when it would start; Radish revokes those already held now
    // (by id), and later ones as they arrive (above). With terminate, running ones that carry a requested stamp stop.
    revoke_by_stamped_headers: async (args: JsonObject) => {
      const { headers, terminate, signal } = stampedRevokeArguments(args);
      // As Celery: a bad signal is refused before anything is recorded.
      const signum = signalName(signal);
      revokedStamps.add(headers);
      const { active, reserved, scheduled } = worker.heldJobs();
      const stamped = (job: Readonly<Job>): Map<string, unknown[]> => matchStamps(messageStamps(job.msg), headers);
      const waiting = [...reserved, ...scheduled].filter((job) => stamped(job).size > 0).map((job) => job.msg.id);
      if (waiting.length) await worker.revoke(waiting, {});
      if (!terminate) return stampedRevokeReply(headers);
      const terminated = new Map<string, unknown[]>();
      const running: string[] = [];
      for (const job of active) {
        const matched = stamped(job);
        if (matched.size === 0) continue;
        running.push(job.msg.id);
        for (const [name, values] of matched) {
          const seen = terminated.get(name) ?? [];
          terminated.set(name, [...seen, ...values.filter((v) => !seen.includes(v))]);
        }
      }
      if (running.length) await worker.revoke(running, { terminate: true, signal: signum });
      return stampedRevokeReply(headers, terminated);
    },
    revoked: () => worker.revokedIds(),
    // A starting Celery worker's mingle: it sends its revoked ids, takes ours and our clock. Its own hello: null.
    hello: async (args: JsonObject) => {
      const { fromNode, revoked } = helloArguments(args);
      if (fromNode === worker.hostname) return null;
      worker.logger.log('info', `sync with ${fromNode}`);
      if (revoked.length) await worker.revoke(revoked, {});
      return helloReply(worker.revokedIds(), worker.controlInfo().clock, monotonicSeconds());
    },
    // `celery events` asks for a heartbeat at once; Celery replies nothing (null).
    heartbeat: async () => {
      worker.logger.log('debug', 'Heartbeat requested by remote.');
      await worker.sendHeartbeat?.();
      return null;
    },
    report: () => ok(bugreport({
      software: `radish:${VERSION} node:${process.versions.node} celery-compat:${config.celeryVersion}`,
      platform: { system: osType(), arch: arch(), kernel: release(), implementation: 'Node.js' },
      loader: 'radish', transport: 'redis', results: worker.app.backendOptions.url ?? '',
      settings: conf({}),
    })),
    conf,
    // Celery's older name for conf, still answered.
    dump_conf: conf,
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
    stats: () => statsReply(worker.controlInfo(), Date.now() / 1000, style),
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
    // Radish's own (runner/queue-control.ts sends it to Radish nodes only): a queue paused or resumed for the fleet.
    // The reply goes out once a paused queue is no longer fetched from, so the sender knows the pause holds.
    radish_queue_paused: async (args: JsonObject) => {
      const queue = stringArgument(args, 'queue');
      if (typeof args.paused !== 'boolean') throw new PidboxError('paused must be true or false');
      await worker.setQueuePaused(queue, args.paused);
      return ok(`queue ${queue} ${args.paused ? 'paused' : 'resumed'}`);
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

/**
 * The worker's configuration under Celery's setting names, with Celery's defaults (what `conf` leaves out unless
 * `with_defaults`): only settings Radish has a notion of.
 */
function settingsOf(worker: Controllable, config: CompiledWorkerOptions): Setting[] {
  const { app } = worker;
  const broker = app.brokerOptions;
  const backend = app.backendOptions;
  const transportOptions: JsonObject = {
    ...(broker.visibilityTimeout === undefined ? {} : { visibility_timeout: broker.visibilityTimeout }),
    ...(broker.keyPrefix === undefined ? {} : { global_keyprefix: broker.keyPrefix }),
  };
  const seconds = (n: number): number | null => (n > 0 ? n : null);
  return [
    { key: 'broker_url', value: broker.url ?? null, celeryDefault: null, always: true },
    { key: 'result_backend', value: backend.url ?? broker.url ?? null, celeryDefault: null, always: true },
    { key: 'broker_transport_options', value: transportOptions, celeryDefault: {} },
    { key: 'result_expires', value: backend.resultExpires ?? 86_400, celeryDefault: 86_400 },
    { key: 'accept_content', value: ['json'], celeryDefault: ['json'] },
    { key: 'task_serializer', value: 'json', celeryDefault: 'json' },
    { key: 'result_serializer', value: 'json', celeryDefault: 'json' },
    { key: 'event_serializer', value: 'json', celeryDefault: 'json' },
    { key: 'enable_utc', value: true, celeryDefault: true },
    { key: 'task_protocol', value: 2, celeryDefault: 2 },
    { key: 'task_default_queue', value: app.defaultQueue, celeryDefault: 'celery' },
    { key: 'task_send_sent_event', value: Boolean(app.options.sendEvents), celeryDefault: false },
    { key: 'task_acks_late', value: config.acksLate, celeryDefault: false },
    { key: 'task_track_started', value: config.trackStarted, celeryDefault: false },
    { key: 'task_time_limit', value: seconds(config.timeLimit), celeryDefault: null },
    { key: 'task_soft_time_limit', value: seconds(config.softTimeLimit), celeryDefault: null },
    { key: 'result_extended', value: config.resultExtended, celeryDefault: false },
    // Live: pool_grow/pool_shrink change it.
    { key: 'worker_concurrency', value: worker.controlInfo().concurrency, celeryDefault: null },
    { key: 'worker_prefetch_multiplier', value: config.prefetchMultiplier, celeryDefault: 4 },
    { key: 'worker_pool', value: config.pool.kind, celeryDefault: 'prefork' },
    { key: 'worker_send_task_events', value: config.events, celeryDefault: false },
  ];
}
