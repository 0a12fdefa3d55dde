/**
 * bee-queue (from bench/node_modules) with its defaults: a job is a field of the jobs hash plus an id in the
 * waiting list (Lua), a worker with concurrency 50 takes it with BRPOPLPUSH into the active list, runs it and
 * records it in one MULTI (LREM active, HSET job, SADD succeeded, PUBLISH the result). Succeeded jobs are kept
 * (removeOnSuccess: false) but bee-queue keeps no result: the result travels only in that event, which is
 * where the latency measurement reads it.
 */
import Redis from 'ioredis';
import { now, sleep } from './clock';
import { spawnBenchConsumer, waitForBlockedClient } from './child';
import { BenchError } from './errors';
import { loadPeer, peerMissing, peerVersion } from './peers';
import type { Consumer, System, SystemContext } from './system';

const QUEUE = 'bench';
/** Staged jobs are saved to a queue of this name, whose keys are renamed onto the bench queue's to release them. */
const STAGING_QUEUE = 'bench-staged';
const PREFIX = 'bq';
const BULK_BATCH = 1000;

/** The part of bee-queue's API the bench uses. */
interface BeeJob {
  readonly data: { sentAt?: number };
  save(): Promise<BeeJob>;
}
interface BeeSettings {
  redis: { host: string; port: number; db: number };
  prefix: string;
  isWorker: boolean;
  getEvents: boolean;
  sendEvents?: boolean;
  /** Whether this instance keeps the jobs it created in memory (for their events); the bench's client does not. */
  storeJobs: boolean;
  removeOnSuccess?: boolean;
}
interface BeeQueue {
  createJob(data: object): BeeJob;
  saveAll(jobs: BeeJob[]): Promise<Map<BeeJob, Error>>;
  process(concurrency: number, handler: (job: BeeJob) => Promise<unknown>): void;
  checkHealth(): Promise<{ succeeded: number }>;
  ready(): Promise<unknown>;
  close(timeoutMs?: number): Promise<void>;
  on(event: 'job succeeded', listener: (id: string, result: unknown) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
type BeeQueueClass = new (name: string, settings: BeeSettings) => BeeQueue;

function redisSettings(url: string): BeeSettings['redis'] {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1) || 0) };
}

async function processJob(job: BeeJob): Promise<number | null> {
  return job.data.sentAt === undefined ? null : now() - job.data.sentAt;
}

/** A bee-queue worker on the bench queue, in this process. */
export async function startBeeQueueConsumer(url: string, concurrency: number): Promise<Consumer> {
  const Queue = loadPeer<BeeQueueClass>('bee-queue');
  const queue = new Queue(QUEUE, {
    redis: redisSettings(url), prefix: PREFIX, isWorker: true, getEvents: false, sendEvents: true, storeJobs: false, removeOnSuccess: false,
  });
  let failure: string | undefined;
  queue.on('error', (err) => { failure = `bee-queue worker: ${err.message}`; });
  await queue.ready();
  queue.process(concurrency, processJob);
  return { stop: () => queue.close(10_000), error: () => failure };
}

export class BeeQueueSystem implements System {
  readonly name = 'bee-queue';
  readonly version = peerVersion('bee-queue');
  readonly description = `bee-queue ${this.version ?? ''} set as its README advises for speed (client: isWorker, getEvents off; worker: getEvents, ` +
    'storeJobs off): Lua save (jobs hash + waiting list) -> BRPOPLPUSH into active, c=50 -> run -> MULTI (LREM active, HSET job, SADD ' +
    'succeeded, PUBLISH result); no stored result (it is only in the event)';
  private ctx!: SystemContext;
  private queue!: BeeQueue;
  private staging!: BeeQueue;
  /** Subscribed to the job events during a latency measurement only, so the drain's events cost the bench nothing. */
  private events: Promise<BeeQueue> | undefined;
  private delays: number[] = [];
  private stamped = 0;
  private admin!: Redis;

