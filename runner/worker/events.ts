/**
 * A worker's Celery events (`celery worker -E`): worker-online, a heartbeat every `frequency` seconds,
 * worker-offline, and the task events buffered and published as `task.multi` batches, as Celery's worker does.
 * Flower, `celery events` and Celery workers' gossip read them. Events are best-effort, as in Celery: a publish that
 * fails is reported and dropped, never retried or allowed to stop the worker.
 */
import type { EventEmitter } from 'node:events';
import { loadavg, type as osType } from 'node:os';
import type { Fanout } from '../broker/transport';
import {
  encodeEvent, encodeEventBatch, makeEvent, routingKeyOf, taskFailedFields, taskReceivedFields, taskRetriedFields, taskRevokedFields,
  taskStartedFields, taskSucceededFields, TASK_MULTI, workerFields, type CeleryEvent,
  type SoftwareInfo, type TaskEventType, type WorkerEventType,
} from '../protocol/event';
import type { JsonObject, TaskMessage } from '../protocol/message';
import { LamportClock } from '../protocol/pidbox';
import type { RevokeReason } from '../errors';
import type { ExceptionInfo } from '../protocol/result';
import type { WorkerEventListeners } from './listener';
import { VERSION } from '../version';

/** What heartbeats report; read at each heartbeat. */
export interface WorkerLoad {
  active: number;
  processed: number;
}

export interface EventDispatcherOptions {
  /** The broker's fanout, events are published through (`celeryev`). */
  fanout: Pick<Fanout, 'publishEvent'>;
  /** The worker's node name (`name@host`). */
  hostname: string;
  /** Default `process.pid`. */
  pid?: number;
  /** The worker's Lamport clock, shared with its mailbox so Celery tools can order both. Default a new one. */
  clock?: LamportClock;
  /** Heartbeat interval in seconds (Celery's `freq`). Default 2.0. */
  frequency?: number;
  /** How long a task event may wait in the buffer, in ms. Default 100. */
  flushIntervalMs?: number;
  /** Publish the buffer as soon as it holds this many task events. Default 100. */
  bufferLimit?: number;
  /** Read for each worker event. Default: zeros. */
  load?: () => WorkerLoad;
  /** Default `{ident: 'radish', version: <Radish's version>, system: os.type()}`. */
  software?: SoftwareInfo;
  /** Told of failed publishes (events are then dropped). Default: ignored. */
  onError?: (err: Error) => void;
}

/** Publishes one worker's events. */
export class EventDispatcher {
  readonly hostname: string;
  readonly clock: LamportClock;
  private readonly fanout: Pick<Fanout, 'publishEvent'>;
  private readonly pid: number;
  private readonly frequency: number;
  private readonly flushIntervalMs: number;
  private readonly bufferLimit: number;
  private readonly load: () => WorkerLoad;
  private readonly software: SoftwareInfo;
  private readonly onError: (err: Error) => void;
  private buffer: CeleryEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private online = false;
  private closing: Promise<void> | undefined;
  /** The last publish, so close() waits for everything sent before it. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(options: EventDispatcherOptions) {
    this.fanout = options.fanout;
    this.hostname = options.hostname;
    this.pid = options.pid ?? process.pid;
    this.clock = options.clock ?? new LamportClock();
    this.frequency = options.frequency ?? 2.0;
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.bufferLimit = options.bufferLimit ?? 100;
    this.load = options.load ?? (() => ({ active: 0, processed: 0 }));
    this.software = options.software ?? { ident: 'radish', version: VERSION, system: osType() };
    this.onError = options.onError ?? (() => undefined);
  }

  /** Announce the worker and start heartbeats (the timer is unref'd: it never keeps the process alive). */
  workerOnline(): Promise<void> {
    if (this.online || this.closing) return Promise.resolve();
    this.online = true;
    const sent = this.sendWorker('worker-online');
    this.heartbeat = setInterval(() => void this.sendWorker('worker-heartbeat'), this.frequency * 1000);
    this.heartbeat.unref();
    return sent;
  }

  /** Stop heartbeats, publish buffered task events, then worker-offline. Only once; later calls do nothing. */
  workerOffline(): Promise<void> {
    if (!this.online) return this.flush();
    this.online = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const flushed = this.flush();
    // Issued right after the batch on the same connection, so it arrives after the task events.
    const offline = this.sendWorker('worker-offline');
    return Promise.all([flushed, offline]).then(() => undefined);
  }

  /** A worker-heartbeat now, out of turn (the `heartbeat` control command, sent by `celery events`), when online. */
  heartbeatNow(): Promise<void> {
    return this.online ? this.sendWorker('worker-heartbeat') : Promise.resolve();
  }

  /** Queue a task event; it goes out in the next `task.multi` batch. Ignored after close(). */
  task(type: TaskEventType, fields: JsonObject): void {
    if (this.closing) return;
    // Stamped now, not at flush: the clock and timestamp order events as they happened.
    this.buffer.push(this.stamp(type, fields));
    if (this.buffer.length >= this.bufferLimit) void this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Publish the buffered task events now. */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.buffer.length === 0) return this.last.then(() => undefined);
    const batch = this.buffer;
    this.buffer = [];
    return this.publish(TASK_MULTI, encodeEventBatch(batch, this.hostname));
  }

  /** workerOffline() (which flushes) and stop; idempotent. Does not close the connection. */
  close(): Promise<void> {
    this.closing ??= this.workerOffline();
    return this.closing;
  }

  private stamp(type: string, fields: JsonObject): CeleryEvent {
    return makeEvent(type, { hostname: this.hostname, pid: this.pid }, { clock: this.clock.forward() }, fields);
  }

  private sendWorker(type: WorkerEventType): Promise<void> {
    const { active, processed } = this.load();
    const fields = workerFields({ freq: this.frequency, active, processed, loadavg: loadavg() }, this.software);
    const event = this.stamp(type, fields);
    return this.publish(routingKeyOf(type), encodeEvent(event));
  }

  private publish(routingKey: string, message: string): Promise<void> {
    const sent = this.fanout.publishEvent(routingKey, message).then(
      () => undefined,
      (err: unknown) => this.onError(err instanceof Error ? err : new Error(String(err))),
    );
    this.last = sent;
    return sent;
  }
}

