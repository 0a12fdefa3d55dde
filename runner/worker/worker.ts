/**
 * The worker: consumes queues with a prefetch limit, runs tasks with a concurrency limit, stores results and
 * acks after the task ends. Bad messages never run, never stop the worker and are never lost: they go to the
 * dead-letter list with the reason. `stop()` is a warm shutdown.
 */
import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import type { Radish } from '../app';
import type { ResultBackend } from '../backend/backend';
import type { Broker, DeadLetterRecord, Delivery } from '../broker/broker';
import { redactUrl } from '../broker/connection';
import { createLogger, type Logger } from '../log';
import { decodeTaskMessage, ProtocolError, type TaskMessage } from '../protocol/message';
import { pyRepr } from '../protocol/pyrepr';
import { encodeResult, exceptionInfo, exceptionRepr, type ExceptionInfo, type ExtendedFields, type ResultInput } from '../protocol/result';
import type { Retry, TaskDefinition } from '../task';
import { VERSION } from '../version';
import { execute, requestOf, type Outcome } from './execute';
import { Presence } from './presence';

export interface WorkerOptions {
  /** Queues to consume, in order. Default: the app's default queue (`celery`). */
  queues?: string[];
  /** Tasks run at once. Default 10. */
  concurrency?: number;
  /** Messages reserved per concurrency slot (Celery's `worker_prefetch_multiplier`). Default 4. */
  prefetchMultiplier?: number;
  /** Node name, as `name@host`. Default `radish@<hostname>`. */
  hostname?: string;
  /** Where log lines go. Default: Celery-shaped lines on stderr at `info`. */
  logger?: Logger;
  /** Store name, args, kwargs, worker, retries and queue with results (Celery's `result_extended`). Default false. */
  resultExtended?: boolean;
  /** Store a STARTED state when a task starts (Celery's `task_track_started`). Default false. */
  trackStarted?: boolean;
  /** Restore messages left unacked past the visibility timeout when starting (kombu does). Default true. */
  restoreOnStart?: boolean;
  /**
   * Seconds between checks for Radish workers that died (their presence expired) holding messages, which are then
   * put back at once rather than after kombu's one-hour visibility timeout. Default 5; 0 turns it off.
   */
  recoveryInterval?: number;
}

/** One message this worker holds: reserved, maybe waiting for its ETA, maybe running. */
interface Job {
  delivery: Delivery;
  msg: TaskMessage;
  def: TaskDefinition;
  timer?: NodeJS.Timeout;
  /** Unix seconds when it started running. */
  started?: number;
}

export interface WorkerStats {
  processed: number;
  succeeded: number;
  failed: number;
  retried: number;
  active: number;
  reserved: number;
  scheduled: number;
}

/** Events: `task-received`, `task-started`, `task-succeeded`, `task-failed`, `task-retried`, `task-revoked`, `dead-letter` (all with the task id first). */
export class Worker extends EventEmitter {
  readonly hostname: string;
  readonly queues: string[];
  readonly concurrency: number;
  readonly prefetch: number;
  readonly logger: Logger;
  private broker!: Broker;
  private backend!: ResultBackend;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly ready: Job[] = [];
  private readonly scheduled = new Set<Job>();
  private readonly active = new Set<Job>();
  /** Reserved jobs that count against prefetch (everything held except ETA waits). */
  private inFlight = 0;
  private wakeFetcher: (() => void) | undefined;
  private idle: (() => void) | undefined;
  private readonly abort = new AbortController();
  private rotation = 0;
  private presence: Presence | undefined;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now() / 1000;
  readonly stats: WorkerStats = { processed: 0, succeeded: 0, failed: 0, retried: 0, active: 0, reserved: 0, scheduled: 0 };

  constructor(readonly app: Radish, readonly options: WorkerOptions = {}) {
    super();
    this.hostname = options.hostname ?? `radish@${osHostname()}`;
    this.queues = options.queues?.length ? [...options.queues] : [app.defaultQueue];
    this.concurrency = Math.max(1, options.concurrency ?? 10);
    this.prefetch = this.concurrency * Math.max(1, options.prefetchMultiplier ?? 4);
    this.logger = options.logger ?? createLogger('info');
  }

