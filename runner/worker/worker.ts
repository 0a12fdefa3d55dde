/**
 * The worker: consumes queues with a prefetch limit, runs tasks in a pool with a concurrency limit, stores results
 * and acks after the task ends (unless a task asks for early acks). Bad messages never run, never stop the worker
 * and are never lost: they go to the dead-letter list with the reason. `stop()` is a warm shutdown that turns cold
 * after a timeout or when asked again.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import type { Radish } from '../app';
import type { ResultBackend } from '../backend/backend';
import type { Broker, Delivery } from '../broker/transport';
import { redactUrl } from '../broker/connection';
import { sharedStore, type SharedStore } from '../broker/shared-store';
import type { Logger } from '../log';
import { decodeTaskMessage, ProtocolError, type TaskMessage } from '../protocol/message';
import { errorMessage, type RevokeReason } from '../errors';
import type { TaskDefinition } from '../task';
import { VERSION } from '../version';
import { requestOf } from './execute';
import type { Pool } from './pool';
import { AsyncPool } from './pool-async';
import { controlHandlers, type WorkerControlInfo } from './control-handlers';
import { EventDispatcher, WorkerEvents } from './events';
import { Finisher } from './finisher';
import { JobBook, type HeldJobs, type LiveWorkerStats } from './jobs';
import { transition, type WorkerLifecycle } from './lifecycle';
import type { WorkerEventListeners } from './listener';
import { Mailbox } from './mailbox';
import { compileOptions, type CompiledWorkerOptions, type WorkerOptions } from './options';
import { isPresent, Presence, readPresence, type WorkerPresence } from '../broker/presence';
import { OutcomeRecorder, type Job } from './recorder';
import type { NewStyleErrbacks } from './chord';
import { exceptionInfo, exceptionRepr } from '../protocol/result';
import { RevokedStore } from '../broker/revoked';
import { parseRate } from '../task';
import { RateLimiter } from './rate-limit';
import { traceRun } from '../telemetry/index';
import { MetricsHistoryWriter } from './metrics-history';
import { startWorkerMetrics, type WorkerMetricsEndpoint } from './metrics-endpoint';
import { PausedQueues } from '../broker/paused-queues';

/** How often a worker reads the fleet's paused queues (a pause or resume broadcast it missed is applied by then). */
const PAUSED_SYNC_MS = 1000;

/** Seconds a message recorded as ours but not held here may be in flight to us (a reserve's reply) before it is put back. */
const STRAY_GRACE_SEC = 15;

export type { WorkerControlInfo } from './control-handlers';
export type { WorkerEventListeners } from './listener';
export type { WorkerOptions } from './options';

/**
 * The worker's EventEmitter methods, typed by {@link WorkerEventListeners}. Declared, not overridden: merged into the class,
 * so calls go straight to EventEmitter's own methods (a wrapper's rest array would cost an allocation per emit).
 */
export interface Worker {
  on<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): this;
  addListener<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): this;
  prependListener<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): this;
  once<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): this;
  prependOnceListener<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): this;
  off<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): this;
  removeListener<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): this;
  emit<K extends keyof WorkerEventListeners>(event: K, ...args: Parameters<WorkerEventListeners[K]>): boolean;
}

/**
 * Events (see {@link WorkerEventListeners}): `task-received`, `task-started`, `task-succeeded`, `task-failed`,
 * `task-retried`, `task-revoked`, `dead-letter` (all with the task id first), and `shutdown-requested` (no arguments;
 * remote control asked for a warm stop).
 */
export class Worker extends EventEmitter {
  readonly hostname: string;
  /** Queues consumed, in order; changed in place by `addConsumer`/`cancelConsumer` (presence reads it live). */
  readonly queues: string[];
  /** Tasks run at once; changed by `resizePool` (the async pool only). */
  private slots: number;
  readonly logger: Logger;
  /** The options with their defaults applied: what the worker reads (never `options`). */
  private readonly config: CompiledWorkerOptions;
  /** Celery's `origin` header of the messages this worker publishes (retries). */
  private readonly origin = `gen${process.pid}@${osHostname()}`;
  private broker!: Broker;
  private backend!: ResultBackend;
  private recorder!: OutcomeRecorder;
  /** Changed only by {@link moveTo}. */
  private state: WorkerLifecycle = 'created';
  /** What `start()` returns, from its first call on. */
  private started: Promise<void> | undefined;
  /** What `stop()` returns, from its first call after `start()` on. */
  private stopped: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  /** Every job held here, where it is, and the prefetch slots they take. */
  private readonly book = new JobBook((delta) => this.broker?.holdOutsidePrefetch(delta));
  private wakeFetcher: (() => void) | undefined;
  private readonly idle: (() => void)[] = [];
  private pool: Pool;
  private rotation = 0;
  private presence: Presence | undefined;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly limiters = new Map<string, RateLimiter | null>();
  /** Time limits set by the `time_limit` control command, by task name: they replace the task's own. */
  private readonly timeLimitOverrides = new Map<string, { soft: number | null; hard: number | null }>();
  /** Whether the fetch loop is in a fetch, and who waits for that fetch to end (`cancelConsumer`). */
  private fetching = false;
  private readonly fetchEnded: (() => void)[] = [];
  /**
   * Queues paused for the whole fleet (runner/queue-control.ts): left out of fetches, consumed again when resumed.
   * `pausedTurn` counts changes, so a periodic read that began before a broadcast's change does not undo it.
   */
  private readonly paused = new Set<string>();
  private pausedTurn = 0;
  private pausedTimer: NodeJS.Timeout | undefined;
  /** The last read of the paused queues failed (logged once, not every second). */
  private pausedReadFailed = false;
  /** A periodic read of the paused queues is under way: the next tick skips (reads must not pile up on a slow Redis). */
  private pausedSyncing = false;
  /** Pauses still waiting for the fetch under way to end, by queue: a second pause of one is confirmed after it. */
  private readonly pausing = new Map<string, Promise<void>>();
  /** Revoked ids, shared through Redis so they survive restarts and reach workers that start later. */
  private revokedStore: RevokedStore | undefined;
  /** Where Radish workers share presence and revokes (the Redis broker, or the Redis backend beside RabbitMQ). */
  private store: SharedStore | undefined;
  /** Writes the per-minute metrics history (runner/worker/metrics-history.ts), when on and there is a shared store. */
  private history: MetricsHistoryWriter | undefined;
  /** The Prometheus endpoint (runner/metrics/), when `metricsPort` is set. */
  private metricsEndpoint: WorkerMetricsEndpoint | undefined;
  private mailbox: Mailbox | undefined;
  private events: WorkerEvents | undefined;
  private connectionLost = false;
  /** This worker counts among the broker's consumers ({@link Broker.resume}): it leaves (interrupt) exactly once. */
  private consuming = false;
  private readonly startedAt = Date.now() / 1000;
  /** Tasks started per name since the worker started (Celery's `total` in `inspect stats`). */
  private readonly totals = new Map<string, number>();
  /** Outcome counters, and gauges (`active`, `reserved`, `scheduled`) read from what the worker holds. */
  readonly stats: LiveWorkerStats = this.book.stats;

