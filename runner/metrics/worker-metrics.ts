/**
 * A worker's own Prometheus metrics, in a registry of its own (never prom-client's global one: two workers in one
 * process must not mix), fed by the worker's typed events (runner/worker/listener.ts). Attached only when a metrics
 * port is set: a worker without one has no listener and pays nothing.
 *
 * Radish's metrics (a worker's endpoint serves its own; add up over the fleet in PromQL):
 * - `radish_tasks_total{task,outcome}`: outcome `received`, `started`, `succeeded`, `failed`, `retried`,
 *   `revoked` (revoked, expired or terminated) or `dead_lettered` (a message that could not run: undecodable,
 *   unregistered; `task` is `(unknown)` when its name could not be read). A failed task is also kept in the
 *   dead-letter queue, but counts as `failed` only.
 * - `radish_task_runtime_seconds{task}`: each run that ended (succeeded, failed, retried).
 * - `radish_task_queue_wait_seconds{task,queue}`: start minus the message's send time (its `radish_sent_at`
 *   stamp; messages without one, Celery's, are not observed); for a task with an ETA, start minus the later of the
 *   ETA and the send time (the time it waited once due).
 * - `radish_worker_active_tasks`, `radish_worker_reserved_tasks`, `radish_worker_scheduled_tasks` (ETA waits),
 *   `radish_worker_up` (1), read at each scrape.
 * - Flower's names (runner/metrics/flower.ts) for this worker, from the same events.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskMessage } from '../protocol/message';
import type { WorkerEventListeners } from '../worker/listener';
import { FLOWER_RUNTIME_BUCKETS, FlowerMetrics } from './flower';

/** Queue waits span milliseconds (a busy fleet) to hours (a backlog): the runtime buckets, then minutes and hours. */
export const QUEUE_WAIT_BUCKETS: readonly number[] = [...FLOWER_RUNTIME_BUCKETS, 30, 60, 300, 900, 1800, 3600, 7200];

/** What the metrics read of a worker: its events and live gauges (a Worker is one). */
export interface MeteredWorker {
  readonly hostname: string;
  readonly stats: { readonly active: number; readonly reserved: number; readonly scheduled: number };
  on<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): unknown;
  off<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): unknown;
}

/** A task between its receipt and its end: what later events need of its message. */
interface Running {
  name: string;
  queue: string;
  sentAt: number | null;
  eta: number | null;
  /** performance.now() at its start. */
  startedAt?: number;
}

/** A dead-lettered message whose task name could not be read. */
const UNKNOWN_TASK = '(unknown)';

export class WorkerMetrics {
  /** Everything this worker serves on its endpoint. */
  readonly registry = new Registry();
  private readonly tasks: Counter<'task' | 'outcome'>;
  private readonly runtime: Histogram<'task'>;
  private readonly wait: Histogram<'task' | 'queue'>;
  private readonly flower: FlowerMetrics;
  /**
   * Runs between receipt and end, by task id: a list, because a retry republished with no countdown may be received
   * again before the run that retried it has ended.
   */
  private readonly running = new Map<string, Running[]>();
  private detach: (() => void) | undefined;

