/**
 * What the two RabbitMQ systems (radish-amqp, celery-amqp) share: a vhost of their own on the local RabbitMQ, the
 * task queue declared there as Celery declares it, a connection of the bench's own to purge and count it, the
 * bench's redis-server as the result backend, and the two things RabbitMQ does differently from the Redis systems'
 * tricks:
 *
 * - Staging. RabbitMQ cannot rename a queue onto another (the Redis systems' RENAME), and moving messages between
 *   queues is a trickle, not a release. So the warm worker is paused (SIGSTOP) while the tasks are published straight
 *   onto its queue, and resumed (SIGCONT) to release them: the drain is timed from the resume, from a full queue, the
 *   worker connected and warm. While paused it is handed its prefetch (into its socket, unread); it still has to read,
 *   run, store and ack every task inside the timed window.
 * - Counting finished tasks. A queue's unacked count is only in the management API's statistics (seconds late), so
 *   the bench counts results instead: both workers PUBLISH every result on its key's channel as they store it
 *   (SETEX + PUBLISH), and the bench holds a pattern subscription while the system's worker runs. Both ack after
 *   storing (acks late), so a task counted here has its result stored and its ack sent.
 */
import type * as amqp from 'amqplib';
import Redis from 'ioredis';
import { Keys } from 'radish';
import type { ChildConsumer } from './child';
import { sleep } from './clock';
import { BenchError } from './errors';
import { amqplib, createVhost, rabbitmq, type BenchVhost, type Rabbit } from './rabbitmq';
import type { Consumer } from './system';

/** The queue both workers consume and both clients send to (Celery's default). */
export const TASK_QUEUE = 'celery';
const RESULT_PATTERN = Keys.result('*');
const RESULT_PREFIX = Keys.result('');

/** Why a RabbitMQ system cannot run here, or undefined (asked once for both). */
export async function rabbitUnavailable(): Promise<string | undefined> {
  const rabbit = await rabbitmq();
  return typeof rabbit === 'string' ? rabbit : undefined;
}

/** The RabbitMQ version, once a RabbitMQ system has asked (for the report's environment line). */
export async function rabbitVersion(): Promise<string | undefined> {
  const rabbit = await rabbitmq();
  return typeof rabbit === 'string' ? undefined : rabbit.version;
}

export class AmqpBench {
  /** Result ids published since the last reset (a set: a task run twice counts once). */
  private readonly finished = new Set<string>();
  private running: ChildConsumer | undefined;
  private paused = false;

  private constructor(
    readonly rabbit: Rabbit,
    readonly vhost: BenchVhost,
    private readonly connection: amqp.ChannelModel,
    private channel: amqp.Channel,
    /** The bench's redis-server, the result backend. */
    readonly redis: Redis,
    private readonly subscriber: Redis,
  ) {}

