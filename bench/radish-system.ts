/**
 * Radish with its real semantics: Celery protocol v2 messages, reserve into kombu's unacked record, run on a
 * worker with concurrency 50, store the result (SETEX + PUBLISH), ack. The worker runs in this process or as
 * `radish worker -A bench/tasks.ts` in its own.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { createLogger, decodeResult, Keys, Radish, Worker, type SendRequest } from 'radish';
import { spawnConsumer, waitForBlockedClient, type ChildConsumer } from './child';
import { BenchError } from './errors';
import { storedResults, unfinished } from './results';
import type { Consumer, System, SystemContext } from './system';
import { defineBenchTasks } from './tasks';

/** The repository root: dist/bench.js runs from dist/, next to dist/radish.js. */
const ROOT = join(__dirname, '..');
/** Where staged messages wait: a key no worker consumes, renamed onto the queue in one step. */
const STAGING_KEY = 'bench.staged';
const BULK_BATCH = 1000;

/** Send `n` no-op tasks with the bulk API, a batch at a time; their task ids, in order. */
export async function sendNoops(client: Radish, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let sent = 0; sent < n; sent += BULK_BATCH) {
    const requests: SendRequest[] = Array.from({ length: Math.min(BULK_BATCH, n - sent) }, () => ({ name: 'bench.noop' }));
    ids.push(...(await client.sendMany(requests)).map((r) => r.id));
  }
  return ids;
}

