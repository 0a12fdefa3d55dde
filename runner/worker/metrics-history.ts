/**
 * The worker's side of the metrics history: counts outcomes and runtimes per minute, by queue and task, in memory
 * (nothing per task goes to Redis), and writes them once a minute as one script call of HINCRBYs into that minute's
 * hash in the shared store, which every worker adds to and which expires after {@link HISTORY_TTL_SEC}. Each batch
 * carries a token set in the same atomic step, so a batch sent again after a lost reply is counted once. Once a minute one
 * worker of the fleet (the first to claim the minute) also samples every queue's depth and oldest waiting message.
 * The history exists whether or not anyone watches it; the Metrics view and the status bar read it
 * (history-reader.ts).
 */
import { randomUUID } from 'node:crypto';
import { scripts } from '../broker/scripts';
import type { SharedStore } from '../broker/shared-store';
import type { Broker } from '../broker/transport';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { WorkerEventListeners } from './listener';
import {
  bucketField, counterField, HISTORY_TTL_SEC, MINUTE_MS, minuteOf, queueField, runtimeBucket, SAMPLER_FIELD,
  type OutcomeKind,
} from '../metrics/history-buckets';
import { oldestAgeSec } from '../metrics/queue-age';
import { RunTracker, type RunEnd } from '../metrics/run-tracker';

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

/** The fields of one (queue, task) pair, built once and kept (no string is built per task). */
interface PairFields {
  readonly queue: string;
  readonly task: string;
  readonly counters: Partial<Record<OutcomeKind, string>>;
  /** By runtime bucket. */
  readonly buckets: (string | undefined)[];
}

/** What is known of a task between its receipt and its outcome. */
interface InFlight {
  readonly fields: PairFields;
  /** When it started (ms, the writer's clock), once it did. */
  startedAt?: number | undefined;
}

/** A queue as one sample saw it. */
export interface QueueSample {
  queue: string;
  depth: number;
  /** Seconds the oldest waiting message has waited (0 when empty); null when the broker cannot tell. */
  oldestAgeSec: number | null;
}

/** Increments by minute: minute -> field -> amount. */
type Batch = Map<number, Map<string, number>>;

/** A batch whose write failed, sent again (with the same token: counted once) before the next one. */
interface Unsent {
  readonly token: string;
  readonly batch: Batch;
  /** When it was first sent (ms, the writer's clock). */
  readonly since: number;
}

/** Most ms after a minute turns that a write waits, spread so a fleet's writes do not all land at once. */
const SPREAD_MS = 3000;
/** Seconds a written batch's token is kept in Redis: a batch is sent again only within this time. */
export const BATCH_TOKEN_TTL_SEC = 3 * 3600;
/** An unsent batch older than this is dropped (its token may be gone: sending it again could count it twice). */
const UNSENT_MAX_MS = (BATCH_TOKEN_TTL_SEC - 600) * 1000;
/** A dead-lettered message whose task name could not be read (as runner/worker/metrics.ts names it). */
const UNKNOWN_TASK = '(unknown)';

export class MetricsHistoryWriter {
  /** Increments not yet written. */
  private pending: Batch = new Map();
  /** Batches whose write failed, oldest first. */
  private unsent: Unsent[] = [];
  /** Tasks between receipt and outcome (or release), by id. */
  private readonly inFlight = new RunTracker<InFlight>();
  /** Fields by queue, then task. */
  private readonly fieldsByQueue = new Map<string, Map<string, PairFields>>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private readonly now: () => number;
  private readonly listeners: { [K in keyof WorkerEventListeners]?: WorkerEventListeners[K] };
  /** Writes made (each one script call), for tests and the log. */
  writes = 0;

  constructor(private readonly config: HistoryWriterConfig) {
    this.now = config.now ?? Date.now;
    this.listeners = {
      'task-received': (id, msg, queue) => {
        this.inFlight.add(id, { fields: this.fields(queue, msg.name) });
      },
      'task-started': (id) => {
        const t = this.inFlight.toStart(id);
        if (t) t.startedAt = this.now();
      },
      'task-succeeded': (id, _value, runtime) => this.ended(id, 'succeeded', 'started', runtime * 1000),
      'task-failed': (id) => this.ended(id, 'failed', 'started'),
      'task-retried': (id) => this.ended(id, 'retried', 'started'),
      // A terminated run had started; a discarded one (revoked, expired) had not.
      'task-revoked': (id, reason) => this.ended(id, 'revoked', reason === 'terminated' ? 'started' : 'waiting'),
      'task-released': (id, started) => {
        this.inFlight.end(id, started ? 'started' : 'waiting');
      },
      'dead-letter': (_id, _reason, name, queue) => this.count(this.fields(queue ?? '', name ?? UNKNOWN_TASK), 'dead_lettered'),
    };
  }

