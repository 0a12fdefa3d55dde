/**
 * celery-node (from bench/node_modules), Celery's protocol v2 in Node: the client LPUSHes the message, the worker
 * BRPOPs one message per round-trip and starts it without waiting for the previous ones (it has no concurrency
 * limit, no prefetch and no acks: a message popped by a worker that dies is lost), stores the result
 * (SETEX + PUBLISH) and logs two lines per task to stdout (it has no log level; the bench discards them).
 *
 * Its consumer always runs in a process of its own, whatever --consumers says: those log lines would otherwise
 * fill the bench's output, and the worker has no way to stop (`Worker.stop` is "not implemented yet").
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Keys } from 'radish';
import { spawnBenchConsumer, waitForBlockedClient } from './child';
import { now } from './clock';
import { loadPeer, peerMissing, peerVersion } from './peers';
import { numericResults, storedResults } from './results';
import type { Consumer, System, SystemContext } from './system';

const QUEUE = 'celery';
const STAGING_KEY = 'bench.staged';

/** The part of celery-node's API the bench uses. */
interface TaskMessage {
  headers: object;
  properties: object;
  body: unknown;
}
interface CeleryNodeClient {
  /** The protocol's message builder (`asTaskV2`), which `sendTask` uses. */
  readonly createTaskMessage: (id: string, name: string, args: unknown[], kwargs: object) => TaskMessage;
  readonly broker: { publish(body: unknown, exchange: string, routingKey: string, headers: object, properties: object): Promise<unknown> };
  isReady(): Promise<unknown>;
  disconnect(): Promise<unknown>;
}
interface CeleryNodeWorker {
  register(name: string, handler: (...args: unknown[]) => unknown): void;
  start(): Promise<unknown>;
  whenCurrentJobsFinished(): Promise<unknown>;
}
interface CeleryNode {
  createClient(broker: string, backend: string, queue: string): CeleryNodeClient;
  createWorker(broker: string, backend: string, queue: string): CeleryNodeWorker;
}

/**
 * A celery-node worker in this process: only ever run as the consumer process, which exits on SIGTERM once the
 * tasks it started have finished (celery-node cannot stop a worker).
 */
export async function startCeleryNodeConsumer(url: string): Promise<Consumer> {
  const worker = loadPeer<CeleryNode>('celery-node').createWorker(url, url, QUEUE);
  worker.register('bench.noop', () => null);
  worker.register('bench.latency', (sentAt) => now() - (sentAt as number));
  void worker.start();
  return { stop: async () => { await worker.whenCurrentJobsFinished(); } };
}

export class CeleryNodeSystem implements System {
  readonly name = 'celery-node';
  readonly version = peerVersion('celery-node');
  readonly description = `celery-node ${this.version ?? ''} (it has no settings): Celery v2 message LPUSH -> BRPOP one per round-trip, no concurrency ` +
    'limit, no prefetch, no acks -> run -> store result (SETEX+PUBLISH); logs 2 lines per task; consumer always in its own process';
  private ctx!: SystemContext;
  private client!: CeleryNodeClient;
  private admin!: Redis;
  private ids: string[] = [];
  private stagedIds: string[] = [];
  private readonly keys = new Keys();

  async unavailable(): Promise<string | undefined> {
    return peerMissing('celery-node');
  }

  async open(ctx: SystemContext): Promise<void> {
    this.ctx = ctx;
    this.client = loadPeer<CeleryNode>('celery-node').createClient(ctx.redisUrl, ctx.redisUrl, QUEUE);
    await this.client.isReady();
    this.admin = new Redis(ctx.redisUrl, { lazyConnect: true });
    await this.admin.connect();
  }

  /**
   * What `client.sendTask` does (build the v2 message, publish it), with the publish awaited: `sendTask` drops
   * that promise, so with it alone nothing would tell when the broker holds the task.
   */
  private async publish(routingKey: string, name: string, args: unknown[] = [], id = randomUUID()): Promise<string> {
    const { headers, properties, body } = this.client.createTaskMessage(id, name, args, {});
    await this.client.broker.publish(body, '', routingKey, headers, properties);
    return id;
  }

  async enqueueOne(): Promise<void> {
    await this.publish(QUEUE, 'bench.noop');
  }

  async stage(n: number): Promise<void> {
    // Published in parallel, as the client's own calls would be; the routing key is the only byte that differs.
    const ids = await Promise.all(Array.from({ length: n }, () => this.publish(STAGING_KEY, 'bench.noop')));
    this.stagedIds.push(...ids);
  }

  async release(): Promise<void> {
    await this.admin.rename(STAGING_KEY, this.keys.queue(QUEUE));
    this.ids.push(...this.stagedIds.splice(0));
  }

  async startConsumer(): Promise<Consumer> {
    const consumer = await spawnBenchConsumer('celery-node', this.ctx.redisUrl, this.ctx.concurrency);
    await waitForBlockedClient(this.admin, undefined, consumer);
    return consumer;
  }

  /**
   * Stored results, counted as the keys with a TTL (INFO keyspace, O(1)): celery-node stores each result with
   * SETEX and writes nothing else that expires, and it keeps no record of a task in progress to count instead.
   */
  async completed(): Promise<number> {
    const info = await this.admin.info('keyspace');
    return Number(/^db0:.*expires=(\d+)/m.exec(info)?.[1] ?? 0);
  }

  async verify(): Promise<void> {
    await storedResults(this.admin, this.ids, this.name);
  }

  async sendStamped(sentAt: number): Promise<void> {
    this.ids.push(await this.publish(QUEUE, 'bench.latency', [sentAt]));
  }

  async latencies(): Promise<number[]> {
    return numericResults(await storedResults(this.admin, this.ids, this.name), this.name);
  }

  async reset(): Promise<void> {
    this.ids = [];
    this.stagedIds = [];
    await this.admin.flushall();
  }

  async close(): Promise<void> {
    await this.client?.disconnect();
    this.admin?.disconnect();
  }
}