  /** @param options as given (kept as such); the worker reads them compiled, with their defaults. */
  constructor(readonly app: Radish, readonly options: WorkerOptions = {}) {
    super();
    this.config = compileOptions(options, app.defaultQueue);
    this.hostname = this.config.hostname;
    this.queues = [...this.config.queues];
    this.slots = this.config.concurrency;
    this.logger = this.config.logger;
    this.pool = new AsyncPool(this.concurrency);
  }

  /** Tasks run at once. */
  get concurrency(): number {
    return this.slots;
  }

  /** The port the metrics endpoint listens on (the one picked for `metricsPort: 0`); undefined without one. */
  get metricsPort(): number | undefined {
    return this.metricsEndpoint?.port;
  }

  /** Messages held at most (concurrency * prefetch multiplier), as Celery's prefetch count. */
  get prefetch(): number {
    return this.slots * this.config.prefetchMultiplier;
  }

  private async createPool(): Promise<Pool> {
    const pool = this.config.pool;
    if (pool.kind !== 'process') return this.pool;
    // Loaded only when asked for: the async pool's workers never pay for it.
    const { ProcessPool } = await import('./pool-process');
    const debug = this.config.debug;
    if (debug) {
      this.logger.log('warning', 'Debug mode: tasks run one at a time in a task process that waits for a debugger; no time limits'
        + ' (soft or hard, the task\'s, the message\'s or the worker\'s), so a task paused at a breakpoint is not failed or killed;'
        + ' heartbeats go on from this process, so no other worker takes its task back');
    }
    return new ProcessPool({ concurrency: this.concurrency, module: pool.appModule, brokerUrl: this.app.brokerOptions.url, backendUrl: this.app.explicitBackendUrl, logger: this.logger, debug });
  }

  /**
   * New-style errbacks, as Celery's worker treats them: an errback that is a task of this worker whose function takes
   * more than one argument (or any number) is called here, through the pool, with `(request, exc, traceback)` and
   * the errback's own args after them; its return value is not stored. The others are sent with the failed id.
   */
  private newStyleErrbacks(): NewStyleErrbacks {
    return {
      isNewStyle: (errback) => {
        const def = this.app.lookup(errback.task);
        return def !== undefined && (def.params.rest || def.params.names.length > 1);
      },
      call: async (errback, request, exc, traceback) => {
        const def = this.app.lookup(errback.task);
        if (!def) return;
        const id = typeof errback.options?.task_id === 'string' && errback.options.task_id ? errback.options.task_id : randomUUID();
        const outcome = await this.pool.run({
          def,
          request: {
            // An immutable errback (`.si()`) keeps its own args, as Celery's call of the signature merges none in.
            id, task: def.name, args: errback.immutable ? errback.args ?? [] : [request, exc, traceback, ...(errback.args ?? [])], kwargs: errback.kwargs ?? {}, retries: 0,
            queue: request.queue, priority: 0, eta: null, expires: null, parentId: request.id, rootId: request.rootId,
            groupId: null, hostname: this.hostname, redelivered: false, properties: {},
          },
          softTimeLimit: null,
          timeLimit: null,
        });
        if (outcome.kind === 'failure') this.logger.log('error', `Errback ${def.name} of task ${request.id} raised: ${exceptionRepr(exceptionInfo(outcome.error))}`);
        else this.logger.log('info', `Errback ${def.name} of task ${request.id} called`);
      },
    };
  }

  /** The one place the lifecycle state changes; a move the lifecycle does not allow throws. */
  private moveTo(next: WorkerLifecycle): void {
    this.state = transition(this.state, next);
  }

