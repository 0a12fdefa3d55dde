/**
 * BullMQ (from bench/node_modules) with its defaults: a job is a hash plus an id in the wait list (Lua), a worker
 * with concurrency 50 moves it to active under a lock (Lua), runs it and moves it to completed with its return
 * value (Lua); completed jobs are kept (removeOnComplete: false), as Radish keeps results.
 *
 * Set up as BullMQ's docs show it: Queue and Worker given connection options, each making its own ioredis connections.
 * ioredis is BullMQ 6's optional peer (`>=5.0.0`; its own tests pin 5.11.1); the root's 6.x is used. Measured on
 * the bench's machine, 5.11.1, 6.0.0 and 6.1.0 gave the same enqueue, bulk and drain within run-to-run noise.
 */
import { now } from './clock';
import { spawnBenchConsumer, waitForBlockedClient } from './child';
import { BenchError } from './errors';
import { loadPeer, peerMissing, peerVersion, resolvedVersion } from './peers';
import type { Consumer, System, SystemContext } from './system';
import Redis from 'ioredis';

const QUEUE = 'bench';
const BULK_BATCH = 1000;

/** The part of BullMQ's API the bench uses (its own declarations stay in bench/node_modules). */
interface BullJob {
  name: string;
  data: { sentAt?: number };
  returnvalue: unknown;
}
interface BullConnection {
  host: string;
  port: number;
  db: number;
}
interface BullQueue {
  add(name: string, data: object): Promise<unknown>;
  addBulk(jobs: { name: string; data: object }[]): Promise<unknown>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  getCompletedCount(): Promise<number>;
  getCompleted(start?: number, end?: number): Promise<BullJob[]>;
  waitUntilReady(): Promise<void>;
  close(): Promise<void>;
}
interface BullWorker {
  waitUntilReady(): Promise<void>;
  close(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
interface BullMQ {
  Queue: new (name: string, opts: { connection: BullConnection }) => BullQueue;
  Worker: new (name: string, processor: (job: BullJob) => Promise<unknown>, opts: { connection: BullConnection; concurrency: number }) => BullWorker;
}

function connection(url: string): BullConnection {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1) || 0) };
}

/** The task body, shared by both job names: a no-op, or the delay since the stamped send. */
async function processJob(job: BullJob): Promise<number | null> {
  return job.name === 'bench.latency' ? now() - job.data.sentAt! : null;
}

/** A BullMQ worker on the bench queue, in this process. */
export async function startBullmqConsumer(url: string, concurrency: number): Promise<Consumer> {
  const { Worker } = loadPeer<BullMQ>('bullmq');
  const worker = new Worker(QUEUE, processJob, { connection: connection(url), concurrency });
  let failure: string | undefined;
  worker.on('error', (err) => { failure = `bullmq worker: ${err.message}`; });
  await worker.waitUntilReady();
  return { stop: () => worker.close(), error: () => failure };
}

export class BullmqSystem implements System {
  readonly name = 'bullmq';
  readonly version = peerVersion('bullmq');
  readonly description = `bullmq ${this.version ?? ''} at its defaults, as its docs set it up (connection options, ioredis ${resolvedVersion('ioredis') ?? '?'}): ` +
    'Lua add (job hash + wait list + event stream) -> worker c=50 moves to active under a lock -> run -> Lua move to completed with the ' +
    'return value (kept); staged by Queue.pause, released by resume';
  private ctx!: SystemContext;
  private queue!: BullQueue;
  private admin!: Redis;

  async unavailable(): Promise<string | undefined> {
    return peerMissing('bullmq');
  }

  async open(ctx: SystemContext): Promise<void> {
    this.ctx = ctx;
    const { Queue } = loadPeer<BullMQ>('bullmq');
    this.queue = new Queue(QUEUE, { connection: connection(ctx.redisUrl) });
    await this.queue.waitUntilReady();
    this.admin = new Redis(ctx.redisUrl, { lazyConnect: true });
    await this.admin.connect();
  }

  async enqueueOne(): Promise<void> {
    await this.queue.add('bench.noop', {});
  }

  async enqueueBulk(n: number): Promise<void> {
    for (let sent = 0; sent < n; sent += BULK_BATCH) {
      await this.queue.addBulk(Array.from({ length: Math.min(BULK_BATCH, n - sent) }, () => ({ name: 'bench.noop', data: {} })));
    }
  }

  async stage(n: number): Promise<void> {
    // A paused queue takes jobs exactly as a running one does, and workers do not fetch them until resume.
    await this.queue.pause();
    await this.enqueueBulk(n);
  }

  async release(): Promise<void> {
    await this.queue.resume();
  }

  async startConsumer(): Promise<Consumer> {
    const { redisUrl, concurrency } = this.ctx;
    if (this.ctx.consumerMode === 'inline') return startBullmqConsumer(redisUrl, concurrency);
    const consumer = await spawnBenchConsumer('bullmq', redisUrl, concurrency);
    // BullMQ names its connections itself; its worker waits on the queue's marker with BZPOPMIN.
    await waitForBlockedClient(this.admin, undefined, consumer);
    return consumer;
  }

  async completed(): Promise<number> {
    return this.queue.getCompletedCount();
  }

  async sendStamped(sentAt: number): Promise<void> {
    await this.queue.add('bench.latency', { sentAt });
  }

  async latencies(): Promise<number[]> {
    return (await this.queue.getCompleted(0, -1)).map((job) => {
      if (typeof job.returnvalue !== 'number') throw new BenchError(`bullmq: bench.latency returned ${JSON.stringify(job.returnvalue)}`);
      return job.returnvalue;
    });
  }

  async reset(): Promise<void> {
    await this.admin.flushall();
  }

  async close(): Promise<void> {
    await this.queue?.close();
    this.admin?.disconnect();
  }
}