  constructor(private readonly worker: MeteredWorker) {
    const registers = [this.registry];
    this.tasks = new Counter({ name: 'radish_tasks_total', help: 'Tasks by name and outcome', labelNames: ['task', 'outcome'], registers });
    this.runtime = new Histogram({
      name: 'radish_task_runtime_seconds', help: 'Runtime of each run that ended (succeeded, failed or retried)', labelNames: ['task'],
      buckets: [...FLOWER_RUNTIME_BUCKETS], registers,
    });
    this.wait = new Histogram({
      name: 'radish_task_queue_wait_seconds', help: 'Start minus send time (or minus the ETA, when later), for messages with a send-time stamp',
      labelNames: ['task', 'queue'], buckets: [...QUEUE_WAIT_BUCKETS], registers,
    });
    const stats = worker.stats;
    const gauge = (name: string, help: string, read: () => number): void => {
      // Read at each scrape: no bookkeeping per task.
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    gauge('radish_worker_active_tasks', 'Tasks running now', () => stats.active);
    gauge('radish_worker_reserved_tasks', 'Tasks received and waiting for a concurrency slot', () => stats.reserved);
    gauge('radish_worker_scheduled_tasks', 'Tasks held until their ETA', () => stats.scheduled);
    gauge('radish_worker_up', 'The worker is up (1)', () => 1);
    this.flower = new FlowerMetrics(this.registry, { hostname: worker.hostname, active: () => stats.active });
    this.flower.worker('worker-online', worker.hostname);
  }

  /** Start counting the worker's events. Idempotent. */
  attach(): void {
    if (this.detach) return;
    const w = this.worker;
    const listeners: { [K in keyof WorkerEventListeners]?: WorkerEventListeners[K] } = {
      'task-received': (id, msg) => this.received(id, msg),
      'task-started': (id) => this.started(id),
      'task-succeeded': (id, _value, runtime) => this.ended(id, 'succeeded', runtime),
      'task-failed': (id) => this.ended(id, 'failed'),
      'task-retried': (id) => this.ended(id, 'retried'),
      'task-revoked': (id) => this.ended(id, 'revoked'),
      'dead-letter': (_id, _reason, name) => this.tasks.inc({ task: name ?? UNKNOWN_TASK, outcome: 'dead_lettered' }),
    };
    const names = Object.keys(listeners) as (keyof WorkerEventListeners)[];
    for (const name of names) w.on(name, listeners[name] as WorkerEventListeners[typeof name]);
    this.detach = () => {
      for (const name of names) w.off(name, listeners[name] as WorkerEventListeners[typeof name]);
    };
  }

  /** Stop counting; the worker is offline for Flower's gauge. */
  close(): void {
    this.detach?.();
    this.flower.worker('worker-offline', this.worker.hostname);
  }

  private flowerEvent(type: string, id: string, name: string, extra: { eta?: boolean; runtime?: number } = {}): void {
    this.flower.task({ type, worker: this.worker.hostname, uuid: id, timestamp: Date.now() / 1000, name, ...extra });
  }

  private received(id: string, msg: TaskMessage): void {
    const run: Running = { name: msg.name, queue: msg.routingKey, sentAt: msg.sentAt, eta: msg.eta ? msg.eta.getTime() : null };
    const runs = this.running.get(id);
    if (runs) runs.push(run);
    else this.running.set(id, [run]);
    this.tasks.inc({ task: msg.name, outcome: 'received' });
    this.flowerEvent('task-received', id, msg.name, { eta: msg.eta !== null });
  }

  private started(id: string): void {
    const task = this.running.get(id)?.find((run) => run.startedAt === undefined);
    if (!task) return;
    task.startedAt = performance.now();
    this.tasks.inc({ task: task.name, outcome: 'started' });
    if (task.sentAt !== null) {
      const due = task.eta !== null && task.eta > task.sentAt ? task.eta : task.sentAt;
      this.wait.observe({ task: task.name, queue: task.queue }, Math.max(0, Date.now() - due) / 1000);
    }
    this.flowerEvent('task-started', id, task.name);
  }

  /** A task's end; `runtime` (seconds) as the worker measured it, else the time since its start. */
  private ended(id: string, outcome: 'succeeded' | 'failed' | 'retried' | 'revoked', runtime?: number): void {
    const runs = this.running.get(id);
    if (!runs) return;
    // The run that ended: a started one (a revoke may also end one that never started).
    let at = runs.findIndex((run) => run.startedAt !== undefined);
    if (at < 0) at = 0;
    const task = runs[at]!;
    runs.splice(at, 1);
    if (runs.length === 0) this.running.delete(id);
    this.tasks.inc({ task: task.name, outcome });
    if (outcome !== 'revoked' && task.startedAt !== undefined) {
      this.runtime.observe({ task: task.name }, runtime ?? (performance.now() - task.startedAt) / 1000);
    }
    this.flowerEvent(`task-${outcome}`, id, task.name, runtime === undefined ? {} : { runtime });
  }
}
