/**
 * Python Celery 5.2 with Debian's Python (`/usr/bin/python3`, or `CELERY_PYTHON`, as the interop tests use):
 * bench/celery_bench.py is both the worker's app and the client. Celery's client sends from a Python process
 * (apply_async blocks, so one call at a time); its worker runs the solo pool (one task at a time; its prefetch is
 * Celery's default, 4 x the concurrency, which is the CPU count even for solo: 8 on 2 cores),
 * reserves into kombu's unacked hash, stores the result (SETEX + PUBLISH) and acks late, as Radish does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Redis from 'ioredis';
import { Keys } from 'radish';
import { spawnConsumer, waitForBlockedClient, type ChildConsumer } from './child';
import { BenchError } from './errors';
import { BENCH_DIR } from './peers';
import { numericResults, storedResults, unfinished } from './results';
import type { Consumer, System, SystemContext } from './system';

export const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
const QUEUE = 'celery';
const STAGING_QUEUE = 'bench.staged';
/** Stage in slices, so one reply line stays small and a slow Python client still shows progress. */
const STAGE_BATCH = 2000;

export type Reply = { ids?: string[]; error?: string };

/** celery_bench.py's environment: results in `redisUrl`, the broker `brokerUrl` (RabbitMQ), else the same Redis. */
function celeryEnv(redisUrl: string, brokerUrl?: string): NodeJS.ProcessEnv {
  return { ...process.env, BENCH_REDIS_URL: redisUrl, ...(brokerUrl ? { BENCH_BROKER_URL: brokerUrl } : {}), PYTHONDONTWRITEBYTECODE: '1' };
}

/** The Python client process: one command a line, one JSON reply a line, in order. */
export class PythonClient {
  private readonly child: ChildProcess;
  private readonly pending: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private stderr = '';
  private gone: string | undefined;

  constructor(redisUrl: string, brokerUrl?: string) {
    this.child = spawn(PYTHON, [join(BENCH_DIR, 'celery_bench.py')], {
      cwd: BENCH_DIR, stdio: ['pipe', 'pipe', 'pipe'], env: celeryEnv(redisUrl, brokerUrl),
    });
    this.child.stderr!.on('data', (chunk: Buffer) => { this.stderr = (this.stderr + chunk.toString()).slice(-4000); });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const waiter = this.pending.shift();
      if (!waiter) return;
      try {
        const reply = JSON.parse(line) as Reply;
        if (reply.error) waiter.reject(new BenchError(`celery client: ${reply.error}`));
        else waiter.resolve(reply);
      } catch {
        waiter.reject(new BenchError(`celery client answered ${JSON.stringify(line.slice(0, 200))}`));
      }
    });
    this.child.once('exit', (code, signal) => {
      const last = this.stderr.trim().split('\n').filter(Boolean).pop();
      this.gone = `celery client exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`;
      for (const waiter of this.pending.splice(0)) waiter.reject(new BenchError(this.gone));
    });
  }

  send(command: string): Promise<Reply> {
    if (this.gone) return Promise.reject(new BenchError(this.gone));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin!.write(command + '\n');
    });
  }

  close(): void {
    this.child.stdin?.end(); // the script ends at the end of its input
  }
}

/**
 * `celery -A celery_bench worker -P solo` (results in `redisUrl`, the broker `brokerUrl`, else the same Redis). The
 * solo pool has no concurrency setting: one task at a time, as in the issue's reference figures.
 */
export function spawnCeleryWorker(redisUrl: string, brokerUrl?: string): Promise<ChildConsumer> {
  return spawnConsumer('celery worker', PYTHON, [
    '-m', 'celery', '-A', 'celery_bench', 'worker', '-P', 'solo', '-Q', QUEUE, '-l', 'WARNING',
    '--without-gossip', '--without-mingle', '--without-heartbeat',
  ], BENCH_DIR, celeryEnv(redisUrl, brokerUrl));
}

export class CelerySystem implements System {
  readonly name = 'celery';
  private ctx!: SystemContext;
  private client!: PythonClient;
  private admin!: Redis;
  private ids: string[] = [];
  private stagedIds: string[] = [];
  private readonly keys = new Keys();

  /** Asked of Python once, when first needed (not on construction: `--systems radish` should not start Python). */
  get version(): string | undefined {
    return celeryVersion();
  }

