/**
 * Flower's Prometheus metrics (flower/events.py, `PrometheusMetrics`), under Flower's names, labels and buckets and
 * with Flower's meaning, so the Grafana dashboards made for Celery + Flower work unchanged on a Radish fleet. Fed
 * with Celery task and worker events: by a worker with its own (runner/worker/metrics.ts) and by
 * `radish exporter` with the fleet's event stream (runner/monitor/exporter.ts).
 *
 * What Flower does, and so what this does:
 * - `flower_events_total{worker,type,task}`: one per task event (`task-received`, `task-started`, ...).
 * - `flower_task_runtime_seconds{worker,task}`: the `runtime` of the events that carry one (`task-succeeded`), in
 *   Python prometheus_client's default buckets (Flower's default `--task_runtime_metric_buckets`), their `le` written
 *   as Python writes them (`1.0`, `10.0`, `+Inf`).
 * - `flower_task_prefetch_time_seconds{worker,task}` (a gauge): for a task without an ETA, started minus received
 *   at its start, 0 again when it ends.
 * - `flower_worker_prefetched_tasks{worker,task}`: tasks without an ETA received and not yet started (or revoked).
 * - `flower_worker_online{worker}`: 1 on worker-online and heartbeats, 0 on worker-offline.
 * - `flower_worker_number_of_currently_executing_tasks{worker}`: the heartbeat's `active`.
 */
import type { Gauge, Registry } from 'prom-client';
import { promClient } from '../on-demand/load';
import { CounterTally, GaugeTally, HistogramTally, type Cell, type HistogramCell } from './tally';

/** Python prometheus_client's `Histogram.DEFAULT_BUCKETS` (without +Inf, which is added): Flower's default. */
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

/** What Flower's `State` knows of a task when an event of it comes, for the metrics (times in seconds). */
export interface FlowerTaskState {
  eta: boolean;
  received?: number | undefined;
  started?: number | undefined;
}

/** The series of one task name on one worker, found once and kept by the caller (see {@link FlowerMetrics.series}). */
export interface FlowerSeries {
  readonly worker: string;
  readonly task: string;
  /** By event type. */
  readonly events: Record<string, Cell>;
  runtime?: HistogramCell;
  prefetchTime?: Cell;
  prefetched?: Cell;
}

/** Tasks remembered at most (Flower keeps 10,000 by default, `--max_tasks`); the oldest are forgotten first. */
const MAX_TASKS = 10_000;

export class FlowerMetrics {
  private readonly events: CounterTally<'worker' | 'type' | 'task'>;
  private readonly runtime: HistogramTally<'worker' | 'task'>;
  private readonly prefetchTime: GaugeTally<'worker' | 'task'>;
  private readonly prefetched: GaugeTally<'worker' | 'task'>;
  private readonly online: Gauge<'worker'>;
  private readonly executing: Gauge<'worker'>;
  private readonly bySeries = new Map<string, FlowerSeries>();
  /** For events of the stream (which name a task only on receipt): by uuid, in arrival order, bounded by {@link MAX_TASKS}. */
  private readonly tasks = new Map<string, FlowerTaskState & { name: string }>();

  /**
   * @param live a worker serving its own metrics: its executing-tasks gauge is read at each scrape rather than from
   *   heartbeats.
   */
  constructor(registry: Registry, live?: { hostname: string; active: () => number }) {
    const { Gauge } = promClient();
    const registers = [registry];
    this.events = new CounterTally(registry, { name: 'flower_events_total', help: 'Number of events', labelNames: ['worker', 'type', 'task'] });
    this.runtime = new HistogramTally(registry, {
      name: 'flower_task_runtime_seconds', help: 'Task runtime', labelNames: ['worker', 'task'], buckets: FLOWER_RUNTIME_BUCKETS,
      // Flower is Python: its dashboards select buckets by le="1.0", not prom-client's le="1".
      pythonLe: true,
    });
    this.prefetchTime = new GaugeTally(registry, {
      name: 'flower_task_prefetch_time_seconds', help: 'The time the task spent waiting at the celery worker to be executed.', labelNames: ['worker', 'task'],
    });
    this.prefetched = new GaugeTally(registry, {
      name: 'flower_worker_prefetched_tasks', help: 'Number of tasks of given type prefetched at a worker', labelNames: ['worker', 'task'],
    });
    this.online = new Gauge({ name: 'flower_worker_online', help: 'Worker online status', labelNames: ['worker'], registers });
    this.executing = new Gauge({
      name: 'flower_worker_number_of_currently_executing_tasks', help: 'Number of tasks currently executing at a worker', labelNames: ['worker'], registers,
      ...(live ? { collect() { this.set({ worker: live.hostname }, live.active()); } } : {}),
    });
  }

  /** The series of a task name on a worker (made on first use: keep it). */
  series(worker: string, task: string): FlowerSeries {
    const key = worker + '\u0000' + task;
    let found = this.bySeries.get(key);
    if (found === undefined) {
      found = { worker, task, events: {} };
      this.bySeries.set(key, found);
    }
    return found;
  }

  /** One task event of the stream (Celery's events name the task on receipt only: it is remembered by uuid). */
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
    this.record(this.series(event.worker, task.name), event.type, task, event.runtime);
  }

  /** One task event, with what is known of its task then (as Flower's `observe_task`). */
  record(series: FlowerSeries, type: string, task: FlowerTaskState, runtime?: number): void {
    const { worker, task: name } = series;
    const count = series.events[type] ??= this.events.cell({ worker, type, task: name });
    count.value++;
    if (runtime) this.runtime.observe(series.runtime ??= this.runtime.cell({ worker, task: name }), runtime);
    // As Flower: the prefetch metrics are for tasks without an ETA whose receipt was seen.
    if (task.eta || task.received === undefined) return;
    if (type === 'task-received') {
      (series.prefetched ??= this.prefetched.cell({ worker, task: name })).value++;
    } else if (type === 'task-started' && task.started !== undefined) {
      (series.prefetchTime ??= this.prefetchTime.cell({ worker, task: name })).value = task.started - task.received;
      (series.prefetched ??= this.prefetched.cell({ worker, task: name })).value--;
    } else if ((type === 'task-succeeded' || type === 'task-failed') && task.started !== undefined) {
      (series.prefetchTime ??= this.prefetchTime.cell({ worker, task: name })).value = 0;
    } else if ((type === 'task-revoked' || type === 'task-rejected') && task.started === undefined) {
      (series.prefetched ??= this.prefetched.cell({ worker, task: name })).value--;
    }
  }

  /**
   * A task the worker handed back without an outcome (Radish's `task-released`; Flower never sees one): no event is
   * counted, but it is no longer prefetched (or running) here.
   */
  released(series: FlowerSeries, task: FlowerTaskState): void {
    if (task.eta || task.received === undefined) return;
    const { worker, task: name } = series;
    if (task.started === undefined) (series.prefetched ??= this.prefetched.cell({ worker, task: name })).value--;
    else (series.prefetchTime ??= this.prefetchTime.cell({ worker, task: name })).value = 0;
  }

  /** One worker event: `worker-online`, `worker-heartbeat` (with its `active`), `worker-offline`. */
  worker(type: string, worker: string, active?: number): void {
    if (type === 'worker-online' || type === 'worker-heartbeat') this.online.set({ worker }, 1);
    else if (type === 'worker-offline') this.online.set({ worker }, 0);
    if (type === 'worker-heartbeat' && typeof active === 'number') this.executing.set({ worker }, active);
  }
}
