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
 * - `radish_task_queue_wait_seconds{task,queue}` (`queue`: the queue the message was taken from, not its routing
 *   key): start minus the message's send time (its `radish_sent_at`
 *   stamp; messages without one, Celery's, are not observed); for a task with an ETA, start minus the later of the
 *   ETA and the send time (the time it waited once due).
 * - `radish_worker_active_tasks`, `radish_worker_reserved_tasks`, `radish_worker_scheduled_tasks` (ETA waits),
 *   `radish_worker_up` (1), read at each scrape.
 * - Flower's names (runner/metrics/flower.ts) for this worker, from the same events.
 */
import type { Registry } from 'prom-client';
import { promClient } from '../on-demand/load';
import type { TaskMessage } from '../protocol/message';
import type { WorkerEventListeners } from './listener';
import { FLOWER_RUNTIME_BUCKETS, FlowerMetrics, type FlowerSeries } from '../metrics/flower';
import { CounterTally, HistogramTally, type Cell, type HistogramCell } from '../metrics/tally';
import { RunTracker, type RunEnd } from '../metrics/run-tracker';

/** Queue waits span milliseconds (a busy fleet) to hours (a backlog): the runtime buckets, then minutes and hours. */
export const QUEUE_WAIT_BUCKETS: readonly number[] = [...FLOWER_RUNTIME_BUCKETS, 30, 60, 300, 900, 1800, 3600, 7200];

/** What the metrics read of a worker: its events and live gauges (a Worker is one). */
export interface MeteredWorker {
  readonly hostname: string;
  readonly stats: { readonly active: number; readonly reserved: number; readonly scheduled: number };
  on<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): unknown;
  off<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): unknown;
}

type Outcome = 'received' | 'started' | 'succeeded' | 'failed' | 'retried' | 'revoked' | 'dead_lettered';

/** A task name's series, found once (each made on first use). */
interface TaskSeries {
  readonly name: string;
  readonly outcomes: Partial<Record<Outcome, Cell>>;
  runtime?: HistogramCell;
  /** Queue wait, by queue. */
  readonly waits: Map<string, HistogramCell>;
  readonly flower: FlowerSeries;
}

/** A run between its receipt and its end. */
interface Run {
  readonly series: TaskSeries;
  readonly queue: string;
  readonly sentAt: number | null;
  /** The ETA, ms since the epoch. */
  readonly etaAt: number | null;
  /** Whether it has one (as Flower reads it). */
  readonly eta: boolean;
  /** Seconds since the epoch, as Flower reads events' timestamps. */
  readonly received: number;
  started?: number;
  /** performance.now() at its start, for the runtime of a run that failed or retried. */
  startedAt?: number | undefined;
}

/** A dead-lettered message whose task name could not be read. */
const UNKNOWN_TASK = '(unknown)';

export class WorkerMetrics {
  /** Everything this worker serves on its endpoint. @internal (prom-client's type is not in the package's types) */
  readonly registry: Registry;
  private readonly outcomes: CounterTally<'task' | 'outcome'>;
  private readonly runtime: HistogramTally<'task'>;
  private readonly wait: HistogramTally<'task' | 'queue'>;
  private readonly flower: FlowerMetrics;
  private readonly byName = new Map<string, TaskSeries>();
  /** Runs between receipt and end (or release), by task id. */
  private readonly running = new RunTracker<Run>();
  private detach: (() => void) | undefined;

  constructor(private readonly worker: MeteredWorker) {
    const { Gauge, Registry } = promClient();
    const registry = (this.registry = new Registry());
    this.outcomes = new CounterTally(registry, { name: 'radish_tasks_total', help: 'Tasks by name and outcome', labelNames: ['task', 'outcome'] });
    this.runtime = new HistogramTally(registry, {
      name: 'radish_task_runtime_seconds', help: 'Runtime of each run that ended (succeeded, failed or retried)', labelNames: ['task'],
      buckets: FLOWER_RUNTIME_BUCKETS,
    });
    this.wait = new HistogramTally(registry, {
      name: 'radish_task_queue_wait_seconds', help: 'Start minus send time (or minus the ETA, when later), for messages with a send-time stamp',
      labelNames: ['task', 'queue'], buckets: QUEUE_WAIT_BUCKETS,
    });
    const stats = worker.stats;
    const gauge = (name: string, help: string, read: () => number): void => {
      // Read at each scrape: no bookkeeping per task.
      new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
    };
    gauge('radish_worker_active_tasks', 'Tasks running now', () => stats.active);
    gauge('radish_worker_reserved_tasks', 'Tasks received and waiting for a concurrency slot', () => stats.reserved);
    gauge('radish_worker_scheduled_tasks', 'Tasks held until their ETA', () => stats.scheduled);
    gauge('radish_worker_up', 'The worker is up (1)', () => 1);
    this.flower = new FlowerMetrics(registry, { hostname: worker.hostname, active: () => stats.active });
    this.flower.worker('worker-online', worker.hostname);
  }

