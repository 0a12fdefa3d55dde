/**
 * Python Celery 5.2 on RabbitMQ (kombu's py-amqp transport), results in the bench's Redis: the `celery` system's
 * app, client and worker (bench/celery_bench.py, Debian's `/usr/bin/python3` or `CELERY_PYTHON`), with
 * `broker='amqp://...'` and `backend='redis://...'` and nothing else changed. Its client sends from a Python process,
 * one apply_async at a time, without publisher confirms (kombu's default; each measurement ends with one round-trip,
 * see celery_bench.py's `settle`); its worker runs the solo pool at its default prefetch (global basic.qos), stores
 * each result (SETEX + PUBLISH) and acks late.
 */
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { AmqpBench, rabbitUnavailable, rabbitVersion, TASK_QUEUE } from './amqp-bench';
import { celeryPrefetch, celeryVersion, PYTHON, PythonClient, spawnCeleryWorker } from './celery-system';
import { numericResults, storedResults } from './results';
import type { Consumer, System, SystemContext } from './system';

/** Stage in slices, so one reply line stays small and a slow Python client still shows progress. */
const STAGE_BATCH = 2000;

export class CeleryAmqpSystem implements System {
  readonly name = 'celery-amqp';
  readonly broker = 'rabbitmq';
  private ctx!: SystemContext;
  private bench!: AmqpBench;
  private client!: PythonClient;
  private ids: string[] = [];
  private stagedIds: string[] = [];
  private rabbit: string | undefined;
  private pyamqp: string | undefined;

  /** Asked of Python once, when first needed (not on construction: `--systems radish` should not start Python). */
  get version(): string | undefined {
    return celeryVersion(['redis', 'amqp']);
  }

  get description(): string {
    return `celery-amqp ${this.version ?? ''} (Python, RabbitMQ ${this.rabbit ?? ''} broker through py-amqp ${this.pyamqp ?? ''}, results in Redis): ` +
      'apply_async from a Python client, one at a time, no publisher confirms (kombu default) -> worker -P solo (one task at a time, ' +
      `prefetch ${celeryPrefetch()}, basic.qos) -> run -> store result in Redis (SETEX+PUBLISH) -> basic.ack (acks_late)`;
  }

  async unavailable(): Promise<string | undefined> {
    if (this.version === undefined) return `${PYTHON} cannot import celery, redis and amqp (py-amqp) (run setup.sh, or set CELERY_PYTHON)`;
    return rabbitUnavailable();
  }

  async open(ctx: SystemContext): Promise<void> {
    this.ctx = ctx;
    this.rabbit = await rabbitVersion();
    const r = spawnSync(PYTHON, ['-c', 'import amqp; print(amqp.__version__)'], { encoding: 'utf8', timeout: 30_000 });
    this.pyamqp = r.status === 0 ? r.stdout.trim() : undefined;
    this.bench = await AmqpBench.open(this.name, ctx.redisUrl);
    this.client = new PythonClient(ctx.redisUrl, this.bench.vhost.url);
  }

  async enqueueOne(): Promise<void> {
    await this.client.send('enqueue 1');
  }

  async enqueueSingles(n: number): Promise<void> {
    await this.client.send(`enqueue ${n}`);
  }

  async stage(n: number): Promise<void> {
    // Celery's own apply_async, straight onto the task queue, the worker paused meanwhile.
    this.bench.pause();
    for (let staged = 0; staged < n; staged += STAGE_BATCH) {
      const { ids } = await this.client.send(`stage ${Math.min(STAGE_BATCH, n - staged)} ${TASK_QUEUE}`);
      this.stagedIds.push(...ids ?? []);
    }
  }

  async release(): Promise<void> {
    this.ids.push(...this.stagedIds.splice(0));
    this.bench.resume();
  }

  async startConsumer(): Promise<Consumer> {
    return this.bench.watch('celery worker', await spawnCeleryWorker(this.ctx.redisUrl, this.bench.vhost.url), 60_000);
  }

  async completed(): Promise<number> {
    return this.bench.completed();
  }

  async verify(): Promise<void> {
    await storedResults(this.bench.redis, this.ids, this.name);
  }

  async sendStamped(): Promise<void> {
    // Python stamps the send itself (time.time(), the same wall clock), so the pipe to it is not counted.
    const id = randomUUID();
    this.ids.push(id);
    await this.client.send(`stamped ${id}`);
  }

  async latencies(): Promise<number[]> {
    return numericResults(await storedResults(this.bench.redis, this.ids, this.name), this.name);
  }

  async reset(): Promise<void> {
    this.ids = [];
    this.stagedIds = [];
    await this.bench.reset();
  }

  async close(): Promise<void> {
    this.client?.close();
    await this.bench?.close();
  }
}
