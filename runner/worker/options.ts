/**
 * A worker's options as given ({@link WorkerOptions}, documented with their defaults) and as the worker reads them
 * ({@link CompiledWorkerOptions}): every default applied once, in {@link compileOptions}, and nowhere else.
 */
import { hostname as osHostname } from 'node:os';
import { createLogger, type Logger } from '../log';
import { celeryLayout, resolveCeleryVersion, type CeleryLayout } from '../protocol/celery-version';
import type { PoolKind } from './pool';
import type { MetricsHistoryOptions } from './metrics-history';
import type { WorkerMetricsConfig } from './metrics-endpoint';

export { DEFAULT_CELERY_VERSION } from '../protocol/celery-version';

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
  /**
   * Where tasks run: `async` in this process (the default; best for I/O-bound tasks), or `process`: one child
   * process per concurrency slot, like Celery's prefork, so a hard time limit can kill a task and a task that
   * crashes its process fails alone. The process pool needs `appModule`.
   */
  pool?: PoolKind;
  /** The task module the process pool's children load, as given to `-A` (`path[:export]`). */
  appModule?: string;
  /** Ack after the task ends (at-least-once) unless a task says otherwise; false acks before running. Default true. */
  acksLate?: boolean;
  /** Hard time limit in seconds for tasks whose message and definition set none. Default none. */
  /**
   * Debug mode: the tasks run in one task process (`-P process -c 1`) that waits for a debugger (its inspector's
   * address is logged), with no time limit of any kind, so a task paused at a breakpoint is neither failed, killed
   * nor redelivered; heartbeats go on from the main process meanwhile. What it relaxes is logged at start.
   */
  debug?: boolean;
  timeLimit?: number;
  /** Soft time limit in seconds for tasks whose message and definition set none. Default none. */
  softTimeLimit?: number;
  /**
   * Seconds a warm shutdown waits for running tasks before it turns cold (aborts them and gives their messages
   * back). Default 60; Infinity waits for ever.
   */
  shutdownTimeout?: number;
  /**
   * Publish Celery's events (worker-online, heartbeats every 2 s, task-received/started/succeeded/failed/retried/
   * revoked in `task.multi` batches, worker-offline), like `celery worker -E`, for Flower and `celery events`.
   * Either way the `enable_events`/`disable_events` control commands turn them on and off while it runs.
   * Default false.
   */
  events?: boolean;
  /**
   * The Celery version of the workers and tools this worker runs beside (`'5.6'`, `'5.2.6'`): what it writes follows
   * that Celery where Celery 5.3 changed it. From 5.3 on (see runner/protocol/celery-version.ts): the messages it
   * sends (retries, chain steps, callbacks, chord callbacks) carry `replaced_task_nesting`, `stamped_headers` and
   * `stamps`, and a retry keeps its request's origin; `date_done` is written with its offset (`...+00:00`);
   * `revoke` answers `tasks {'<id>'} flagged as revoked`, `inspect active/reserved/scheduled` say `redelivered:
   * false` for a first delivery and `inspect stats` puts `pool.implementation` first and adds
   * `broker.credential_provider`. Before 5.3: 5.2.6's messages (stamps only when a message had some), a naive
   * `date_done`, `tasks <id> flagged as revoked` and `redelivered: null`. Default: the `RADISH_CELERY_VERSION`
   * environment variable, else `'5.6'`.
   */
  celeryVersion?: string;
  /**
   * Write the per-minute metrics history (outcomes and runtimes by task and queue, queue depths) into the shared
   * Redis, once a minute, for the VS Code Metrics view: counted in memory, so no round trip per task. False turns it
   * off (CLI `--no-metrics-history`). Default true (when there is a shared Redis: the broker, or the result backend).
   */
  metricsHistory?: boolean | MetricsHistoryOptions;
  /**
   * Serve Prometheus metrics on this port at `/metrics` (CLI `--metrics-port`): tasks by name and outcome, runtime and
   * queue-wait histograms, active/reserved/ETA gauges, and Flower's metric names (runner/metrics/). 0 picks a free
   * port. Default none: no endpoint, and no listener on the worker's events.
   */
  metricsPort?: number;
  /** Interface the metrics endpoint listens on (CLI `--metrics-host`). Default `0.0.0.0`. */
  metricsHost?: string;
  /**
   * Also serve the depth and oldest message age of the queues this worker consumes (CLI `--metrics-queues`), read
   * once per scrape. Default false: `radish exporter` serves them once for the whole fleet.
   */
  metricsQueues?: boolean;
}

