/**
 * The worker's side of the metrics history: counts outcomes and runtimes per minute, by queue and task, in memory
 * (nothing per task goes to Redis), and writes them once a minute as one MULTI of HINCRBYs into that minute's hash
 * in the shared store, which every worker adds to and which expires after {@link HISTORY_TTL_SEC}. Once a minute one
 * worker of the fleet (the first to claim the minute) also samples every queue's depth and oldest waiting message.
 * The history exists whether or not anyone watches it; the Metrics view and the status bar read it
 * (history-reader.ts).
 */
import type { SharedStore } from '../broker/shared-store';
import type { Broker } from '../broker/transport';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { WorkerEventListeners } from './listener';
import {
  bucketField, counterField, HISTORY_MINUTES, HISTORY_TTL_SEC, MINUTE_MS, minuteOf, queueField, runtimeBucket, SAMPLER_FIELD,
  type OutcomeKind,
} from '../metrics/history-buckets';

/** How the metrics history is written (the worker's `metricsHistory` option). */
export interface MetricsHistoryOptions {
  /**
   * Seconds between writes. Default 60: one write per worker per minute, a few seconds after each minute turns, so
   * the minute that ended is complete in Redis. Shorter only for tests and demos.
   */
  intervalSec?: number;
}

/** What the writer hears from the worker: its typed events. */
export interface WorkerEventSource {
  on<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): unknown;
  off<K extends keyof WorkerEventListeners>(event: K, listener: WorkerEventListeners[K]): unknown;
}

export interface HistoryWriterConfig {
  store: SharedStore;
  /** Sampled for queue depths and ages when this worker claims a minute. */
  broker: Broker;
  /** The worker's node name, recorded as the minute's sampler. */
  hostname: string;
  /** The queues the worker consumes now (sampled besides those the broker lists). */
  queues: () => readonly string[];
  logger: Logger;
  /** Seconds between writes (see {@link MetricsHistoryOptions.intervalSec}). */
  intervalSec: number;
  /** The clock, ms since the epoch. Default Date.now (tests pass a fake). */
  now?: () => number;
}

/** What is known of a task between its receipt and its outcome. */
interface InFlight {
  name: string;
  queue: string;
  /** When it started (ms), once it did. */
  started?: number;
}

/** A queue as one sample saw it. */
export interface QueueSample {
  queue: string;
  depth: number;
  /** Seconds the oldest waiting message has waited; null when the broker cannot tell. */
  oldestAgeSec: number | null;
}

/** Most ms after a minute turns that a write waits, spread so a fleet's writes do not all land at once. */
const SPREAD_MS = 3000;
/** Most tasks followed at once between receipt and outcome: a bound against a leak, far above any prefetch. */
const MAX_IN_FLIGHT = 1_000_000;

export class MetricsHistoryWriter {
  /** Increments not yet written: minute -> field -> amount. */
  private pending = new Map<number, Map<string, number>>();
  /**
   * Tasks between receipt and outcome, by id; more than one attempt of an id when a retry (same id) arrives before
   * the retried attempt's event: attempts end in the order they arrived.
   */
  private readonly inFlight = new Map<string, InFlight[]>();
  private inFlightCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private readonly now: () => number;
  private readonly listeners: { [K in keyof WorkerEventListeners]?: WorkerEventListeners[K] };
  /** Writes made (each one MULTI), for tests and the log. */
  writes = 0;

  constructor(private readonly config: HistoryWriterConfig) {
    this.now = config.now ?? Date.now;
    this.listeners = {
      'task-received': (id, msg) => {
        if (this.inFlightCount >= MAX_IN_FLIGHT) return;
        const attempt: InFlight = { name: msg.name, queue: msg.routingKey || msg.exchange || '' };
        const attempts = this.inFlight.get(id);
        if (attempts) attempts.push(attempt);
        else this.inFlight.set(id, [attempt]);
        this.inFlightCount++;
      },
      'task-started': (id) => {
        const t = this.inFlight.get(id)?.find((a) => a.started === undefined);
        if (t) t.started = this.now();
      },
      'task-succeeded': (id, _value, runtime) => this.ended(id, 'succeeded', runtime * 1000),
      'task-failed': (id) => this.ended(id, 'failed'),
      'task-retried': (id) => this.ended(id, 'retried'),
      'task-revoked': (id) => this.ended(id, 'revoked'),
    };
  }

  /** Follow a worker's task events (before it takes messages). */
  attach(source: WorkerEventSource): void {
    for (const [event, listener] of Object.entries(this.listeners)) {
      source.on(event as 'task-started', listener as WorkerEventListeners['task-started']);
    }
  }

  detach(source: WorkerEventSource): void {
    for (const [event, listener] of Object.entries(this.listeners)) {
      source.off(event as 'task-started', listener as WorkerEventListeners['task-started']);
    }
  }