  /**
   * Log a lost broker connection once, not per reconnection attempt, and its return once. Work issued meanwhile
   * (results, acks) waits for the connection and goes out when it is back.
   */
  private watchConnection(): void {
    this.broker.watch((change, reason) => {
      if (change === 'lost') {
        if (this.state !== 'running' || this.connectionLost) return;
        this.connectionLost = true;
        this.logger.log('warning', `consumer: Connection to broker lost${reason ? ` (${reason})` : ''}. Trying to re-establish the connection...`);
      } else if (this.connectionLost) {
        this.connectionLost = false;
        this.logger.log('info', `Connected to ${redactUrl(this.app.brokerOptions.url ?? '')} again`);
      }
    });
  }

  /**
   * Connect, restore what dead workers left, and start consuming. Resolves once the worker is consuming; rejects
   * (having closed whatever it had opened) when it cannot start. Idempotent; a stopped worker is not started again.
   */
  start(): Promise<void> {
    this.started ??= this.open().catch(async (err: unknown) => {
      await this.leaveBroker();
      await this.teardown().catch(() => undefined);
      this.moveTo('stopped');
      throw err;
    });
    return this.started;
  }

  private async open(): Promise<void> {
    this.moveTo('starting');
    this.broker = await this.app.broker();
    // An earlier worker on this app may have stopped, which ended the broker's waits: this one waits again.
    this.broker.resume();
    this.consuming = true;
    this.backend = await this.app.backend();
    this.recorder = new OutcomeRecorder({
      broker: this.broker, backend: this.backend, logger: this.logger, hostname: this.hostname, origin: this.origin,
      resultExtended: this.config.resultExtended, layout: this.config.layout, stats: this.stats, emit: this.emit.bind(this),
      route: (name) => this.app.route(name),
      errbacks: this.newStyleErrbacks(),
      ...finisherOf(Finisher.for(this.broker, this.backend)),
    });
    await this.broker.checkServer();
    this.broker.setPrefetch(this.prefetch);
    this.store = sharedStore(this.broker, this.backend);
    await this.claimName();
    this.pool = await this.createPool();
    await this.pool.start();
    this.watchConnection();
    if (this.config.restoreOnStart) {
      const restored = await this.broker.restoreVisible();
      if (restored) this.logger.log('info', `Restored ${restored} unacknowledged message(s) older than the visibility timeout`);
    }
    // What this name holds in Redis when the process starts was held by an earlier process of that name that died
    // (SIGKILL, OOM, power loss; claimName made sure no live one has it), and no live worker would restore it (this
    // process is about to refresh the name's presence). Put it all back now, whatever its unacked_index score: the
    // reserve scores in whole seconds rounded up, so what that process reserved in its last second looks newer than
    // now, and an age test would leave it to the stray check, 15-20 s later.
    await this.recover(null);
    this.revokedStore = new RevokedStore(this.store);
    await this.revokedStore.load();
    // Before the first fetch: a worker started while a queue is paused never takes from it.
    if (this.store) {
      const pausedStore = new PausedQueues(this.store);
      for (const queue of await pausedStore.names()) this.paused.add(queue);
      const idle = this.queues.filter((q) => this.paused.has(q));
      if (idle.length) this.logger.log('warning', `Paused for the fleet, not taken from until resumed: ${idle.join(', ')}`);
      this.pausedTimer = setInterval(() => void this.syncPaused(pausedStore), PAUSED_SYNC_MS);
      this.pausedTimer.unref();
    }
    this.presence = this.store && new Presence(this.store.redis, this.store.keys, () => ({
      hostname: this.hostname, host: osHostname(), pid: process.pid, queues: this.queues, concurrency: this.concurrency,
      pool: this.pool.kind, started: this.startedAt, processed: this.stats.processed, failed: this.stats.failed,
      sw_ident: 'radish', sw_ver: VERSION, tasks: this.app.taskNames,
      active: this.book.runningJobs().map((j) => {
        const pid = this.pool.pidOf(j.msg.id);
        return { id: j.msg.id, name: j.msg.name, started: j.started ?? 0, ...(pid === null ? {} : { pid }) };
      }),
    }));
    await this.presence?.start();
    const every = this.config.recoveryInterval;
    // Where the broker redelivers by itself (AMQP), there is nothing to recover or keep fresh.
    const visibility = this.broker.visibilityTimeout;
    if (every > 0 && visibility !== null) {
      this.recoveryTimer = setInterval(() => void this.recover(), every * 1000);
      this.recoveryTimer.unref();
    }
    // Keep the unacked_index score of every message held here fresh, so that no kombu consumer (a Python worker
    // included) takes a long ETA wait for a lost message and restores it in a loop: Celery's visibility trap.
    if (visibility !== null) {
      const refreshEvery = Math.max(1, Math.min(30, visibility / 3));
      this.refreshTimer = setInterval(() => void this.refreshHeld(), refreshEvery * 1000);
      this.refreshTimer.unref();
    }
    const store = this.revokedStore;
    this.mailbox = new Mailbox({
      hostname: this.hostname, fanout: this.broker.fanout, logger: this.logger, handlers: controlHandlers(this),
      // A revoke broadcast while the connection was down was missed; the shared store has it.
      onReconnect: async () => { await store.load(); },
    });
    const clock = this.mailbox.clock;
    // Made before the mailbox hears commands: enable_events may come at once (Flower sends it every few seconds).
    this.events = new WorkerEvents({
      emitter: this,
      createDispatcher: () => new EventDispatcher({
        fanout: this.broker.fanout, hostname: this.hostname, clock, load: () => ({ active: this.stats.active, processed: this.stats.processed }),
        onError: (err) => this.logger.log('warning', `An event could not be sent: ${err.message}`),
      }),
      log: (message) => this.logger.log('info', message),
    });
    await this.mailbox.start();
    if (this.config.events) await this.events.enable();
    const names = this.app.taskNames;
    this.logger.log('info', `Connected to ${redactUrl(this.app.brokerOptions.url ?? '')}`);
    this.logger.log('info', `${this.hostname} ready. queues: ${this.queues.join(', ')}; concurrency: ${this.concurrency}; tasks: ${names.length ? names.join(', ') : '(none)'}`);
    const historyConfig = this.config.metricsHistory;
    if (historyConfig && this.store) {
      this.history = new MetricsHistoryWriter({
        store: this.store, broker: this.broker, hostname: this.hostname, queues: () => this.queues, logger: this.logger, intervalSec: historyConfig.intervalSec,
      });
      this.history.attach(this);
      this.history.start();
    }
    // Listening before the first fetch, so the counts start with the first task.
    if (this.config.metrics) this.metricsEndpoint = await startWorkerMetrics(this, this.broker, this.config.metrics, this.logger);
    this.moveTo('running');
    this.loop = this.fetchLoop();
  }