/**
 * Turn a worker's EventEmitter events into Celery task events on `dispatcher`. The worker emits `task-received`
 * (id, msg), `task-started` (id), `task-succeeded` (id, value, runtime s), `task-failed` (id, exceptionInfo,
 * traceback), `task-retried` (id, exceptionInfo, traceback?) and `task-revoked` (id, reason, signum?).
 * Returns a function that detaches the listeners.
 */
export function attachWorkerEvents(emitter: EventEmitter, dispatcher: EventDispatcher): () => void {
  // No Celery event for `task-released`: Celery's worker sends none for a message it hands back.
  const listeners: { [K in Exclude<keyof WorkerEventListeners, 'dead-letter' | 'shutdown-requested' | 'task-released'>]: WorkerEventListeners[K] } = {
    'task-received': (_id: string, msg: TaskMessage) => dispatcher.task('task-received', taskReceivedFields(msg)),
    'task-started': (id: string) => dispatcher.task('task-started', taskStartedFields(id)),
    'task-succeeded': (id: string, value: unknown, runtime: number) =>
      dispatcher.task('task-succeeded', taskSucceededFields(id, value, runtime)),
    'task-failed': (id: string, info: ExceptionInfo, traceback?: string | null) =>
      dispatcher.task('task-failed', taskFailedFields(id, info, traceback)),
    'task-retried': (id: string, info: ExceptionInfo, traceback?: string | null) =>
      dispatcher.task('task-retried', taskRetriedFields(id, info, traceback)),
    'task-revoked': (id: string, reason: RevokeReason, signum?: number) =>
      dispatcher.task('task-revoked', taskRevokedFields(id, reason, signum ?? null)),
  };
  for (const [event, listener] of Object.entries(listeners)) emitter.on(event, listener as (...args: unknown[]) => void);
  return () => {
    for (const [event, listener] of Object.entries(listeners)) emitter.off(event, listener as (...args: unknown[]) => void);
  };
}

export interface WorkerEventsOptions {
  /** The worker, whose task-* EventEmitter events become Celery task events (see {@link attachWorkerEvents}). */
  emitter: EventEmitter;
  /** Makes a dispatcher each time events start (a closed dispatcher cannot start again). */
  createDispatcher: () => EventDispatcher;
  /** Told when remote control turns events on or off. Default: nowhere. */
  log?: (message: string) => void;
}

/**
 * Whether a worker sends events, and the switch remote control turns: `-E` starts them with the worker;
 * `enable_events` (Flower sends it every few seconds) starts them on a worker started without; `disable_events`
 * stops the task events. Unlike Celery, a Radish worker without -E sends no heartbeats at all, so events that
 * remote control started stop entirely (worker-offline, then silence), while a worker started with -E keeps its
 * heartbeats, as Celery's does, and only stops its task events.
 */
export class WorkerEvents {
  private dispatcher: EventDispatcher | undefined;
  /** Detaches the task-event listeners; set while task events are sent. */
  private detach: (() => void) | undefined;
  /** The running dispatcher was started by remote control, so disabling stops it. */
  private byRemote = false;
  private closed = false;

  constructor(private readonly options: WorkerEventsOptions) {}

  /** Whether task events are being sent now. */
  get taskEvents(): boolean {
    return this.detach !== undefined;
  }

  /**
   * Send events from now on: worker-online and heartbeats (if not sent already) and task events. `remote` says it
   * was asked over pidbox (and is logged, as Celery does). Resolves with false when task events were on already,
   * once worker-online is published otherwise.
   */
  async enable(remote = false): Promise<boolean> {
    if (this.closed || this.detach) return false;
    // State changes synchronously, so a second enable_events arriving while this one publishes finds them on.
    let dispatcher = this.dispatcher;
    if (!dispatcher) {
      dispatcher = this.options.createDispatcher();
      this.dispatcher = dispatcher;
      this.byRemote = remote;
    }
    this.detach = attachWorkerEvents(this.options.emitter, dispatcher);
    if (remote) this.options.log?.('Events of group {task} enabled by remote.');
    await dispatcher.workerOnline();
    return true;
  }

  /**
   * Stop task events (the `disable_events` control command); events that remote control started stop altogether,
   * after a worker-offline. Resolves with false when task events were off already.
   */
  async disable(): Promise<boolean> {
    if (!this.detach) return false;
    this.detach();
    this.detach = undefined;
    this.options.log?.('Events of group {task} disabled by remote.');
    const dispatcher = this.dispatcher;
    if (dispatcher && this.byRemote) {
      this.dispatcher = undefined;
      // Task events already buffered are still published, before worker-offline.
      await dispatcher.close();
    }
    return true;
  }

  /** A heartbeat now, if events are being sent. */
  heartbeat(): Promise<void> {
    return this.dispatcher?.heartbeatNow() ?? Promise.resolve();
  }

  /** Stop for good (the worker stops): buffered task events, then worker-offline. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.detach?.();
    this.detach = undefined;
    const dispatcher = this.dispatcher;
    this.dispatcher = undefined;
    await dispatcher?.close();
  }
}