  async unavailable(): Promise<string | undefined> {
    return peerMissing('bee-queue');
  }

  private client(name: string, getEvents: boolean): BeeQueue {
    const Queue = loadPeer<BeeQueueClass>('bee-queue');
    return new Queue(name, { redis: redisSettings(this.ctx.redisUrl), prefix: PREFIX, isWorker: false, getEvents, storeJobs: false });
  }

  async open(ctx: SystemContext): Promise<void> {
    this.ctx = ctx;
    this.queue = this.client(QUEUE, false);
    this.staging = this.client(STAGING_QUEUE, false);
    await Promise.all([this.queue.ready(), this.staging.ready()]);
    this.admin = new Redis(ctx.redisUrl, { lazyConnect: true });
    await this.admin.connect();
  }

  async enqueueOne(): Promise<void> {
    await this.queue.createJob({}).save();
  }

  private async saveAll(queue: BeeQueue, n: number): Promise<void> {
    for (let sent = 0; sent < n; sent += BULK_BATCH) {
      const errors = await queue.saveAll(Array.from({ length: Math.min(BULK_BATCH, n - sent) }, () => queue.createJob({})));
      const first = errors.values().next();
      if (!first.done) throw new BenchError(`bee-queue saveAll: ${errors.size} jobs failed: ${first.value.message}`);
    }
  }

  async enqueueBulk(n: number): Promise<void> {
    await this.saveAll(this.queue, n);
  }

  async stage(n: number): Promise<void> {
    await this.saveAll(this.staging, n);
  }

  async release(): Promise<void> {
    // The jobs first, then the ids that point at them, so a worker never pops an id whose job is not there yet.
    // Both RENAMEs run as one transaction; the second wakes the worker blocked in BRPOPLPUSH.
    const key = (queue: string, name: string) => `${PREFIX}:${queue}:${name}`;
    await this.admin.multi()
      .rename(key(STAGING_QUEUE, 'jobs'), key(QUEUE, 'jobs'))
      .rename(key(STAGING_QUEUE, 'waiting'), key(QUEUE, 'waiting'))
      .exec();
  }

  async startConsumer(): Promise<Consumer> {
    const { redisUrl, concurrency } = this.ctx;
    if (this.ctx.consumerMode === 'inline') return startBeeQueueConsumer(redisUrl, concurrency);
    const consumer = await spawnBenchConsumer('bee-queue', redisUrl, concurrency);
    await waitForBlockedClient(this.admin, undefined, consumer);
    return consumer;
  }

  async completed(): Promise<number> {
    return (await this.queue.checkHealth()).succeeded;
  }

  private listen(): Promise<BeeQueue> {
    this.events ??= (async () => {
      const events = this.client(QUEUE, true);
      events.on('job succeeded', (_id, result) => {
        if (typeof result === 'number') this.delays.push(result);
      });
      await events.ready();
      return events;
    })();
    return this.events;
  }

  async sendStamped(sentAt: number): Promise<void> {
    await this.listen();
    this.stamped++;
    await this.queue.createJob({ sentAt }).save();
  }

  async latencies(): Promise<number[]> {
    // The event is published in the MULTI that records the success, so it may reach us just after the count.
    const deadline = now() + 1000;
    while (this.delays.length < this.stamped) {
      if (now() > deadline) throw new BenchError(`bee-queue: ${this.stamped - this.delays.length} of ${this.stamped} succeeded events never arrived`);
      await sleep(10);
    }
    return this.delays;
  }

  private async stopListening(): Promise<void> {
    const events = this.events;
    this.events = undefined;
    this.delays = [];
    this.stamped = 0;
    if (events) await (await events).close();
  }

  async reset(): Promise<void> {
    await this.stopListening();
    await this.admin.flushall();
  }

  async close(): Promise<void> {
    await this.stopListening().catch(() => undefined);
    await this.queue?.close();
    await this.staging?.close();
    this.admin?.disconnect();
  }
}