  /** Connect, restore stale unacked messages, and start consuming. Resolves once the worker is consuming. */
  async start(): Promise<void> {
    if (this.running) return;
    this.broker = await this.app.broker();
    this.backend = await this.app.backend();
    if (this.options.restoreOnStart !== false) {
      const restored = await this.broker.restoreVisible();
      if (restored) this.logger.log('info', `Restored ${restored} unacknowledged message(s) older than the visibility timeout`);
    }
    this.running = true;
    this.presence = new Presence(this.broker.redis, this.broker.keys, () => ({
      hostname: this.hostname, pid: process.pid, queues: this.queues, concurrency: this.concurrency, pool: 'async',
      started: this.startedAt, processed: this.stats.processed, failed: this.stats.failed, sw_ident: 'radish', sw_ver: VERSION,
      active: [...this.active].map((j) => ({ id: j.msg.id, name: j.msg.name, started: j.started ?? 0 })),
      tasks: this.app.taskNames,
    }));
    await this.presence.start();
    const every = this.options.recoveryInterval ?? 5;
    if (every > 0) {
      await this.recoverOrphans();
      this.recoveryTimer = setInterval(() => void this.recoverOrphans(), every * 1000);
      this.recoveryTimer.unref();
    }
    const names = this.app.taskNames;
    this.logger.log('info', `Connected to ${redactUrl(this.app.brokerOptions.url ?? '')}`);
    this.logger.log('info', `${this.hostname} ready. queues: ${this.queues.join(', ')}; concurrency: ${this.concurrency}; tasks: ${names.length ? names.join(', ') : '(none)'}`);
    this.loop = this.fetchLoop();
  }

  /** Put back the messages of Radish workers that are gone. Errors are logged, never thrown (it runs on a timer). */
  private async recoverOrphans(): Promise<void> {
    try {
      const redis = this.broker.redis;
      const recovered = await this.broker.recoverOrphans(async (worker) =>
        worker === this.hostname || (await redis.exists(this.broker.keys.worker(worker))) === 1);
      for (const [worker, n] of recovered) {
        if (n) this.logger.log('warning', `Worker ${worker} is gone: restored ${n} message(s) it had reserved or was running`);
      }
    } catch (err) {
      this.logger.log('error', `Could not check for dead workers' messages: ${(err as Error).message}`);
    }
  }

