/**
 * A worker test bench on a private redis-server: a fresh app per test, a worker whose log lines are kept, and
 * direct reads of what the worker stored. Call `workerHarness()` inside a `describe`.
 */
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import type { ResultMeta } from '../../runner/protocol/result';
import { Worker, type WorkerOptions } from '../../runner/worker/worker';
import { startRedis, type StartRedisOptions, type TestRedis } from './redis';

export { delay, until } from './wait';

export interface WorkerHarness {
  readonly server: TestRedis;
  /** A plain connection for looking at what the worker left in Redis. */
  readonly redis: Redis;
  /** This test's app (defined tasks go here). */
  readonly app: Radish;
  /** Log lines of the workers started in this test. */
  readonly lines: string[];
  startWorker(options?: WorkerOptions): Promise<Worker>;
  /** The stored result meta of a task, or null. */
  stored(id: string): Promise<ResultMeta | null>;
}

export function workerHarness(redisOptions: StartRedisOptions = {}): WorkerHarness {
  const h = { lines: [] as string[] } as { -readonly [K in keyof WorkerHarness]: WorkerHarness[K] };
  let workers: Worker[] = [];

  before(async () => {
    h.server = await startRedis(redisOptions);
    h.redis = new Redis(h.server.url);
    h.redis.on('error', () => undefined); // outage tests stop the server under it
  });
  after(async () => {
    h.redis.disconnect();
    await h.server.stop();
  });
  beforeEach(async () => {
    await h.redis.flushdb();
    h.lines.length = 0;
    h.app = new Radish({ broker: h.server.url });
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ cold: true })));
    workers = [];
    await h.app.close();
  });

  h.startWorker = async (options = {}) => {
    const worker = new Worker(h.app, { logger: createLogger('info', (l) => h.lines.push(l)), hostname: `w${workers.length + 1}@test`, ...options });
    workers.push(worker);
    await worker.start();
    return worker;
  };
  h.stored = async (id) => {
    const raw = await h.redis.get(`celery-task-meta-${id}`);
    return raw === null ? null : (JSON.parse(raw) as ResultMeta);
  };
  return h;
}
