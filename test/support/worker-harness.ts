/**
 * A worker test bench on a private redis-server: a fresh app per test, a worker whose log lines are kept, and
 * direct reads of what the worker stored. Call `workerHarness()` inside a `describe`.
 */
import type Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import type { ResultMeta } from '../../runner/protocol/result';
import { Worker, type WorkerOptions } from '../../runner/worker/worker';
import { redisHarness, type StartRedisOptions, type TestRedis } from './redis';

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
  const redis = redisHarness(redisOptions);
  const lines: string[] = [];
  let app: Radish | undefined;
  let workers: Worker[] = [];

  beforeEach(() => {
    lines.length = 0;
    app = new Radish({ broker: redis.server.url });
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ cold: true })));
    workers = [];
    await app?.close();
  });

  const h: WorkerHarness = {
    get server() { return redis.server; },
    get redis() { return redis.redis; },
    get app() {
      if (!app) throw new Error('workerHarness() makes an app per test: use it in tests and their hooks');
      return app;
    },
    lines,
    async startWorker(options = {}) {
      const worker = new Worker(h.app, { logger: createLogger('info', (l) => lines.push(l)), hostname: `w${workers.length + 1}@test`, ...options });
      workers.push(worker);
      await worker.start();
      return worker;
    },
    async stored(id) {
      const raw = await h.redis.get(`celery-task-meta-${id}`);
      return raw === null ? null : (JSON.parse(raw) as ResultMeta);
    },
  };
  return h;
}