  private orderedQueues(): string[] {
    // kombu rotates its queues after each delivery, so one busy queue cannot starve the others.
    const n = this.queues.length;
    const at = this.rotation++ % n;
    return [...this.queues.slice(at), ...this.queues.slice(0, at)];
  }

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const capacity = this.prefetch - this.inFlight;
      if (capacity <= 0) {
        await new Promise<void>((resolve) => { this.wakeFetcher = resolve; });
        this.wakeFetcher = undefined;
        continue;
      }
      try {
        const queues = this.orderedQueues();
        let deliveries = await this.broker.reserve(queues, capacity, this.hostname);
        if (deliveries.length === 0 && this.running) deliveries = await this.broker.waitAndReserve(queues, capacity, this.hostname, 1);
        failures = 0;
        for (const d of deliveries) this.accept(d);
      } catch (err) {
        failures++;
        if (failures === 1) this.logger.log('error', `consumer: cannot fetch messages: ${(err as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures, 5000)));
      }
    }
  }

  /** Take a reserved delivery: dead-letter it, expire it, schedule it or queue it to run. */
  private accept(delivery: Delivery): void {
    if (!delivery.tag) {
      this.logger.log('error', `Received a message on queue ${delivery.queue} that is not a valid task message; moved it to the dead-letter queue`);
      this.emit('dead-letter', undefined, 'not a valid task message');
      return;
    }
    let msg: TaskMessage;
    try {
      msg = decodeTaskMessage(delivery.raw);
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.reason : String(err);
      void this.deadLetter(delivery, reason, err instanceof ProtocolError ? err : undefined);
      return;
    }
    const def = this.app.lookup(msg.name);
    if (!def) {
      void this.unregistered(delivery, msg);
      return;
    }
    const job: Job = { delivery, msg, def };
    if (!this.running) {
      void this.giveBack([job]);
      return;
    }
    this.logger.log('info', `Task ${msg.name}[${msg.id}] received`);
    this.emit('task-received', msg.id, msg);
    if (msg.expires && msg.expires.getTime() <= Date.now()) {
      void this.expire(job);
      return;
    }
    const wait = msg.eta ? msg.eta.getTime() - Date.now() : 0;
    if (wait > 0) {
      // An ETA task waits here, unacked, without holding a prefetch slot (as Celery does).
      this.scheduled.add(job);
      this.stats.scheduled = this.scheduled.size;
      job.timer = setTimeout(() => {
        this.scheduled.delete(job);
        this.stats.scheduled = this.scheduled.size;
        this.inFlight++;
        this.enqueue(job);
      }, Math.min(wait, 2 ** 31 - 1));
      return;
    }
    this.inFlight++;
    this.enqueue(job);
  }

  private enqueue(job: Job): void {
    this.ready.push(job);
    this.stats.reserved = this.ready.length;
    this.pump();
  }

  private pump(): void {
    while (this.running && this.active.size < this.concurrency && this.ready.length > 0) {
      const job = this.ready.shift()!;
      this.stats.reserved = this.ready.length;
      void this.run(job);
    }
  }

  private extended(job: Job): ExtendedFields | null {
    if (!this.options.resultExtended) return null;
    const { msg, delivery } = job;
    return { name: msg.name, args: msg.args, kwargs: msg.kwargs, worker: this.hostname, retries: msg.retries, queue: delivery.queue };
  }

  private resultInput(job: Job, partial: Pick<ResultInput, 'state' | 'result'> & Partial<ResultInput>): ResultInput {
    return {
      taskId: job.msg.id,
      groupId: job.msg.groupId,
      parentId: job.msg.parentId,
      extended: this.extended(job),
      ...partial,
    };
  }

  private async run(job: Job): Promise<void> {
    const { msg, def, delivery } = job;
    job.started = Date.now() / 1000;
    this.active.add(job);
    this.stats.active = this.active.size;
    this.emit('task-started', msg.id);
    try {
      if (this.options.trackStarted) {
        await this.backend.store(this.resultInput(job, { state: 'STARTED', result: { pid: process.pid, hostname: this.hostname } }));
      }
      const outcome = await execute(def, requestOf(msg, delivery.queue, this.hostname), this.abort.signal);
      await this.settle(job, outcome);
    } catch (err) {
      // Storing the outcome failed (Redis gone?): the message stays unacked, so it is redelivered, not lost.
      this.logger.log('error', `Task ${msg.name}[${msg.id}] could not record its outcome: ${(err as Error).message}`);
    } finally {
      this.active.delete(job);
      this.stats.active = this.active.size;
      this.inFlight--;
      this.wakeFetcher?.();
      this.pump();
      if (this.active.size === 0) this.idle?.();
    }
  }

  private async settle(job: Job, ran: Outcome): Promise<void> {
    const { msg, def, delivery } = job;
    const label = `Task ${msg.name}[${msg.id}]`;
    let outcome = ran;
    let encoded: string | undefined;
    if (outcome.kind === 'success' && !def.options.ignoreResult && !msg.ignoreResult) {
      try {
        encoded = encodeResult(this.resultInput(job, { state: 'SUCCESS', result: outcome.value }));
      } catch (err) {
        // The value cannot be stored as JSON (a BigInt, a cycle): that is the task's failure, not the worker's.
        outcome = { kind: 'failure', error: new TypeError(`result is not JSON serializable: ${(err as Error).message}`), runtime: outcome.runtime };
      }
    }
    this.stats.processed++;
    if (outcome.kind === 'success') {
      this.stats.succeeded++;
      this.logger.log('info', `${label} succeeded in ${outcome.runtime.toFixed(6).replace(/0+$/, '').replace(/\.$/, '.0')}s: ${shortRepr(outcome.value)}`);
      // Stored first, acked second: a crash in between redelivers the task, it never loses the result.
      if (encoded !== undefined) await this.backend.storeEncoded(msg.id, encoded);
      await this.broker.ack(delivery.tag);
      this.emit('task-succeeded', msg.id, outcome.value, outcome.runtime);
    } else if (outcome.kind === 'retry') {
      await this.retry(job, outcome.retry);
    } else {
      const info = exceptionInfo(outcome.error);
      const traceback = outcome.error instanceof Error ? outcome.error.stack ?? null : null;
      this.stats.failed++;
      this.logger.log('error', `${label} raised unexpected: ${exceptionRepr(info)}${traceback ? '\n' + traceback : ''}`);
      // A task that failed for good is kept, message and all, in the dead-letter list: it can be inspected,
      // edited and replayed. Dead-lettering acks it in the same step.
      const record: DeadLetterRecord = {
        reason: `failed: ${exceptionRepr(info)}`, queue: delivery.queue, worker: this.hostname, time: Date.now() / 1000,
        raw: delivery.raw, task_id: msg.id, task: msg.name, exception: info, traceback, attempts: msg.retries + 1,
      };
      await this.backend.store(this.resultInput(job, { state: 'FAILURE', result: info, traceback }));
      const dropped = await this.broker.deadLetter(delivery.tag, record);
      if (dropped) this.logger.log('warning', `Dead-letter queue is full: dropped its ${dropped} oldest record(s)`);
      this.emit('task-failed', msg.id, info, traceback);
    }
  }

  /** Republish the task as Celery's `retry()` does (same id, retries + 1, an ETA), store RETRY, then ack. */
  private async retry(job: Job, retry: Retry): Promise<void> {
    const { msg, delivery } = job;
    const next = this.app.message({
      name: msg.name, args: msg.args, kwargs: msg.kwargs, taskId: msg.id, retries: msg.retries + 1, eta: retry.when,
      queue: delivery.queue, priority: msg.priority, parentId: msg.id, rootId: msg.rootId,
      timeLimit: msg.timeLimit ?? undefined, softTimeLimit: msg.softTimeLimit ?? undefined,
      expires: msg.expires ?? undefined, ignoreResult: msg.ignoreResult,
    });
    const info: ExceptionInfo = retry.exc === undefined ? exceptionInfo(retry) : exceptionInfo(retry.exc);
    const traceback = retry.exc instanceof Error ? retry.exc.stack ?? null : retry.stack ?? null;
    this.logger.log('info', `Task ${msg.name}[${msg.id}] retry: ${retry.message}`);
    // Publish before the ack: a crash in between gives a duplicate, never a lost task.
    await this.broker.publish(next.queue, next.priority, next.body);
    await this.backend.store(this.resultInput(job, { state: 'RETRY', result: info, traceback, children: [[[msg.id, null], null]] }));
    await this.broker.ack(delivery.tag);
    this.stats.retried++;
    this.emit('task-retried', msg.id, info);
  }

  private async expire(job: Job): Promise<void> {
    const { msg, delivery } = job;
    try {
      const result = { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' };
      await this.backend.store(this.resultInput(job, { state: 'REVOKED', result }));
      await this.broker.ack(delivery.tag);
      this.logger.log('info', `Discarding expired task ${msg.name}[${msg.id}] (expired ${msg.expires?.toISOString()})`);
      this.emit('task-revoked', msg.id, 'expired');
    } catch (err) {
      this.logger.log('error', `Task ${msg.name}[${msg.id}] expired but could not be recorded: ${(err as Error).message}`);
    }
  }

  private async unregistered(delivery: Delivery, msg: TaskMessage): Promise<void> {
    const reason = `unregistered task ${msg.name}`;
    this.logger.log('error', `Received unregistered task of type '${msg.name}'. The message has been moved to the dead-letter queue. Did you forget to define it, or is it meant for a Python worker? [${msg.id}]`);
    const exc = { exc_type: 'NotRegistered', exc_message: [msg.name], exc_module: 'celery.exceptions' };
    await this.deadLetter(delivery, reason, undefined, msg, exc);
  }

  /** Move a message to the dead-letter list with its record; tell a waiting client with a FAILURE when the id is known. */
  private async deadLetter(delivery: Delivery, reason: string, err?: ProtocolError, msg?: TaskMessage, exc?: ExceptionInfo): Promise<void> {
    const taskId = msg?.id ?? err?.taskId;
    const taskName = msg?.name ?? err?.taskName;
    const exception = exc ?? { exc_type: 'ProtocolError', exc_message: [reason], exc_module: 'radish' };
    const record: DeadLetterRecord = {
      reason, queue: delivery.queue, worker: this.hostname, time: Date.now() / 1000, raw: delivery.raw,
      ...(taskId ? { task_id: taskId } : {}), ...(taskName ? { task: taskName } : {}), exception,
    };
    try {
      const dropped = await this.broker.deadLetter(delivery.tag, record);
      if (dropped) this.logger.log('warning', `Dead-letter queue is full: dropped its ${dropped} oldest record(s)`);
      if (!msg) this.logger.log('error', `Rejected a message on queue ${delivery.queue}${taskId ? ` (task ${taskId})` : ''}: ${reason}; moved it to the dead-letter queue`);
      if (taskId) await this.backend.store({ taskId, state: 'FAILURE', result: exception, traceback: null });
      this.emit('dead-letter', taskId, reason);
    } catch (e) {
      this.logger.log('error', `Could not dead-letter a message (it stays unacked and will be restored): ${(e as Error).message}`);
    }
  }

  private async giveBack(jobs: Job[]): Promise<number> {
    if (jobs.length === 0) return 0;
    return this.broker.giveBack(jobs.map((j) => ({ tag: j.delivery.tag, raw: j.delivery.raw, queue: j.delivery.queue, priority: j.msg.priority })));
  }

  /**
   * Warm shutdown: stop consuming, give back what was reserved but not started (ETA waits included), and wait
   * for running tasks to finish. Idempotent.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.logger.log('warning', 'Warm shutdown (MainProcess)');
    this.wakeFetcher?.();
    await this.broker.interrupt().catch(() => undefined);
    await this.loop;
    for (const job of this.scheduled) clearTimeout(job.timer);
    const pending = [...this.ready.splice(0), ...this.scheduled];
    this.scheduled.clear();
    const restored = await this.giveBack(pending);
    if (restored) this.logger.log('info', `Restoring ${restored} unacknowledged message(s)`);
    if (this.active.size > 0) await new Promise<void>((resolve) => { this.idle = resolve; });
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    await this.presence?.stop();
    this.stats.active = 0;
    this.stats.reserved = 0;
    this.stats.scheduled = 0;
  }
}

function shortRepr(value: unknown): string {
  const r = pyRepr(value);
  return r.length > 200 ? r.slice(0, 197) + '...' : r;
}