  /** Tasks followed now (received, not yet ended or released). */
  get inFlightCount(): number {
    return this.inFlight.size;
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

  private fields(queue: string, task: string): PairFields {
    let byTask = this.fieldsByQueue.get(queue);
    if (byTask === undefined) this.fieldsByQueue.set(queue, byTask = new Map());
    let found = byTask.get(task);
    if (found === undefined) byTask.set(task, found = { queue, task, counters: {}, buckets: [] });
    return found;
  }

  /** A task ended: count it in the minute it ended, with its runtime (ms; measured here when not given) if it ran. */
  private ended(id: string, kind: OutcomeKind, which: RunEnd, runtimeMs?: number): void {
    const t = this.inFlight.end(id, which);
    if (!t) return;
    const minute = this.count(t.fields, kind);
    const ran = runtimeMs ?? (t.startedAt === undefined ? undefined : this.now() - t.startedAt);
    if (ran !== undefined && kind !== 'revoked') {
      const f = t.fields;
      const b = runtimeBucket(ran);
      add(minute, f.buckets[b] ??= bucketField(b, f.queue, f.task), 1);
    }
  }

  /** Count one outcome now; returns the minute's increments. */
  private count(f: PairFields, kind: OutcomeKind): Map<string, number> {
    const minute = this.minute(minuteOf(this.now()));
    add(minute, f.counters[kind] ??= counterField(kind, f.queue, f.task), 1);
    return minute;
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
   * Write what was counted, as one atomic script call guarded by the batch's token (runner/broker/scripts/
   * metrics_write.lua); with `claim`, the same call claims the current minute's queue sample. Returns the minute
   * claimed, if this worker won it. A batch whose write failed is kept and sent again, with the same token, before
   * the next: if Redis had applied it (a lost reply), the second send adds nothing.
   */
  async flush(claim = false): Promise<number | undefined> {
    await this.writing;
    if (this.pending.size === 0 && this.unsent.length === 0 && !claim) return undefined;
    if (this.pending.size > 0) {
      this.unsent.push({ token: randomUUID(), batch: this.pending, since: this.now() });
      this.pending = new Map();
    }
    const run = this.send(claim);
    this.writing = run.then(() => undefined);
    return run;
  }

  private async send(claim: boolean): Promise<number | undefined> {
    const nowMinute = minuteOf(this.now());
    try {
      while (this.unsent.length > 0) {
        const next = this.unsent[0]!;
        const last = this.unsent.length === 1;
        const [, won] = await this.writeBatch(next, claim && last ? nowMinute : undefined);
        this.unsent.shift();
        this.writes++;
        if (last && claim) return this.wrote(won === 1 ? nowMinute : undefined);
      }
      if (!claim) return this.wrote(undefined);
      const [, won] = await this.writeBatch(undefined, nowMinute);
      return this.wrote(won === 1 ? nowMinute : undefined);
    } catch (err) {
      const dropAt = this.now() - UNSENT_MAX_MS;
      const before = this.unsent.length;
      this.unsent = this.unsent.filter((u) => u.since > dropAt);
      const dropped = before - this.unsent.length;
      this.warn(`write the metrics history (kept for the next write${dropped ? `; dropped ${dropped} batch(es) unsent for hours` : ''})`, err);
      return undefined;
    }
  }

  private wrote(claimed: number | undefined): number | undefined {
    if (this.failing) this.config.logger.log('info', 'Metrics history: writing again');
    this.failing = false;
    return claimed;
  }

  /** One call of the write script: a batch (or none) and a claim of `claimMinute`'s sample (or none). */
  private writeBatch(unsent: Unsent | undefined, claimMinute: number | undefined): Promise<[number, number]> {
    const { redis, keys } = this.config.store;
    const scriptKeys = [keys.metricsBatch(unsent?.token ?? randomUUID()), keys.metricsQueues(claimMinute ?? 0)];
    const args: (string | number)[] = [BATCH_TOKEN_TTL_SEC, HISTORY_TTL_SEC, claimMinute === undefined ? '' : this.config.hostname, SAMPLER_FIELD];
    if (unsent) {
      for (const [minute, fields] of unsent.batch) {
        scriptKeys.push(keys.metricsMinute(minute));
        args.push(fields.size);
        for (const [field, n] of fields) args.push(field, n);
      }
    }
    return scripts.metricsWrite.run<[number, number]>(redis, scriptKeys, args);
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
  return stats.map((q) => ({ queue: q.queue, depth: q.depth, oldestAgeSec: oldestAgeSec(q, nowMs) }));
}
