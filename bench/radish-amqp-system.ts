/**
 * Radish on RabbitMQ, as a user runs it (`new Radish({ broker: 'amqp://...', backend: 'redis://...' })`, `radish
 * worker --broker amqp://... --result-backend redis://...`): the client publishes each message on a confirm channel
 * and waits for the broker's confirm; the worker (concurrency 50, its default prefetch of 50 x 4 under basic.qos)
 * runs each task, stores its result in Redis (SETEX + PUBLISH) and acks it. The worker always runs in a process of
 * its own: staging pauses it (amqp-bench.ts).
 */
import { decodeResult, Radish } from 'radish';
import { AmqpBench, rabbitUnavailable, rabbitVersion } from './amqp-bench';
import { BenchError } from './errors';
import { sendNoops, spawnRadishWorker } from './radish-system';
import { storedResults } from './results';
import type { Consumer, System, SystemContext } from './system';

export class RadishAmqpSystem implements System {
  readonly name = 'radish-amqp';
  readonly broker = 'rabbitmq';
  private ctx!: SystemContext;
  private bench!: AmqpBench;
  private client!: Radish;
  private ids: string[] = [];
  private stagedIds: string[] = [];
  private rabbit: string | undefined;

  get description(): string {
    return `radish-amqp (RabbitMQ ${this.rabbit ?? ''} broker, results in Redis): publish + wait for the publisher confirm -> ` +
      `worker -c ${this.ctx?.concurrency ?? 50} (prefetch ${4 * (this.ctx?.concurrency ?? 50)}, global basic.qos) -> run -> store result in Redis (SETEX+PUBLISH) -> basic.ack`;
  }

  async unavailable(): Promise<string | undefined> {
    return rabbitUnavailable();
  }

  async open(ctx: SystemContext): Promise<void> {
    this.ctx = ctx;
    this.rabbit = await rabbitVersion();
    this.bench = await AmqpBench.open(this.name, ctx.redisUrl);
    this.client = new Radish({ broker: this.bench.vhost.url, backend: ctx.redisUrl });
    await this.client.broker(); // connect now, so the first timed call does not pay for it
  }

  async enqueueOne(): Promise<void> {
    await this.client.send('bench.noop');
  }

  async enqueueBulk(n: number): Promise<void> {
    await sendNoops(this.client, n);
  }

  async stage(n: number): Promise<void> {
    // Sent as a bulk send sends them, straight onto the task queue, the worker paused meanwhile.
    this.bench.pause();
    this.stagedIds.push(...await sendNoops(this.client, n));
  }

  async release(): Promise<void> {
    this.ids.push(...this.stagedIds.splice(0));
    this.bench.resume();
  }

  async startConsumer(): Promise<Consumer> {
    // In its own process whatever --consumers says: staging pauses the worker with SIGSTOP.
    const worker = await spawnRadishWorker(this.bench.vhost.url, [
      '--result-backend', this.ctx.redisUrl, '-c', String(this.ctx.concurrency),
    ]);
    return this.bench.watch('radish worker', worker, 30_000);
  }

  async completed(): Promise<number> {
    return this.bench.completed();
  }

  async verify(): Promise<void> {
    await storedResults(this.bench.redis, this.ids, this.name);
  }

  async sendStamped(sentAt: number): Promise<void> {
    const result = await this.client.send('bench.latency', [sentAt]);
    this.ids.push(result.id);
  }

  async latencies(): Promise<number[]> {
    return (await storedResults(this.bench.redis, this.ids, this.name)).map((raw) => {
      const value = decodeResult(raw).result;
      if (typeof value !== 'number') throw new BenchError(`${this.name}: bench.latency returned ${JSON.stringify(value)}`);
      return value;
    });
  }

  async reset(): Promise<void> {
    this.ids = [];
    this.stagedIds = [];
    await this.bench.reset();
  }

  async close(): Promise<void> {
    await this.client?.close();
    await this.bench?.close();
  }
}
