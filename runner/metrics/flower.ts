/**
 * Flower's Prometheus metrics (flower/events.py, `PrometheusMetrics`), under Flower's names, labels and buckets and
 * with Flower's meaning, so the Grafana dashboards made for Celery + Flower work unchanged on a Radish fleet. Fed
 * with Celery task and worker events: by a worker with its own (runner/metrics/worker-metrics.ts) and by
 * `radish exporter` with the fleet's event stream (runner/metrics/exporter.ts).
 *
 * What Flower does, and so what this does:
 * - `flower_events_total{worker,type,task}`: one per task event (`task-received`, `task-started`, ...).
 * - `flower_task_runtime_seconds{worker,task}`: the `runtime` of the events that carry one (`task-succeeded`), in
 *   Python prometheus_client's default buckets (Flower's default `--task_runtime_metric_buckets`).
 * - `flower_task_prefetch_time_seconds{worker,task}` (a gauge): for a task without an ETA, started minus received
 *   at its start, 0 again when it ends.
 * - `flower_worker_prefetched_tasks{worker,task}`: tasks without an ETA received and not yet started (or revoked).
 * - `flower_worker_online{worker}`: 1 on worker-online and heartbeats, 0 on worker-offline.
 * - `flower_worker_number_of_currently_executing_tasks{worker}`: the heartbeat's `active`.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Python prometheus_client's `Histogram.DEFAULT_BUCKETS` (without +Inf, which prom-client adds): Flower's default. */
export const FLOWER_RUNTIME_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** A task event, as much of it as Flower's metrics read. */
export interface FlowerTaskEvent {
  /** `task-received`, `task-started`, `task-succeeded`, `task-failed`, `task-retried`, `task-revoked`... */
  type: string;
  worker: string;
  uuid: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** The task's name where the event carries it (task-received, task-sent); else the one remembered for its uuid. */
  name?: string | undefined;
  /** Whether the task has an ETA (on task-received). */
  eta?: boolean | undefined;
  /** Seconds (task-succeeded). */
  runtime?: number | undefined;
}

/** What Flower's `State` remembers of a task, for the metrics. */
interface TaskState {
  name: string;
  eta: boolean;
  received?: number;
  started?: number;
}

/** Tasks remembered at most (Flower keeps 10,000 by default, `--max_tasks`); the oldest are forgotten first. */
const MAX_TASKS = 10_000;

export class FlowerMetrics {
  private readonly events: Counter<'worker' | 'type' | 'task'>;
  private readonly runtime: Histogram<'worker' | 'task'>;
  private readonly prefetchTime: Gauge<'worker' | 'task'>;
  private readonly prefetched: Gauge<'worker' | 'task'>;
  private readonly online: Gauge<'worker'>;
  private readonly executing: Gauge<'worker'>;
  /** By uuid, in arrival order (a Map keeps it), bounded by {@link MAX_TASKS}. */
  private readonly tasks = new Map<string, TaskState>();

  /**
   * @param live a worker serving its own metrics: its executing-tasks gauge is read at each scrape rather than from
   *   heartbeats.
   */
  constructor(registry: Registry, live?: { hostname: string; active: () => number }) {
    const registers = [registry];
    this.events = new Counter({ name: 'flower_events_total', help: 'Number of events', labelNames: ['worker', 'type', 'task'], registers });
    this.runtime = new Histogram({
      name: 'flower_task_runtime_seconds', help: 'Task runtime', labelNames: ['worker', 'task'], buckets: [...FLOWER_RUNTIME_BUCKETS], registers,
    });
    this.prefetchTime = new Gauge({
      name: 'flower_task_prefetch_time_seconds', help: 'The time the task spent waiting at the celery worker to be executed.',
      labelNames: ['worker', 'task'], registers,
    });
    this.prefetched = new Gauge({
      name: 'flower_worker_prefetched_tasks', help: 'Number of tasks of given type prefetched at a worker', labelNames: ['worker', 'task'], registers,
    });
    this.online = new Gauge({ name: 'flower_worker_online', help: 'Worker online status', labelNames: ['worker'], registers });
    this.executing = new Gauge({
      name: 'flower_worker_number_of_currently_executing_tasks', help: 'Number of tasks currently executing at a worker', labelNames: ['worker'], registers,
      ...(live ? { collect() { this.set({ worker: live.hostname }, live.active()); } } : {}),
    });
  }

  /** One task event. */
  task(event: FlowerTaskEvent): void {
    let task = this.tasks.get(event.uuid);
    if (task === undefined) {
      task = { name: event.name ?? '', eta: false };
      this.tasks.set(event.uuid, task);
      if (this.tasks.size > MAX_TASKS) this.tasks.delete(this.tasks.keys().next().value!);
    } else if (event.name) {
      task.name = event.name;
    }
    if (event.type === 'task-received') {
      task.received = event.timestamp;
      task.eta = event.eta === true;
    } else if (event.type === 'task-started') {
      task.started = event.timestamp;
    }
    const { worker, type } = event;
    const name = task.name;
    this.events.inc({ worker, type, task: name });
    if (event.runtime) this.runtime.observe({ worker, task: name }, event.runtime);
    // As Flower: the prefetch metrics are for tasks without an ETA whose receipt was seen.
    if (task.eta || task.received === undefined) return;
    if (type === 'task-received') {
      this.prefetched.inc({ worker, task: name });
    } else if (type === 'task-started' && task.started !== undefined) {
      this.prefetchTime.set({ worker, task: name }, task.started - task.received);
      this.prefetched.dec({ worker, task: name });
    } else if ((type === 'task-succeeded' || type === 'task-failed') && task.started !== undefined) {
      this.prefetchTime.set({ worker, task: name }, 0);
    } else if ((type === 'task-revoked' || type === 'task-rejected') && task.started === undefined) {
      this.prefetched.dec({ worker, task: name });
    }
  }

  /** One worker event: `worker-online`, `worker-heartbeat` (with its `active`), `worker-offline`. */
  worker(type: string, worker: string, active?: number): void {
    if (type === 'worker-online' || type === 'worker-heartbeat') this.online.set({ worker }, 1);
    else if (type === 'worker-offline') this.online.set({ worker }, 0);
    if (type === 'worker-heartbeat' && typeof active === 'number') this.executing.set({ worker }, active);
  }
}