  /** A task ended: count it in the minute it ended, with its runtime (ms; measured here when not given) if it ran. */
  private ended(id: string, kind: OutcomeKind, runtimeMs?: number): void {
    const attempts = this.inFlight.get(id);
    const t = attempts?.shift();
    if (!t) return;
    this.inFlightCount--;
    if (attempts!.length === 0) this.inFlight.delete(id);
    const now = this.now();
    const minute = this.minute(minuteOf(now));
    add(minute, counterField(kind, t.queue, t.name), 1);
    const ran = runtimeMs ?? (t.started === undefined ? undefined : now - t.started);
    if (ran !== undefined && kind !== 'revoked') add(minute, bucketField(runtimeBucket(ran), t.queue, t.name), 1);
  }

  private minute(m: number): Map<string, number> {
    let fields = this.pending.get(m);
    if (!fields) this.pending.set(m, fields = new Map());
    return fields;
  }

  /** Start writing on the interval. */
  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = this.config.intervalSec * 1000;
    // On the minute (a little after it turns), so each write carries the minute that just ended whole.
    const delay = every === MINUTE_MS ? MINUTE_MS - (this.now() % MINUTE_MS) + Math.random() * SPREAD_MS : every;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  /** One write, then the queue sample when this worker claimed the minute. Never throws (it runs on a timer). */
  private async tick(): Promise<void> {
    const claimed = await this.flush(true);
    if (claimed !== undefined) await this.sample(claimed).catch((err: unknown) => this.warn('sample the queues', err));
  }

  /**
   * Write what was counted, as one MULTI; with `claim`, the same MULTI claims the current minute's queue sample.
   * Returns the minute claimed, if this worker won it. What could not be written is kept for the next write.
   */
  async flush(claim = false): Promise<number | undefined> {
    await this.writing;
    if (this.pending.size === 0 && !claim) return undefined;
    const batch = this.pending;
    this.pending = new Map();
    const { redis, keys } = this.config.store;
    const nowMinute = minuteOf(this.now());
    const multi = redis.multi();
    for (const [minute, fields] of batch) {
      const key = keys.metricsMinute(minute);
      for (const [field, n] of fields) multi.hincrby(key, field, n);
      multi.expire(key, HISTORY_TTL_SEC);
    }
    const claimKey = keys.metricsQueues(nowMinute);
    if (claim) multi.hsetnx(claimKey, SAMPLER_FIELD, this.config.hostname).expire(claimKey, HISTORY_TTL_SEC);
    const run = (async () => {
      try {
        const replies = await multi.exec();
        this.writes++;
        if (this.failing) this.config.logger.log('info', 'Metrics history: writing again');
        this.failing = false;
        const won = claim && Number(replies?.[replies.length - 2]?.[1]) === 1;
        return won ? nowMinute : undefined;
      } catch (err) {
        this.keep(batch, nowMinute);
        this.warn('write the metrics history (kept for the next write)', err);
        return undefined;
      }
    })();
    this.writing = run.then(() => undefined);
    return run;
  }

  /** Put back an unwritten batch, dropping minutes too old to be shown anyway. */
  private keep(batch: Map<number, Map<string, number>>, nowMinute: number): void {
    for (const [minute, fields] of batch) {
      if (minute < nowMinute - HISTORY_MINUTES) continue;
      const into = this.minute(minute);
      for (const [field, n] of fields) add(into, field, n);
    }
  }

  /** Sample every queue the broker lists (and this worker's) into the claimed minute's queue hash. */
  private async sample(minute: number): Promise<void> {
    const listed = await this.config.broker.declaredQueues().catch(() => [] as string[]);
    const queues = [...new Set([...listed, ...this.config.queues()])].sort();
    const samples = await sampleQueues(this.config.broker, queues, this.now());
    const { redis, keys } = this.config.store;
    const key = keys.metricsQueues(minute);
    const fields: Record<string, string> = {};
    for (const s of samples) {
      fields[queueField('depth', s.queue)] = String(s.depth);
      if (s.oldestAgeSec !== null) fields[queueField('age', s.queue)] = String(Math.round(s.oldestAgeSec * 1000) / 1000);
    }
    const multi = redis.multi();
    if (samples.length) multi.hset(key, fields);
    multi.expire(key, HISTORY_TTL_SEC);
    await multi.exec();
  }

  private warn(what: string, err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.config.logger.log('warning', `Metrics history: could not ${what}: ${errorMessage(err)}`);
  }

  /** Stop the timer and write what is left (a warm stop's last write). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return this.writing;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.inFlight.clear();
    this.inFlightCount = 0;
    await this.flush();
  }
}

function add(fields: Map<string, number>, field: string, n: number): void {
  fields.set(field, (fields.get(field) ?? 0) + n);
}

/**
 * Depth and oldest waiting message's age of each queue, from the broker's {@link Broker.queueStats}. An empty queue's
 * oldest wait is 0; a waiting message without a send-time stamp (Celery's), or one the broker cannot show, leaves the
 * age unknown (null), never guessed.
 */
export async function sampleQueues(broker: Broker, queues: readonly string[], nowMs: number): Promise<QueueSample[]> {
  if (queues.length === 0) return [];
  const stats = await broker.queueStats(queues);
  return stats.map((q) => ({
    queue: q.queue,
    depth: q.depth,
    oldestAgeSec: q.depth === 0 ? 0 : q.oldestSentAt === undefined ? null : Math.max(0, (nowMs - q.oldestSentAt) / 1000),
  }));
}