  /** Start counting the worker's events. Idempotent. */
  attach(): void {
    if (this.detach) return;
    const w = this.worker;
    const listeners: { [K in keyof WorkerEventListeners]?: WorkerEventListeners[K] } = {
      'task-received': (id, msg, queue) => this.received(id, msg, queue),
      'task-started': (id) => this.started(id),
      'task-succeeded': (id, _value, runtime) => this.ended(id, 'succeeded', runtime),
      'task-failed': (id) => this.ended(id, 'failed'),
      'task-retried': (id) => this.ended(id, 'retried'),
      // A terminated run had started; a discarded one (revoked, expired) had not.
      'task-revoked': (id, reason) => this.ended(id, 'revoked', undefined, reason === 'terminated' ? 'started' : 'waiting'),
      'task-released': (id, started) => this.released(id, started),
      'dead-letter': (_id, _reason, name) => this.count(this.series(name ?? UNKNOWN_TASK), 'dead_lettered'),
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
    this.running.clear();
    this.flower.worker('worker-offline', this.worker.hostname);
  }

  private series(name: string): TaskSeries {
    let found = this.byName.get(name);
    if (found === undefined) {
      found = { name, outcomes: {}, waits: new Map(), flower: this.flower.series(this.worker.hostname, name) };
      this.byName.set(name, found);
    }
    return found;
  }

  private count(series: TaskSeries, outcome: Outcome): void {
    (series.outcomes[outcome] ??= this.outcomes.cell({ task: series.name, outcome })).value++;
  }

  /** Runs followed now (received, not yet ended or released). */
  get inFlight(): number {
    return this.running.size;
  }

  private received(id: string, msg: TaskMessage, queue: string): void {
    const series = this.series(msg.name);
    const run: Run = {
      series, queue, sentAt: msg.sentAt, etaAt: msg.eta ? msg.eta.getTime() : null, eta: msg.eta !== null, received: Date.now() / 1000,
    };
    this.running.add(id, run);
    this.count(series, 'received');
    this.flower.record(series.flower, 'task-received', run);
  }

  private started(id: string): void {
    const run = this.running.toStart(id);
    if (!run) return;
    const now = Date.now();
    run.startedAt = performance.now();
    run.started = now / 1000;
    const series = run.series;
    this.count(series, 'started');
    if (run.sentAt !== null) {
      const due = run.etaAt !== null && run.etaAt > run.sentAt ? run.etaAt : run.sentAt;
      let cell = series.waits.get(run.queue);
      if (cell === undefined) {
        cell = this.wait.cell({ task: series.name, queue: run.queue });
        series.waits.set(run.queue, cell);
      }
      this.wait.observe(cell, Math.max(0, now - due) / 1000);
    }
    this.flower.record(series.flower, 'task-started', run);
  }

  /** A run's end; `runtime` (seconds) as the worker measured it, else the time since its start. */
  private ended(id: string, outcome: 'succeeded' | 'failed' | 'retried' | 'revoked', runtime?: number, which: RunEnd = 'started'): void {
    const run = this.running.end(id, which);
    if (!run) return;
    const series = run.series;
    this.count(series, outcome);
    if (outcome !== 'revoked' && run.startedAt !== undefined) {
      this.runtime.observe(series.runtime ??= this.runtime.cell({ task: series.name }), runtime ?? (performance.now() - run.startedAt) / 1000);
    }
    this.flower.record(series.flower, `task-${outcome}`, run, runtime);
  }

  /** A run handed back without an outcome: no count, but it is no longer prefetched here. */
  private released(id: string, started: boolean): void {
    const run = this.running.end(id, started ? 'started' : 'waiting');
    if (run) this.flower.released(run.series.flower, run);
  }
}
