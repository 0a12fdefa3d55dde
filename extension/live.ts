/**
 * The window's live link to the fleet: one runner Monitor on the current connection, which follows Celery's event
 * stream (Radish workers and Celery workers started with -E, heard through the broker: Redis pub/sub or RabbitMQ's
 * celeryev exchange), records it into the task history kept in Redis (the broker, or the result backend beside
 * RabbitMQ), and
 * keeps the counters the status bar shows. It runs while the connection is up and is rebuilt after a reconnect;
 * the counters cover the whole window's life ("since the window opened"), across reconnects.
 */
import * as vscode from 'vscode';
import type { CeleryEvent, Monitor, TaskHistory, TaskRecord } from '../runner/index';
import { runner } from './runner';
import type { Connection } from './connection';
import { errorMessage } from '../runner/errors';

/** A task that failed, as the notification and the status bar need it. */
export interface Failure {
  id: string;
  name: string;
  exception: string;
  hostname: string;
}

export class Live implements vscode.Disposable {
  private monitor: Monitor | undefined;
  private starting: Promise<Monitor | undefined> | undefined;
  /** Counts the stops: a start that a stop overtook does not keep its monitor. */
  private generation = 0;
  private disposed = false;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly tasksChanged = new vscode.EventEmitter<void>();
  private readonly failedEmitter = new vscode.EventEmitter<Failure>();
  /** Fires (at most a few times a second is up to listeners) when a task or worker event arrived. */
  readonly onDidChange = this.changed.event;
  /**
   * Fires when a task event arrived (not for worker heartbeats, which every worker sends every 2 s: a view that
   * only shows tasks is not redrawn for them, and a click on it is not lost to a redraw under the pointer).
   */
  readonly onDidChangeTasks = this.tasksChanged.event;
  /** A task-failed event arrived. */
  readonly onDidFail = this.failedEmitter.event;
  /** Failures seen since the window opened (not counting a failure event twice). */
  failures = 0;
  private readonly seenFailures = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly connection: Connection) {
    this.disposables.push(connection.onDidChange(() => {
      if (connection.state === 'connected') void this.ensure();
      else void this.stop();
    }));
  }

  /**
   * The monitor on the current connection, started on first use; undefined while the broker or the history's Redis
   * cannot be reached. Resolves once it is subscribed: events sent from then on are heard.
   */
  async ensure(): Promise<Monitor | undefined> {
    for (;;) {
      if (this.monitor || this.disposed) return this.monitor;
      const generation = this.generation;
      const starting = this.starting ??= this.start(generation);
      try {
        const monitor = await starting;
        // Unless the connection was dropped meanwhile: that monitor was on the old one (closed); start on the new one.
        if (generation === this.generation) return monitor;
      } finally {
        if (this.starting === starting) this.starting = undefined;
      }
    }
  }

  /**
   * Before the window sends a task (Enqueue, Retry, Run Now): the monitor subscribed, so that the task is followed
   * from its first event. Events are broadcast, not kept: a monitor still subscribing when a quick worker has already
   * run the task (just after a reconnect, which starts a new monitor; or just after the window connected) never hears
   * of it, and the Tasks view never lists it. Never fails: without a monitor the task is still sent.
   */
  async beforeSend(): Promise<void> {
    await this.ensure();
  }

  private async start(generation: number): Promise<Monitor | undefined> {
    let monitor: Monitor | undefined;
    try {
      const app = await this.connection.client();
      // The history lives where the workers keep their shared records (the Redis broker, or the Redis result backend
      // beside RabbitMQ), under that store's keys: not under keys made from the broker's URL, which need not be Redis.
      const store = await app.requireSharedStore('the task history');
      monitor = new (runner().Monitor)({ redis: store.redis, keys: store.keys, config: app.brokerOptions });
      await monitor.start();
      if (generation !== this.generation) {
        // Stopped while it started (a setting changed, the connection was lost): its history's connection is closed.
        await monitor.close().catch(() => undefined);
        return undefined;
      }
      this.startError = undefined;
    } catch (err) {
      // The connection reports what is wrong in the views; the monitor comes back with it.
      this.startError = errorMessage(err);
      await monitor?.close().catch(() => undefined);
      return undefined;
    }
    this.monitor = monitor;
    this.unsubscribe = [
      monitor.onTask((event, record) => this.onTask(event, record)),
      monitor.onWorker(() => this.changed.fire()),
    ];
    this.changed.fire();
    return monitor;
  }

  private onTask(event: CeleryEvent, record: TaskRecord | undefined): void {
    if (event.type === 'task-failed') {
      const uuid = String(event.uuid);
      const key = `${uuid}/${event.timestamp}`;
      if (!this.seenFailures.has(key)) {
        this.seenFailures.add(key);
        if (this.seenFailures.size > 10_000) this.seenFailures.delete(this.seenFailures.values().next().value as string);
        this.failures++;
        this.failedEmitter.fire({
          id: uuid, name: record?.name ?? String(event.name ?? 'task'),
          exception: String(event.exception ?? record?.exception ?? ''), hostname: event.hostname,
        });
      }
    }
    this.tasksChanged.fire();
    this.changed.fire();
  }

  /** Why the monitor did not start, when the connection itself is fine (the events could not be subscribed to, say). */
  startError: string | undefined;

  /** The task history in Redis (once the monitor runs). */
  get history(): TaskHistory | undefined {
    return this.monitor?.history;
  }

  /** Tasks running now on the workers that send events (sum of their last heartbeats). */
  get active(): number {
    return this.monitor?.activeTasks ?? 0;
  }

  /** What is wrong with the connection, when the monitor cannot run. */
  get connectionError(): string | undefined {
    return this.connection.error;
  }

  get running(): boolean {
    return this.monitor !== undefined;
  }

  private async stop(): Promise<void> {
    // A monitor still starting is on the connection being dropped: it closes itself, and the next ensure() starts anew.
    this.generation++;
    this.starting = undefined;
    const monitor = this.monitor;
    this.monitor = undefined;
    for (const u of this.unsubscribe.splice(0)) u();
    await monitor?.close().catch(() => undefined);
  }

  dispose(): void {
    this.disposed = true;
    void this.stop();
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
    this.tasksChanged.dispose();
    this.failedEmitter.dispose();
  }
}