  /** A vhost for `system`, its task queue declared, and the result subscription in place. */
  static async open(system: string, redisUrl: string): Promise<AmqpBench> {
    const rabbit = await rabbitmq();
    if (typeof rabbit === 'string') throw new BenchError(rabbit);
    const vhost = await createVhost(rabbit, system);
    const connections: { close(): unknown }[] = [];
    try {
      const connection = await amqplib.connect(vhost.url, { clientProperties: { connection_name: `radish-bench ${system}` } });
      connection.on('error', () => undefined);
      connections.push(connection);
      const redis = new Redis(redisUrl, { lazyConnect: true });
      connections.push({ close: () => redis.disconnect() });
      await redis.connect();
      const subscriber = new Redis(redisUrl, { lazyConnect: true });
      connections.push({ close: () => subscriber.disconnect() });
      await subscriber.connect();
      const bench = new AmqpBench(rabbit, vhost, connection, await AmqpBench.channelOf(connection), redis, subscriber);
      subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => bench.onResult(channel, message));
      await bench.declare();
      return bench;
    } catch (err) {
      for (const c of connections) await Promise.resolve(c.close()).catch(() => undefined);
      await vhost.delete().catch(() => undefined);
      throw err;
    }
  }

  private static async channelOf(connection: amqp.ChannelModel): Promise<amqp.Channel> {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return channel;
  }

  /** A result stored: counted when it is a final one (a STARTED state, were one stored, is no finished task). */
  private onResult(channel: string, message: string): void {
    if (!channel.startsWith(RESULT_PREFIX)) return;
    let status: unknown;
    try {
      status = (JSON.parse(message) as { status?: unknown }).status;
    } catch {
      return;
    }
    if (status === 'SUCCESS' || status === 'FAILURE') this.finished.add(channel.slice(RESULT_PREFIX.length));
  }

  /**
   * The task queue as Celery (and Radish) declares it: a durable direct exchange named after it, the durable queue,
   * bound by its name. Declared here first so the bench can count and purge it before any worker has run.
   */
  async declare(): Promise<void> {
    await this.channel.assertExchange(TASK_QUEUE, 'direct', { durable: true, autoDelete: false });
    await this.channel.assertQueue(TASK_QUEUE, { durable: true, exclusive: false, autoDelete: false });
    await this.channel.bindQueue(TASK_QUEUE, TASK_QUEUE, TASK_QUEUE);
  }

  /** Ready messages and consumers of the task queue, exact now (a passive declare). */
  async queue(): Promise<{ messageCount: number; consumerCount: number }> {
    try {
      return await this.channel.checkQueue(TASK_QUEUE);
    } catch (err) {
      // A failed passive declare closes the channel: open another, so the next call works.
      this.channel = await AmqpBench.channelOf(this.connection);
      throw new BenchError(`${this.vhost.name}: cannot read queue ${TASK_QUEUE}: ${(err as Error).message}`);
    }
  }

  /** Tasks whose result has been stored since the last reset. */
  completed(): number {
    return this.finished.size;
  }

  /**
   * Start counting from nothing: the task queue purged (what a stopped worker gave back, what a measurement sent
   * without a worker), the results flushed.
   */
  async reset(): Promise<void> {
    await this.channel.purgeQueue(TASK_QUEUE);
    await this.redis.flushall();
    this.finished.clear();
  }

  /**
   * Wait until the worker consumes the task queue (its basic.consume is in: it has connected, loaded its tasks and
   * waits), so a drain timed from now does not count its start-up; then it is the one `pause` and `resume` act on.
   */
  async watch(label: string, worker: ChildConsumer, timeoutMs: number): Promise<Consumer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failure = worker.error();
      if (failure) throw new BenchError(failure);
      if ((await this.queue()).consumerCount >= 1) break;
      if (Date.now() > deadline) {
        await worker.stop();
        throw new BenchError(`${label} was not consuming ${this.vhost.name}/${TASK_QUEUE} after ${timeoutMs / 1000}s`);
      }
      await sleep(20);
    }
    this.running = worker;
    this.paused = false;
    // Results are counted while this system's worker runs, and only then: the pattern subscription gets every result
    // published on the bench's Redis, so held for the whole bench it made every Redis system that PUBLISHes its
    // results (Radish, Celery, celery-node) pay for a second reader of each one (Radish's drain: 28-30k/s with the
    // two RabbitMQ systems in the run, 36-40k/s without).
    await this.subscriber.psubscribe(RESULT_PATTERN);
    return {
      stop: async () => {
        this.resume(); // a stopped process would not see SIGTERM until killed
        this.running = undefined;
        await worker.stop();
        await this.subscriber.punsubscribe(RESULT_PATTERN);
      },
      error: () => worker.error(),
    };
  }

  /** Stop the running worker's process where it is (SIGSTOP), so tasks published now wait for `resume`. */
  pause(): void {
    if (!this.running) throw new BenchError('no running worker to pause while staging');
    if (this.paused) return;
    process.kill(this.running.pid, 'SIGSTOP');
    this.paused = true;
  }

  /** Let the paused worker go on (SIGCONT). */
  resume(): void {
    if (!this.running || !this.paused) return;
    process.kill(this.running.pid, 'SIGCONT');
    this.paused = false;
  }

  async close(): Promise<void> {
    this.resume();
    this.subscriber.disconnect();
    this.redis.disconnect();
    await this.connection.close().catch(() => undefined);
    await this.vhost.delete();
  }
}
