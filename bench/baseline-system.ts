/**
 * The ceiling: raw ioredis LPUSH and BRPOP/RPOP of messages as large as Radish's, with no acks and no results.
 * What Radish costs over it is the price of its semantics (and what is left to optimise).
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { BASELINE_CLIENT, BASELINE_DONE, BASELINE_LATENCY, BASELINE_QUEUE, startBaselineConsumer, type BaselineMessage } from './baseline-consumer';
import { spawnBenchConsumer, waitForBlockedClient } from './child';
import { now } from './clock';
import type { Consumer, System, SystemContext } from './system';

const STAGING_KEY = 'bench.baseline.staged';
const BULK_BATCH = 1000;

export class BaselineSystem implements System {
  readonly name = 'baseline';
  readonly description: string;
  private ctx!: SystemContext;
  private redis!: Redis;
  private readonly pad: string;

  /** @param messageBytes size to pad messages to, so both systems move the same bytes. */
  constructor(messageBytes: number) {
    const bare = Buffer.byteLength(this.encode(null, ''));
    this.pad = 'x'.repeat(Math.max(0, messageBytes - bare));
    this.description = `baseline: raw ioredis LPUSH -> RPOP 200 a round-trip (BRPOP when empty) -> JSON.parse of ${messageBytes}-byte messages ` +
      "(Radish's size); no acks, no results: a ceiling, far above a BRPOP loop (one message a round-trip)";
  }

  private encode(sentAt: number | null, pad = this.pad): string {
    const msg: BaselineMessage = { id: randomUUID(), task: 'bench.noop', args: sentAt === null ? [] : [sentAt], pad };
    return JSON.stringify(msg);
  }

  async open(ctx: SystemContext): Promise<void> {
    this.ctx = ctx;
    // Auto-pipelining, as Radish's connections have, so both batch concurrent calls the same way.
    this.redis = new Redis(ctx.redisUrl, { enableAutoPipelining: true, lazyConnect: true });
    await this.redis.connect();
  }

  async enqueueOne(): Promise<void> {
    await this.redis.lpush(BASELINE_QUEUE, this.encode(null));
  }

  async enqueueBulk(n: number): Promise<void> {
    for (let sent = 0; sent < n; sent += BULK_BATCH) {
      const batch = Array.from({ length: Math.min(BULK_BATCH, n - sent) }, () => this.encode(null));
      await this.redis.lpush(BASELINE_QUEUE, ...batch);
    }
  }

  async stage(n: number): Promise<void> {
    for (let staged = 0; staged < n; staged += BULK_BATCH) {
      await this.redis.lpush(STAGING_KEY, ...Array.from({ length: Math.min(BULK_BATCH, n - staged) }, () => this.encode(null)));
    }
  }

  async release(): Promise<void> {
    await this.redis.rename(STAGING_KEY, BASELINE_QUEUE);
  }

  async startConsumer(): Promise<Consumer> {
    if (this.ctx.consumerMode === 'inline') {
      return startBaselineConsumer(this.ctx.redisUrl, now);
    }
    const consumer = await spawnBenchConsumer('baseline', this.ctx.redisUrl, this.ctx.concurrency);
    await waitForBlockedClient(this.redis, BASELINE_CLIENT, consumer);
    return consumer;
  }

  async completed(): Promise<number> {
    return Number(await this.redis.get(BASELINE_DONE) ?? 0);
  }

  async sendStamped(sentAt: number): Promise<void> {
    await this.redis.lpush(BASELINE_QUEUE, this.encode(sentAt));
  }

  async latencies(): Promise<number[]> {
    return (await this.redis.lrange(BASELINE_LATENCY, 0, -1)).map(Number);
  }

  async reset(): Promise<void> {
    await this.redis.flushall();
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }
}