/** `radish worker -A bench/tasks.ts` in a process of its own, as a user starts one, with extra CLI arguments. */
export function spawnRadishWorker(redisUrl: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ChildConsumer> {
  return spawnConsumer('radish worker', process.execPath, [
    join(ROOT, 'dist', 'radish.js'), 'worker', '-A', join(ROOT, 'bench', 'tasks.ts'), '--broker', redisUrl, '-l', 'warning', ...args,
  ], ROOT, env && { ...process.env, ...env });
}

export interface RadishSystemOptions {
  /** Worker processes (each with the context's concurrency); more than 1 needs consumerMode `process`. Default 1. */
  processes?: number;
  /**
   * Workers serve Prometheus metrics (`--metrics-port`: every task event counted), scraped once a second while they
   * run, named `radish-metrics` in the table, so its drain beside `radish`'s is the cost of the endpoint. Default false.
   */
  metrics?: boolean;
  /**
   * Workers write the per-minute metrics history (the worker's default). False: `--no-metrics-history`, named
   * `radish-bare` in the table, the baseline the history's cost is read against. Default true.
   */
  history?: boolean;
}

/** How often `radish-metrics`' endpoints are scraped (as a Prometheus server with a short interval would). */
const SCRAPE_EVERY_MS = 1000;

/** A TCP port free now on 127.0.0.1 (for a worker process's endpoint, which the bench must know to scrape). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new BenchError('no port'))));
    });
  });
}

/** Scrape each port's /metrics every {@link SCRAPE_EVERY_MS} until stopped; a failed scrape is an error of the run. */
function scrapeEverySecond(ports: readonly number[]): { stop(): void; error(): string | undefined } {
  let failure: string | undefined;
  const timer = setInterval(() => {
    for (const port of ports) {
      fetch(`http://127.0.0.1:${port}/metrics`).then((res) => res.text().then(() => {
        if (!res.ok) failure ??= `scrape of :${port} answered ${res.status}`;
      })).catch((err: unknown) => { failure ??= `scrape of :${port} failed: ${String(err)}`; });
    }
  }, SCRAPE_EVERY_MS);
  return { stop: () => clearInterval(timer), error: () => failure };
}

export class RadishSystem implements System {
  readonly name: string;
  readonly description: string;
  private readonly processes: number;
  private readonly metrics: boolean;
  private readonly history: boolean;
  private ctx!: SystemContext;
  private client!: Radish;
  private admin!: Redis;
  /** Ids of the tasks the consumer has been given since the last reset (staged and released, or stamped). */
  private ids: string[] = [];
  private stagedIds: string[] = [];
  private readonly keys = new Keys();

  constructor(options: RadishSystemOptions = {}) {
    this.processes = options.processes ?? 1;
    this.metrics = options.metrics ?? false;
    this.history = options.history ?? true;
    this.name = this.metrics ? 'radish-metrics' : this.history ? 'radish' : 'radish-bare';
    this.description = `${this.name}: Celery v2 message -> reserve into unacked -> run -> store result (SETEX+PUBLISH) -> ack`
      + (this.history ? ', metrics history on (the default)' : ', --no-metrics-history')
      + (this.metrics ? ', Prometheus endpoint on (--metrics-port) and scraped every second' : '');
  }

  /** Size in bytes of the message a no-op call sends (so the baseline can move the same bytes). */
  static messageBytes(): number {
    return Buffer.byteLength(new Radish().message({ name: 'bench.noop' }).body);
  }

  private get queueKey(): string {
    return this.keys.queue(this.client.defaultQueue);
  }

  async open(ctx: SystemContext): Promise<void> {
    this.ctx = ctx;
    this.client = new Radish({ broker: ctx.redisUrl });
    await this.client.broker(); // connect now, so the first timed call does not pay for it
    this.admin = new Redis(ctx.redisUrl, { lazyConnect: true });
    await this.admin.connect();
  }

  async enqueueOne(): Promise<void> {
    await this.client.send('bench.noop');
  }

  async enqueueBulk(n: number): Promise<void> {
    await sendNoops(this.client, n);
  }

  async stage(n: number): Promise<void> {
    // The bytes sendMany would LPUSH onto the queue, pushed onto a key no worker watches (a worker is already
    // running and warm by now).
    for (let staged = 0; staged < n; staged += BULK_BATCH) {
      const messages = Array.from({ length: Math.min(BULK_BATCH, n - staged) }, () => this.client.message({ name: 'bench.noop' }));
      await this.admin.lpush(STAGING_KEY, ...messages.map((m) => m.body));
      this.stagedIds.push(...messages.map((m) => m.id));
    }
  }

  async release(): Promise<void> {
    // RENAME wakes a consumer blocked in BRPOP on the destination, like a push would.
    await this.admin.rename(STAGING_KEY, this.queueKey);
    this.ids.push(...this.stagedIds.splice(0));
  }

  async startConsumer(): Promise<Consumer> {
    const { redisUrl, concurrency } = this.ctx;
    if (this.ctx.consumerMode === 'inline') {
      const app = defineBenchTasks(new Radish({ broker: redisUrl }));
      // 'warning' would print the warm shutdown of every run.
      const worker = new Worker(app, {
        concurrency, logger: createLogger('error'), ...(this.metrics ? { metricsPort: 0, metricsHost: '127.0.0.1' } : {}),
        ...(this.history ? {} : { metricsHistory: false }),
      });
      await worker.start();
      const scraper = this.metrics ? scrapeEverySecond([worker.metricsPort!]) : undefined;
      return {
        stop: async () => { scraper?.stop(); await worker.stop(); await app.close(); },
        error: () => scraper?.error(),
      };
    }
    const ports = this.metrics ? await Promise.all(Array.from({ length: this.processes }, () => freePort())) : [];
    const workers = await Promise.all(Array.from({ length: this.processes }, (_, i) => spawnRadishWorker(redisUrl, [
      '-c', String(concurrency), ...(this.processes > 1 ? ['-n', `bench${i + 1}@%h`] : []),
      ...(this.metrics ? ['--metrics-port', String(ports[i]), '--metrics-host', '127.0.0.1'] : []),
      ...(this.history ? [] : ['--no-metrics-history']),
    ])));
    await waitForBlockedClient(this.admin, 'radish-consumer', workers, 30_000, workers.length);
    const scraper = this.metrics ? scrapeEverySecond(ports) : undefined;
    if (workers.length === 1 && !scraper) return workers[0]!;
    return {
      stop: async () => { scraper?.stop(); await Promise.all(workers.map((w) => w.stop())); },
      error: () => scraper?.error() ?? workers.map((w) => w.error()).find(Boolean),
    };
  }

  /**
   * Tasks acked: given minus still queued minus still unacked, read in one MULTI so a reserve cannot fall
   * between the two reads. O(1), unlike counting result keys (and INFO keyspace's `expires` is no count of
   * results: a worker's presence record has a TTL too). A worker stores a result before its ack, or with it in one
   * script, so an acked task's result is there.
   */
  async completed(): Promise<number> {
    return this.ids.length - await unfinished(this.admin, this.queueKey, this.keys.unacked);
  }

  async verify(): Promise<void> {
    await storedResults(this.admin, this.ids, this.name);
  }

  async sendStamped(sentAt: number): Promise<void> {
    const result = await this.client.send('bench.latency', [sentAt]);
    this.ids.push(result.id);
  }

  async latencies(): Promise<number[]> {
    return (await storedResults(this.admin, this.ids, this.name)).map((raw) => {
      const value = decodeResult(raw).result;
      if (typeof value !== 'number') throw new BenchError(`radish: bench.latency returned ${JSON.stringify(value)}`);
      return value;
    });
  }

  async reset(): Promise<void> {
    this.ids = [];
    this.stagedIds = [];
    await this.admin.flushall();
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.admin?.disconnect();
  }
}