  /**
   * Refuse a node name a live worker uses: two processes of one name would each take the other's messages for a
   * dead predecessor's and run them again. A record left by a process of this host that is gone does not count.
   */
  private async claimName(): Promise<void> {
    if (!this.store) return;
    const other: Partial<WorkerPresence> | null = await readPresence(this.store.redis, this.store.keys, this.hostname);
    if (other === null) return;
    const here = other.host === osHostname();
    if (here && (other.pid === process.pid || !processAlive(other.pid))) return;
    const seen = other.heartbeat ? ` ${Math.max(0, Math.round(Date.now() / 1000 - other.heartbeat))} s ago` : '';
    throw new Error(`a worker named ${this.hostname} is already running (pid ${other.pid ?? '?'} on ${here ? 'this host' : other.host ?? 'another host'}, seen${seen}): `
      + 'give this one another name with -n (e.g. -n worker2@%h); if that worker is gone, its record expires within 15 s');
  }

  /** Close what `open()` got to before it failed, or what a finished stop leaves. */
  private async teardown(): Promise<void> {
    // The last minute's counts, after every running task ended (a warm stop's last write).
    await this.history?.stop();
    this.history?.detach(this);
    await this.events?.close();
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.pausedTimer) clearInterval(this.pausedTimer);
    await this.pool.close('cold');
    await this.mailbox?.stop();
    await this.presence?.stop();
    await this.metricsEndpoint?.close();
  }

  /**
   * Put back the messages of Radish workers that are gone, and those recorded as this worker's that it does not hold
   * (older than `graceSec`; all of them when it is null: at start-up). Errors are logged, never thrown (it runs on a timer).
   */
  private async recover(graceSec: number | null = STRAY_GRACE_SEC): Promise<void> {
    try {
      const held = new Set(this.book.held().map((j) => j.delivery.tag));
      const store = this.store;
      const recovered = await this.broker.recover({ worker: this.hostname, held, graceSec },
        async (worker) => (store ? isPresent(store.redis, store.keys, worker) : true));
      for (const [worker, n] of recovered) {
        this.logger.log('warning', worker !== this.hostname
          ? `Worker ${worker} is gone: restored ${n} message(s) it had reserved or was running`
          : graceSec === null
            ? `Restored ${n} message(s) left by an earlier process of ${this.hostname} (it stopped without acking them)`
            : `Restored ${n} message(s) recorded as held by ${this.hostname} that this process does not hold (left by an earlier process of this name, or a reply lost in a Redis restart)`);
      }
    } catch (err) {
      this.logger.log('error', `Could not check for dead workers' messages: ${errorMessage(err)}`);
    }
  }

  private async refreshHeld(): Promise<void> {
    try {
      await this.broker.touch(this.book.held().map((j) => j.delivery.tag));
    } catch (err) {
      this.logger.log('error', `Could not refresh the unacked records of held messages: ${errorMessage(err)}`);
    }
  }

  /** The queues fetched from: those consumed, less those paused for the fleet. */
  private takingFrom(): string[] {
    return this.paused.size ? this.queues.filter((q) => !this.paused.has(q)) : this.queues;
  }

  private orderedQueues(): string[] {
    // kombu rotates its queues after each delivery, so one busy queue cannot starve the others.
    const queues = this.takingFrom();
    const n = queues.length;
    const at = this.rotation++ % n;
    return [...queues.slice(at), ...queues.slice(0, at)];
  }

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    while (this.state === 'running') {
      // At most one pool's worth per reserve: the next reserve is on its way while these run, so Redis and this
      // process work at the same time (a whole prefetch at once left each idle while the other worked).
      const capacity = Math.min(this.prefetch - this.book.inFlight, this.concurrency);
      // No queue left (all cancelled by remote control, or paused): wait for `addConsumer` or a resume as for a free slot.
      if (capacity <= 0 || this.takingFrom().length === 0) {
        await new Promise<void>((resolve) => { this.wakeFetcher = resolve; });
        this.wakeFetcher = undefined;
        continue;
      }
      this.fetching = true;
      try {
        const queues = this.orderedQueues();
        let deliveries = await this.broker.reserve(queues, capacity, this.hostname);
        if (deliveries.length === 0 && this.state === 'running') deliveries = await this.broker.waitAndReserve(queues, capacity, this.hostname);
        // A broker whose waits end at once (interrupted) answers both from memory: without a turn of the event loop
        // here, the loop would spin on microtasks and starve every timer and socket of the process.
        if (deliveries.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        failures = 0;
        for (const d of deliveries) this.accept(d);
      } catch (err) {
        failures++;
        if (failures === 1) this.logger.log('error', `consumer: cannot fetch messages: ${errorMessage(err)}; retrying`);
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures, 5000)));
      } finally {
        this.fetching = false;
        for (const resolve of this.fetchEnded.splice(0)) resolve();
      }
    }
    for (const resolve of this.fetchEnded.splice(0)) resolve();
  }

  /** Take a reserved delivery: dead-letter it, discard it (revoked, expired), schedule it or queue it to run. */
  private accept(delivery: Delivery): void {
    if (!delivery.tag) {
      this.logger.log('error', `Received a message on queue ${delivery.queue} that is not a valid task message; moved it to the dead-letter queue`);
      this.emit('dead-letter', undefined, 'not a valid task message', undefined, delivery.queue);
      return;
    }
    if (delivery.invalid) {
      this.logger.log('error', `Received a message on queue ${delivery.queue} that cannot be read (${delivery.invalid}); moved it to the dead-letter queue`);
      void this.recorder.deadLetter(delivery, delivery.invalid);
      return;
    }
    if (delivery.bytes) {
      void this.recorder.deadLetter(delivery, 'message is not valid UTF-8');
      return;
    }
    let msg: TaskMessage;
    try {
      msg = decodeTaskMessage(delivery.raw);
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.reason : String(err);
      void this.recorder.deadLetter(delivery, reason, err instanceof ProtocolError ? err : undefined);
      return;
    }
    const def = this.app.lookup(msg.name);
    if (!def) {
      void this.recorder.unregistered(delivery, msg);
      return;
    }
    const job: Job = { delivery, msg, def };
    if (this.state !== 'running') {
      void this.recorder.giveBack([job]).catch((err: Error) => this.logger.log('error', `Could not give back ${msg.name}[${msg.id}] (it stays recorded and is restored later): ${err.message}`));
      return;
    }
    if (this.logger.enabled('info')) this.logger.log('info', `Task ${msg.name}[${msg.id}] received`);
    this.emit('task-received', msg.id, msg, delivery.queue);
    const discard = this.discardReason(job);
    if (discard) {
      void this.recorder.discard(job, discard);
      return;
    }
    if (msg.eta && msg.eta.getTime() > Date.now()) {
      // An ETA task waits here, unacked, without holding a prefetch or concurrency slot (as Celery does).
      this.book.schedule(job);
      this.armEta(job, msg.eta);
      return;
    }
    this.book.take();
    this.enqueue(job);
  }

  /** Wake an ETA job at its time; a wait beyond setTimeout's range (24.8 days) re-arms instead of firing early. */
  private armEta(job: Job, eta: Date): void {
    const wait = eta.getTime() - Date.now();
    job.timer = setTimeout(() => {
      if (eta.getTime() > Date.now()) return this.armEta(job, eta);
      this.book.unschedule(job);
      this.book.take();
      this.enqueue(job);
    }, Math.min(Math.max(wait, 0), 2 ** 31 - 1));
  }

  /** Why a job must not run: revoked by id, or expired. Checked when it arrives and again when it would start. */
  private discardReason(job: Job): RevokeReason | undefined {
    if (this.revokedStore?.has(job.msg.id)) return 'revoked';
    if (job.msg.expires && job.msg.expires.getTime() <= Date.now()) return 'expired';
    return undefined;
  }

  private limiter(def: TaskDefinition): RateLimiter | null {
    let limiter = this.limiters.get(def.name);
    if (limiter === undefined) {
      const rate = def.options.rateLimit === undefined ? 0 : parseRate(def.options.rateLimit);
      limiter = rate > 0 ? new RateLimiter(rate) : null;
      this.limiters.set(def.name, limiter);
    }
    return limiter;
  }

  /** Queue a job to run, after its rate limit's turn if it has one (waiting there, it holds no concurrency slot). */
  private enqueue(job: Job): void {
    const wait = this.limiter(job.def)?.reserve() ?? 0;
    if (wait > 0) {
      this.book.throttle(job);
      job.timer = setTimeout(() => {
        this.book.unthrottle(job);
        this.book.queue(job);
        this.pump();
      }, wait);
      return;
    }
    this.book.queue(job);
    this.pump();
  }

  private pump(): void {
    while (this.state === 'running' && this.book.runningCount < this.concurrency) {
      const job = this.book.next();
      if (!job) return;
      const discard = this.discardReason(job);
      if (discard) {
        void this.recorder.discard(job, discard).finally(() => this.release());
        continue;
      }
      void this.run(job);
    }
  }

  /** A held job is done with (ran, discarded or given back): free its prefetch slot. */
  private release(): void {
    this.book.release();
    this.wakeFetcher?.();
    this.pump();
  }

  /** A limit in seconds: the message's, else the task's, else the worker's; null for none. */
  private static limit(message: number | null, task: number | null | undefined, worker: number): number | null {
    if (typeof message === 'number' && message > 0) return message;
    if (typeof task === 'number' && task > 0) return task;
    if (typeof worker === 'number' && worker > 0) return worker;
    return null;
  }

  private run(job: Job): Promise<void> {
    // A CONSUMER span for the run when an OpenTelemetry tracer provider is registered (else undefined, and no promise
    // more per task): active while the task runs and its outcome is recorded (see runJob), so what it and its end send
    // are its children.
    const trace = traceRun(job.msg, job.delivery.queue, this.app);
    if (!trace) return this.runJob(job);
    job.trace = trace;
    return this.runJob(job).finally(() => trace.end());
  }

  private async runJob(job: Job): Promise<void> {
    const { msg, def, delivery } = job;
    // Only the run, the recording of its outcome and what is logged of them are in the run's trace: what pump() and
    // release() start (the next runs, discards, rate-limit and ETA waits, the fetcher) is no part of this task.
    const within = <T>(fn: () => T): T => (job.trace ? job.trace.within(fn) : fn());
    job.started = Date.now() / 1000;
    this.totals.set(msg.name, (this.totals.get(msg.name) ?? 0) + 1);
    this.book.start(job);
    let ran = false;
    try {
      this.emit('task-started', msg.id);
      if (!(def.options.acksLate ?? this.config.acksLate)) {
        // At-most-once, asked for: acked before it runs, so a crash loses it rather than running it twice.
        await this.broker.ack(delivery.tag);
        job.acked = true;
      }
      if (this.config.trackStarted) {
        await this.recorder.started(job);
      }
      ran = true;
      // Limits set by remote control replace the task's own (as Celery sets the task's attributes); the message's win.
      const override = this.timeLimitOverrides.get(def.name);
      // Debug mode: no limit at all, a task paused at a breakpoint must not be failed underneath the user.
      const debug = this.config.debug;
      const outcome = await within(() => this.pool.run({
        def,
        request: requestOf(msg, delivery.queue, this.hostname),
        softTimeLimit: debug ? null : Worker.limit(msg.softTimeLimit, override ? override.soft : def.options.softTimeLimit, this.config.softTimeLimit),
        timeLimit: debug ? null : Worker.limit(msg.timeLimit, override ? override.hard : def.options.timeLimit, this.config.timeLimit),
        // Only the process pool reads it (a task process runs the task in the run's context).
        trace: job.trace && this.pool.kind === 'process' ? job.trace.carrier : undefined,
      }));
      // The task no longer runs: its concurrency slot goes to the next one while its outcome is written. The
      // message is still held (it counts against prefetch, and recovery and refresh see it) until it is acked.
      this.book.ended(job);
      this.pump();
      await within(() => this.recorder.settle(job, outcome));
    } catch (err) {
      // Redis failed us (the task's own errors are outcomes): the message stays unacked, so it is restored, not lost.
      within(() => this.logger.log('error', ran
        ? `Task ${msg.name}[${msg.id}] could not record its outcome (it will run again): ${errorMessage(err)}`
        : `Task ${msg.name}[${msg.id}] could not be started (it will be delivered again): ${errorMessage(err)}`));
      this.emit('task-released', msg.id, true);
    } finally {
      this.book.done(job);
      this.release();
      if (!this.book.busy) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /**
   * Revoke tasks by id, as Celery's `revoke` control does (and `Control.revoke` or `celery control revoke` reach this
   * through the mailbox): recorded in Redis for every Radish worker, including those that start later; a revoked task
   * that arrives later, or waits here for its ETA or its turn, is discarded with REVOKED. With `terminate`, a running
   * one is stopped too (the process pool signals its child; the async pool aborts its AbortSignal and abandons it).
   */
  async revoke(ids: readonly string[], options: { terminate?: boolean; signal?: NodeJS.Signals } = {}): Promise<{ terminated: string[] }> {
    if (!this.revokedStore) throw new Error('the worker is not started');
    // Recorded (in memory at once, in Redis after) before anything is swept, so a job arriving meanwhile is caught.
    const persisted = this.revokedStore.add(ids);
    const wanted = new Set(ids);
    for (const { job, slot } of this.book.removeWaiting(wanted)) {
      // A throttled job holds a prefetch slot (an ETA wait does not).
      void this.recorder.discard(job, 'revoked').finally(() => { if (slot) this.release(); });
    }
    const terminated = options.terminate ? ids.filter((id) => this.pool.terminate(id, options.signal ?? 'SIGTERM')) : [];
    this.pump();
    // Redis may be down: the revoke still holds here; other workers and later starts learn it once it is written.
    await persisted.catch((err: Error) => this.logger.log('error', `Could not record the revoke of ${ids.join(', ')} in Redis: ${err.message}`));
    return { terminated };
  }

  /**
   * Change a task's rate limit on this worker (the `rate_limit` control command). Starts already given a turn keep it;
   * the next ones are spaced by the new rate. Throws on a malformed rate.
   * @param rate as Celery writes it (`'10/s'`, `'100/m'`, a number per second); null, '' or 0 removes the limit.
   */
  setRateLimit(taskName: string, rate: string | number | null): void {
    const perSecond = rate === null || rate === '' ? 0 : parseRate(rate);
    this.limiters.set(taskName, perSecond > 0 ? new RateLimiter(perSecond) : null);
    this.logger.log('info', perSecond > 0
      ? `New rate limit for tasks of type ${taskName}: ${String(rate)}.`
      : `Rate limits disabled for tasks of type ${taskName}`);
  }

  /**
   * Replace a task's time limits on this worker (the `time_limit` control command), for the tasks that start from
   * now on. A message's own limits still win; null falls back to the worker's limits, as a task without any would.
   */
  setTimeLimits(taskName: string, limits: { soft: number | null; hard: number | null }): void {
    this.timeLimitOverrides.set(taskName, { ...limits });
    this.logger.log('info', `New time limits for tasks of type ${taskName}: soft=${limits.soft ?? 'None'} hard=${limits.hard ?? 'None'}`);
  }

  /** Start consuming a queue too (the `add_consumer` control command). Returns false if it was consumed already. */
  addConsumer(queue: string): boolean {
    if (this.queues.includes(queue)) return false;
    this.queues.push(queue);
    this.logger.log('info', `Started consuming from ${queue}`);
    this.wakeFetcher?.();
    return true;
  }

  /**
   * Stop consuming a queue (the `cancel_consumer` control command); what was already taken from it still runs.
   * Resolves once no fetch that may still take from it is under way, so a message sent after that stays queued.
   */
  async cancelConsumer(queue: string): Promise<void> {
    const at = this.queues.indexOf(queue);
    if (at < 0) return;
    this.queues.splice(at, 1);
    this.logger.log('info', `Canceled consuming from ${queue}`);
    await this.stopTaking(queue);
  }

  /**
   * Take nothing more from `queue`: once no fetch that listed it is under way (its wait lasts at most 100 ms), the
   * broker stops consuming it (AMQP cancels its consumer). Messages already taken still run.
   */
  private async stopTaking(queue: string): Promise<void> {
    if (this.fetching) await new Promise<void>((resolve) => this.fetchEnded.push(resolve));
    await this.broker?.stopConsuming(queue);
  }

  /** Queues paused for the whole fleet, as this worker knows them (it reads them once a second). */
  get pausedQueues(): string[] {
    return [...this.paused];
  }

  /**
   * A queue paused or resumed for the whole fleet (the `radish_queue_paused` control command, and the periodic read
   * of the shared store). A paused queue is left out of fetches (resolves once nothing more is taken from it; what
   * was taken still runs); a resumed one is fetched from again if the worker consumes it. Returns false when
   * nothing changed.
   */
  async setQueuePaused(queue: string, paused: boolean): Promise<boolean> {
    this.pausedTurn++;
    if (this.paused.has(queue) === paused) {
      // Paused already, maybe by a call still waiting for the fetch under way: this one confirms only after it.
      if (paused) await this.pausing.get(queue);
      return false;
    }
    const consumed = this.queues.includes(queue);
    if (paused) {
      this.paused.add(queue);
      if (consumed) {
        this.logger.log('info', `Queue ${queue} paused for the fleet: no longer taking from it`);
        const stopping = this.stopTaking(queue);
        const pending = stopping.catch(() => undefined).finally(() => {
          if (this.pausing.get(queue) === pending) this.pausing.delete(queue);
        });
        this.pausing.set(queue, pending);
        await stopping;
      }
    } else {
      this.paused.delete(queue);
      if (consumed) this.logger.log('info', `Queue ${queue} resumed: taking from it again`);
      this.wakeFetcher?.();
    }
    return true;
  }

  /** Apply the shared store's paused queues (a broadcast missed, a pause made while Redis was away). Never throws. */
  private async syncPaused(store: PausedQueues): Promise<void> {
    if (this.pausedSyncing) return;
    this.pausedSyncing = true;
    try {
      const turn = this.pausedTurn;
      let names: Set<string>;
      try {
        names = new Set(await store.names());
      } catch (err) {
        if (!this.pausedReadFailed) this.logger.log('warning', `Could not read the paused queues (trying again every second): ${errorMessage(err)}`);
        this.pausedReadFailed = true;
        return;
      }
      this.pausedReadFailed = false;
      // A broadcast changed them while this read was under way: it is newer than what was read.
      if (turn !== this.pausedTurn || this.state !== 'running') return;
      for (const queue of names) if (!this.paused.has(queue)) await this.setQueuePaused(queue, true);
      for (const queue of [...this.paused]) if (!names.has(queue)) await this.setQueuePaused(queue, false);
    } finally {
      this.pausedSyncing = false;
    }
  }

  /**
   * Run `delta` more (or, negative, fewer; never below 1) tasks at once, with the prefetch following (the
   * `pool_grow`/`pool_shrink` control commands). The process pool forks or retires children to match (a busy one
   * when its task ends). Returns the new concurrency.
   */
  resizePool(delta: number): number {
    this.slots = Math.max(1, this.slots + Math.trunc(delta));
    this.pool.resize(this.slots);
    this.logger.log('info', `Pool concurrency is now ${this.slots} (prefetch ${this.prefetch})`);
    this.broker?.setPrefetch(this.prefetch);
    // More room: fetch and start at once. Less: running tasks finish; fewer start until under the new limit.
    this.wakeFetcher?.();
    this.pump();
    return this.slots;
  }

  /**
   * A warm stop asked by remote control (the `shutdown` command): emits `shutdown-requested` (the CLI resolves its
   * wait on it) and stops on the next turn, so that the command's reply goes out first.
   */
  requestShutdown(): void {
    this.logger.log('warning', 'Got shutdown from remote');
    this.emit('shutdown-requested');
    setImmediate(() => void this.stop());
  }

  /** The pid of the process running a task (`worker_pid` in `inspect active`); null when it is not running. */
  taskPid(taskId: string): number | null {
    return this.pool.pidOf(taskId);
  }

  /** Send Celery events from now on (the `enable_events` control command). Resolves false if task events were on. */
  enableEvents(): Promise<boolean> {
    return this.events?.enable(true) ?? Promise.resolve(false);
  }

  /** Stop sending task events (`disable_events`); events that enable_events started stop altogether. */
  disableEvents(): Promise<boolean> {
    return this.events?.disable() ?? Promise.resolve(false);
  }

  /** A worker-heartbeat event now, if events are on (the `heartbeat` control command `celery events` sends). */
  sendHeartbeat(): Promise<void> {
    return this.events?.heartbeat() ?? Promise.resolve();
  }

  /** The revoked ids this worker honours (what `inspect revoked` lists). */
  revokedIds(): string[] {
    return this.revokedStore?.ids() ?? [];
  }

  /**
   * What this worker holds, for `inspect active/reserved/scheduled/query_task`: running jobs, jobs waiting for a
   * concurrency slot or their rate limit's turn, and ETA waits. Copies; the jobs themselves must not be changed.
   */
  heldJobs(): HeldJobs {
    return this.book.heldJobs();
  }

  /** Facts for `inspect stats` and `active_queues`. The broker's password is never part of them. */
  controlInfo(): WorkerControlInfo {
    return {
      pid: process.pid, startedAt: this.startedAt, clock: this.mailbox?.clock.value ?? 0, prefetch: this.prefetch,
      concurrency: this.concurrency, queues: [...this.queues], totals: Object.fromEntries(this.totals),
      pool: { kind: this.pool.kind, pids: this.pool.pids() },
      timeLimits: { soft: this.config.softTimeLimit, hard: this.config.timeLimit },
      broker: this.broker?.connectionInfo() ?? null,
    };
  }

  private whenIdle(): Promise<void> {
    if (!this.book.busy) return Promise.resolve();
    return new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /**
   * Stop. Warm (the default): stop consuming, give back what was reserved but not started (ETA waits included),
   * and let running tasks finish for up to `shutdownTimeout` seconds; then, or at once with `cold` (or when called
   * again with `cold` while a warm stop is under way), abort the running tasks and give their messages back.
   * Resolves when everything held has been finished or given back. Idempotent.
   */
  stop(options: { cold?: boolean } = {}): Promise<void> {
    if (this.stopped) {
      if (options.cold) void this.goCold('asked again');
      return this.stopped;
    }
    // Never started: nothing to stop, and it may still start. Started: the stop waits for the start to end.
    if (!this.started) return Promise.resolve();
    this.stopped = this.started.then(() => this.shutdown(options.cold ?? false), () => undefined);
    return this.stopped;
  }

  /**
   * No longer consume through the shared broker. Other workers on the same app may still consume through it: the
   * broker ends its waits only when the last one leaves, so each worker leaves once, and only if it joined.
   */
  private async leaveBroker(): Promise<void> {
    if (!this.consuming) return;
    this.consuming = false;
    await this.broker.interrupt().catch(() => undefined);
  }

  private async goCold(why: string): Promise<void> {
    const running = this.book.runningCount;
    if (running > 0) this.logger.log('warning', `Cold shutdown (${why}): aborting ${running} running task(s); their messages go back to their queues`);
    await this.pool.close('cold');
  }

  private async shutdown(cold: boolean): Promise<void> {
    this.moveTo('stopping');
    this.logger.log('warning', cold ? 'Cold shutdown (MainProcess)' : 'Warm shutdown (MainProcess)');
    this.wakeFetcher?.();
    await this.leaveBroker();
    // With Redis unreachable the fetch loop's pending command waits for it; it takes nothing once it returns.
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 2000).unref())]);
    const pending = this.book.drainWaiting();
    const restored = await this.recorder.giveBack(pending);
    // They were received: the metrics close their runs (a redelivery starts a new one).
    for (const job of pending) this.emit('task-released', job.msg.id, false);
    if (restored) this.logger.log('info', `Restoring ${restored} unacknowledged message(s)`);
    if (cold) await this.goCold('asked');
    const timeout = this.config.shutdownTimeout;
    let timer: NodeJS.Timeout | undefined;
    if (this.book.runningCount > 0 && Number.isFinite(timeout)) {
      timer = setTimeout(() => void this.goCold(`running tasks did not finish within ${timeout} s`), timeout * 1000);
    }
    await this.whenIdle();
    clearTimeout(timer);
    await this.pool.close('warm');
    await this.teardown();
    this.moveTo('stopped');
  }
}

/** Whether a process of this host with that pid is alive (EPERM: alive, someone else's). */
function processAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function finisherOf(finisher: Finisher | undefined): { finisher?: Finisher } {
  return finisher ? { finisher } : {};
}
