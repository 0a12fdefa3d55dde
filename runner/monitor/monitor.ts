/**
 * A live view of a Celery/Radish cluster from its events: the workers (from their heartbeats), counters since
 * start, listeners for task and worker changes, and a task history kept in Redis (shared by every monitor on the
 * broker, and still there after a restart). What the VS Code extension's Tasks and Workers views and its status bar
 * read; workers must publish events (`radish worker -E`, `celery worker -E`).
 *
 *     const monitor = await Monitor.forApp(app);
 *     await monitor.start();
 *     monitor.onTask((event, record) => { if (event.type === 'task-failed') notify(record); });
 *     monitor.workers();                         // [{ hostname: 'w1@host', online: true, active: 2, ... }]
 *     await monitor.history.recent({ limit: 50, filter: { state: 'FAILURE' } });
 *     await monitor.close();
 */
import type Redis from 'ioredis';
import type { Radish } from '../app';
import type { ConnectionConfig } from '../broker/connection';
import { Keys } from '../broker/keys';
import type { CeleryEvent } from '../protocol/event';
import { isTaskEvent, TaskHistory, type RedisSource, type TaskHistoryOptions, type TaskRecord } from './history';
import { EventReceiver } from './receiver';
import { errorMessage } from '../errors';

/** A worker as its events describe it (field names as in Celery's events). */
export interface WorkerState {
  /** Node name, `name@host`. */
  hostname: string;
  pid?: number;
  /** `radish` or `py-celery`. */
  sw_ident?: string;
  sw_ver?: string;
  sw_sys?: string;
  /** Seconds between heartbeats. */
  freq: number;
  /** 1, 5 and 15 minute load averages of its machine. */
  loadavg: number[];
  /** Tasks running at its last heartbeat. */
  active: number;
  /** Tasks it finished since it started, at its last heartbeat. */
  processed: number;
  /** When this monitor last heard from it (unix s, by this machine's clock, so the worker's clock skew does not matter). */
  lastHeartbeat: number;
  /** Timestamp of its last worker event, by its own clock. */
  timestamp: number;
  /** False after worker-offline, or when no heartbeat came for 2 × freq + the margin. */
  online: boolean;
  /** task-failed events from it seen since this monitor started. */
  failed: number;
}

export type TaskListener = (event: CeleryEvent, record?: TaskRecord) => void;
/** `event` is absent when the worker went offline because its heartbeats stopped. */
export type WorkerListener = (worker: WorkerState, event?: CeleryEvent) => void;

export interface MonitorOptions {
  /** Write task events to the history. Without, `history` can still be read (another monitor may write it). Default true. */
  record?: boolean;
  /** Bounds of the history. */
  history?: TaskHistoryOptions;
  /** Seconds a heartbeat may be late beyond 2 × freq before the worker counts as offline. Default 1. */
  heartbeatMarginSec?: number;
  /** The time in ms. Default `Date.now`. */
  now?: () => number;
  /** Told of bad messages on the events channel and of failed history writes. Default: ignored. */
  onError?: (err: Error) => void;
}

/** What a Monitor runs on: a command connection for the history, the broker settings for its own subscriber. */
export interface MonitorConnection {
  /** Commands (history reads and writes), or a function that gives the connection on first use. Not closed by the monitor. */
  redis: RedisSource;
  keys: Keys;
  /** Broker settings, for the receiver's own connection. */
  config: ConnectionConfig;
}

/** Task events sent in one history write at most; more wait for the next. */
const WRITE_BATCH = 500;

interface WorkerEntry {
  state: Omit<WorkerState, 'online' | 'failed'>;
  offline: boolean;
  /** What listeners were last told, to announce a heartbeat timeout once. */
  reportedOnline: boolean;
}