/** {@link WorkerOptions} with their defaults applied; see there for what each means. */
export interface CompiledWorkerOptions {
  readonly queues: readonly string[];
  /** At least 1. */
  readonly concurrency: number;
  /** At least 1. */
  readonly prefetchMultiplier: number;
  readonly hostname: string;
  readonly logger: Logger;
  readonly resultExtended: boolean;
  readonly trackStarted: boolean;
  readonly restoreOnStart: boolean;
  /** Seconds; 0 or less: off. */
  readonly recoveryInterval: number;
  /** The process pool comes with the module its children load. */
  readonly pool: { readonly kind: 'async' } | { readonly kind: 'process'; readonly appModule: string };
  readonly acksLate: boolean;
  /** Seconds; 0 (or less): none. */
  readonly debug: boolean;
  readonly timeLimit: number;
  /** Seconds; 0 (or less): none. */
  readonly softTimeLimit: number;
  readonly shutdownTimeout: number;
  readonly events: boolean;
  /** A valid Celery version (see {@link celeryVersionOf}). */
  readonly celeryVersion: string;
  /** What that Celery writes (see runner/protocol/celery-version.ts). */
  readonly layout: CeleryLayout;
  /** Null: off. */
  readonly metricsHistory: { readonly intervalSec: number } | null;
  /** Null: no metrics endpoint. */
  readonly metrics: WorkerMetricsConfig | null;
}

/**
 * The Celery version the worker follows: the option, else `RADISH_CELERY_VERSION`, else the default (`'5.6'`). Throws
 * when it is not a version (`'5.6'`, `'5.2.6'`).
 */
export function celeryVersionOf(options: Pick<WorkerOptions, 'celeryVersion'>): string {
  return resolveCeleryVersion(options.celeryVersion);
}

/**
 * Apply the defaults of {@link WorkerOptions}; `defaultQueue` is the app's. Throws when the options cannot work
 * together (the process pool without its module).
 */
export function compileOptions(options: WorkerOptions, defaultQueue: string): CompiledWorkerOptions {
  const celeryVersion = celeryVersionOf(options);
  let pool: CompiledWorkerOptions['pool'] = { kind: 'async' };
  if (options.pool === 'process' || options.debug) {
    if (!options.appModule) throw new Error('the process pool needs the task module (appModule, or -A)');
    pool = { kind: 'process', appModule: options.appModule };
  }
  return {
    queues: options.queues?.length ? [...options.queues] : [defaultQueue],
    concurrency: options.debug ? 1 : Math.max(1, options.concurrency ?? 10),
    prefetchMultiplier: Math.max(1, options.prefetchMultiplier ?? 4),
    hostname: options.hostname ?? `radish@${osHostname()}`,
    logger: options.logger ?? createLogger('info'),
    resultExtended: options.resultExtended ?? false,
    trackStarted: Boolean(options.trackStarted),
    restoreOnStart: options.restoreOnStart !== false,
    recoveryInterval: options.recoveryInterval ?? 5,
    pool,
    acksLate: options.acksLate ?? true,
    debug: Boolean(options.debug),
    timeLimit: options.debug ? 0 : options.timeLimit ?? 0,
    softTimeLimit: options.debug ? 0 : options.softTimeLimit ?? 0,
    shutdownTimeout: options.shutdownTimeout ?? 60,
    events: Boolean(options.events),
    celeryVersion,
    layout: celeryLayout(celeryVersion),
    metricsHistory: options.metricsHistory === false ? null
      : { intervalSec: Math.max(0.1, (typeof options.metricsHistory === 'object' ? options.metricsHistory.intervalSec : undefined) ?? 60) },
    metrics: metricsConfig(options),
  };
}

/** The metrics endpoint's settings, or null without a port. Throws on a port that is not one. */
function metricsConfig(options: WorkerOptions): WorkerMetricsConfig | null {
  const port = options.metricsPort;
  if (port === undefined || port === null) return null;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`metricsPort must be a TCP port (0 to 65535), got ${String(port)}`);
  return { port, host: options.metricsHost ?? '0.0.0.0', queues: options.metricsQueues === true };
}