  get description(): string {
    return `celery ${this.version ?? ''} (Python): apply_async from a Python client, one at a time -> worker -P solo (one task at a time, ` +
      `prefetch ${celeryPrefetch()}) reserves into unacked -> run -> store result (SETEX+PUBLISH) -> ack (acks_late)`;
  }

  async unavailable(): Promise<string | undefined> {
    return this.version === undefined ? `${PYTHON} cannot import celery and redis (run setup.sh, or set CELERY_PYTHON)` : undefined;
  }

  async open(ctx: SystemContext): Promise<void> {
    this.ctx = ctx;
    this.admin = new Redis(ctx.redisUrl, { lazyConnect: true });
    await this.admin.connect();
    this.client = new PythonClient(ctx.redisUrl);
    await this.declare();
  }

  /**
   * kombu declares a queue's binding once per process and routes by it, dropping a message whose binding is
   * gone: after a FLUSHALL, put back what the client declared.
   */
  private async declare(): Promise<void> {
    await this.admin.multi()
      .sadd(this.keys.binding(QUEUE), Keys.bindingMember(QUEUE))
      .sadd(this.keys.binding(STAGING_QUEUE), Keys.bindingMember(STAGING_QUEUE))
      .exec();
  }

  async enqueueOne(): Promise<void> {
    await this.client.send('enqueue 1');
  }

  async enqueueSingles(n: number): Promise<void> {
    await this.client.send(`enqueue ${n}`);
  }

  async stage(n: number): Promise<void> {
    for (let staged = 0; staged < n; staged += STAGE_BATCH) {
      const { ids } = await this.client.send(`stage ${Math.min(STAGE_BATCH, n - staged)} ${STAGING_QUEUE}`);
      this.stagedIds.push(...ids ?? []);
    }
  }

  async release(): Promise<void> {
    await this.admin.rename(this.keys.queue(STAGING_QUEUE), this.keys.queue(QUEUE));
    this.ids.push(...this.stagedIds.splice(0));
  }

  async startConsumer(): Promise<Consumer> {
    const consumer = await spawnCeleryWorker(this.ctx.redisUrl);
    // kombu names no connection; the worker waits in BRPOP once it has started.
    await waitForBlockedClient(this.admin, undefined, consumer, 60_000);
    return consumer;
  }

  /** Given minus still queued minus still unacked (acks are late, so an acked task has stored its result). */
  async completed(): Promise<number> {
    return this.ids.length - await unfinished(this.admin, this.keys.queue(QUEUE), this.keys.unacked);
  }

  async verify(): Promise<void> {
    await storedResults(this.admin, this.ids, this.name);
  }

  async sendStamped(): Promise<void> {
    // Python stamps the send itself (time.time(), the same wall clock), so the pipe to it is not counted.
    const id = randomUUID();
    this.ids.push(id);
    await this.client.send(`stamped ${id}`);
  }

  async latencies(): Promise<number[]> {
    return numericResults(await storedResults(this.admin, this.ids, this.name), this.name);
  }

  async reset(): Promise<void> {
    this.ids = [];
    this.stagedIds = [];
    await this.admin.flushall();
    await this.declare();
  }

  async close(): Promise<void> {
    this.client?.close();
    this.admin?.disconnect();
  }
}

/**
 * The solo worker's prefetch at Celery's defaults: worker_prefetch_multiplier (4) x the concurrency, which defaults
 * to the CPU count whatever the pool (the worker's banner says `concurrency: 2 (solo)` on 2 cores).
 */
export function celeryPrefetch(): number {
  return 4 * Math.max(1, cpus().length);
}

const probed = new Map<string, string | undefined>();

/**
 * Celery's version as that Python imports it with `modules` (redis-py, which its Redis transport and result backend
 * need; py-amqp too for RabbitMQ), or undefined.
 */
export function celeryVersion(modules: readonly string[] = ['redis']): string | undefined {
  const key = modules.join(',');
  if (!probed.has(key)) {
    const r = spawnSync(PYTHON, ['-c', `import celery, ${key}; print(celery.__version__)`], { encoding: 'utf8', timeout: 30_000 });
    probed.set(key, r.status === 0 ? r.stdout.trim() : undefined);
  }
  return probed.get(key);
}