export class Monitor {
  /** The task history in Redis (shared with every monitor on this broker). */
  readonly history: TaskHistory;
  readonly receiver: EventReceiver;
  private readonly record: boolean;
  private readonly margin: number;
  private readonly now: () => number;
  private readonly onError: (err: Error) => void;
  private readonly table = new Map<string, WorkerEntry>();
  private readonly failedBy = new Map<string, number>();
  private readonly taskListeners = new Set<TaskListener>();
  private readonly workerListeners = new Set<WorkerListener>();
  private pending: CeleryEvent[] = [];
  private writing: Promise<void> | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private failedCount = 0;
  private succeededCount = 0;

  constructor(connection: MonitorConnection, options: MonitorOptions = {}) {
    this.record = options.record ?? true;
    this.margin = options.heartbeatMarginSec ?? 1;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => undefined);
    this.history = new TaskHistory(connection.redis, connection.keys, options.history);
    this.receiver = new EventReceiver(connection.config, (event) => this.handle(event), {
      onError: (err) => this.report(err),
    });
  }

  /**
   * A monitor on an app's broker (URL, password, key prefix): it shares the app's connection for the history
   * (connected by `start()`) and opens one of its own to subscribe. Not started.
   */
  static forApp(app: Radish, options: MonitorOptions = {}): Monitor {
    const config = app.brokerOptions;
    const redis = async (): Promise<Redis> => (await app.requireSharedStore('the task history')).redis;
    // The history's keys do not depend on the database number, only on the prefix (none beside RabbitMQ).
    return new Monitor({ redis, keys: new Keys(config.keyPrefix ?? ''), config }, options);
  }

  /** Subscribe to the events; resolves once subscribed. Idempotent. Counters count from here. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('this Monitor is closed'));
    // The history's connection first, so that an unreachable Redis fails start() rather than the first write.
    this.started ??= this.history.connection().then(() => this.receiver.start()).then(() => {
      if (this.closing) return;
      this.expiry = setInterval(() => this.checkExpiry(), 1000);
      this.expiry.unref();
    }, (err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  /** task-failed events seen since start. */
  get failedSinceStart(): number { return this.failedCount; }

  /** task-succeeded events seen since start. */
  get succeededSinceStart(): number { return this.succeededCount; }

  /** Tasks running on the online workers, by their last heartbeats. */
  get activeTasks(): number {
    return this.workers().reduce((sum, w) => sum + (w.online ? w.active : 0), 0);
  }

  /** Set the counters (and the per-worker failures) back to zero, e.g. once the user has looked at the failures. */
  resetCounters(): void {
    this.failedCount = 0;
    this.succeededCount = 0;
    this.failedBy.clear();
  }

  /** Every worker heard from since start, online or not, by hostname. */
  workers(): WorkerState[] {
    return [...this.table.keys()].sort().map((h) => this.workerState(h) as WorkerState);
  }

  /** One worker, or undefined when never heard from. */
  worker(hostname: string): WorkerState | undefined {
    return this.workerState(hostname);
  }

  /** Call `listener` for each task event, after it was recorded (with the task's record; none when not recording). */
  onTask(listener: TaskListener): () => void {
    this.taskListeners.add(listener);
    return () => this.taskListeners.delete(listener);
  }

  /** Call `listener` for each worker event, and when a worker's heartbeats stop. */
  onWorker(listener: WorkerListener): () => void {
    this.workerListeners.add(listener);
    return () => this.workerListeners.delete(listener);
  }

  /** Stop listening, finish the history writes under way. Idempotent. Does not close the app's connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.expiry) clearInterval(this.expiry);
      await this.receiver.close();
      while (this.writing) await this.writing;
    })();
    return this.closing;
  }

  private report(err: Error): void {
    try {
      this.onError(err);
    } catch {
      // A failing reporter must not stop the monitor.
    }
  }

  private workerState(hostname: string): WorkerState | undefined {
    const entry = this.table.get(hostname);
    if (!entry) return undefined;
    return { ...entry.state, loadavg: [...entry.state.loadavg], online: this.isOnline(entry), failed: this.failedBy.get(hostname) ?? 0 };
  }

  private isOnline(entry: WorkerEntry): boolean {
    if (entry.offline) return false;
    // Celery's state expires a worker after 2 heartbeats missed (HEARTBEAT_EXPIRE_WINDOW 200%); the margin absorbs
    // publish and delivery delays.
    return this.now() / 1000 - entry.state.lastHeartbeat <= 2 * entry.state.freq + this.margin;
  }

  private handle(event: CeleryEvent): void {
    if (this.closing) return;
    if (event.type.startsWith('worker-')) this.workerEvent(event);
    else if (isTaskEvent(event)) this.taskEvent(event);
  }

  private workerEvent(event: CeleryEvent): void {
    const previous = this.table.get(event.hostname)?.state;
    const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
    const str = (v: unknown, fallback: string | undefined): string | undefined => (typeof v === 'string' ? v : fallback);
    const freq = num(event.freq, previous?.freq ?? 2);
    const state: WorkerEntry['state'] = {
      hostname: event.hostname,
      pid: typeof event.pid === 'number' ? event.pid : previous?.pid,
      sw_ident: str(event.sw_ident, previous?.sw_ident),
      sw_ver: str(event.sw_ver, previous?.sw_ver),
      sw_sys: str(event.sw_sys, previous?.sw_sys),
      freq: freq > 0 ? freq : 2,
      loadavg: Array.isArray(event.loadavg) ? event.loadavg.filter((n): n is number => typeof n === 'number') : previous?.loadavg ?? [],
      active: num(event.active, previous?.active ?? 0),
      processed: num(event.processed, previous?.processed ?? 0),
      lastHeartbeat: this.now() / 1000,
      timestamp: event.timestamp,
    };
    const offline = event.type === 'worker-offline';
    const entry: WorkerEntry = { state, offline, reportedOnline: !offline };
    this.table.set(event.hostname, entry);
    this.emitWorker(event.hostname, event);
  }

  private emitWorker(hostname: string, event?: CeleryEvent): void {
    const state = this.workerState(hostname);
    if (!state) return;
    for (const listener of [...this.workerListeners]) {
      try {
        listener(state, event);
      } catch (err) {
        this.report(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Announce, once, the workers whose heartbeats stopped. */
  private checkExpiry(): void {
    for (const [hostname, entry] of this.table) {
      const online = this.isOnline(entry);
      if (online !== entry.reportedOnline) {
        entry.reportedOnline = online;
        this.emitWorker(hostname);
      }
    }
  }

  private taskEvent(event: CeleryEvent): void {
    if (event.type === 'task-failed') {
      this.failedCount++;
      this.failedBy.set(event.hostname, (this.failedBy.get(event.hostname) ?? 0) + 1);
    } else if (event.type === 'task-succeeded') {
      this.succeededCount++;
    }
    if (!this.record) {
      this.emitTask(event, undefined);
      return;
    }
    // Events that arrive while a write is under way go together in the next one: one round trip per batch, and
    // listeners are told in the order the events came.
    this.pending.push(event);
    this.writing ??= this.write();
  }

  private async write(): Promise<void> {
    // Let the rest of this message's batch (handed over synchronously) join the first write.
    await Promise.resolve();
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, WRITE_BATCH);
        let records: Map<string, TaskRecord> | undefined;
        try {
          records = (await this.history.record(batch)).records;
        } catch (err) {
          this.report(new Error(`task history not updated (${batch.length} events): ${errorMessage(err)}`));
        }
        for (const event of batch) this.emitTask(event, records?.get(event.uuid as string));
      }
    } finally {
      this.writing = undefined;
    }
  }

  private emitTask(event: CeleryEvent, record: TaskRecord | undefined): void {
    for (const listener of [...this.taskListeners]) {
      try {
        listener(event, record);
      } catch (err) {
        this.report(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }
}

