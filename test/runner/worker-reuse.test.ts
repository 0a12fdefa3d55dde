/**
 * Workers that share one app (and so its broker and backend connections): a worker started after another on the same
 * app stopped, and two workers on one app at once. Each must consume, run tasks and stop (warm and cold) as if it
 * were alone: one worker's stop must leave nothing behind on the shared connections that blocks, starves or hangs
 * another. On Redis, and on RabbitMQ (a vhost of its own) with results on Redis.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { rabbitVhost } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { poll, until } from '../support/wait';

/** Far beyond what a stop takes (a warm stop here waits for tasks of 200 ms): only a hang reaches it. */
const STOP_DEADLINE_MS = 20_000;

/** A hang detector, not a timing assertion: fails with `what` if `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms / 1000} s: it hangs`)), ms);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The same cases on each transport; `makeApp` gives a fresh app per test. `waits`, when the transport can show it,
 * says whether an idle worker is blocked waiting on the broker (rather than polling it).
 */
function reuseCases(makeApp: () => Radish, waits?: () => Promise<boolean>): void {
  let app: Radish;
  let workers: Worker[] = [];
  const lines: string[] = [];

  beforeEach(() => {
    lines.length = 0;
    app = makeApp();
    app.task('tasks.add', (a: number, b: number) => a + b);
    app.task('tasks.sleep', async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; });
    app.task('tasks.long', { bind: true }, async (task) => {
      if (task.request.redelivered) return 'ran again';
      await new Promise((resolve) => task.signal.addEventListener('abort', resolve));
      return 'aborted';
    });
  });
  afterEach(async () => {
    // A worker left running by a failed test must not hang the suite either.
    await within(Promise.all(workers.map((w) => w.stop({ cold: true }))), STOP_DEADLINE_MS, 'the cleanup stop').catch(() => undefined);
    workers = [];
    await app.close();
  });

  const worker = (name: string): Worker => {
    const w = new Worker(app, { logger: createLogger('info', (l) => lines.push(`${name}: ${l}`)), hostname: `${name}@reuse`, concurrency: 4 });
    workers.push(w);
    return w;
  };

  const stop = (w: Worker, how: { cold?: boolean }, what: string): Promise<void> =>
    within(w.stop(how), STOP_DEADLINE_MS, `${what} (${how.cold ? 'cold' : 'warm'})`);

  const sums = async (from: number, count: number): Promise<number[]> => {
    const results = await Promise.all(Array.from({ length: count }, (_, i) => app.send<number>('tasks.add', [from + i, 1])));
    return Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
  };

  it('a second worker started after the first one stopped runs tasks and stops warm, then a third stops cold', async () => {
    const first = worker('first');
    await first.start();
    assert.deepEqual(await sums(0, 3), [1, 2, 3]);
    await stop(first, {}, 'the first worker\'s stop');

    const second = worker('second');
    await second.start();
    assert.deepEqual(await sums(10, 5), [11, 12, 13, 14, 15]);
    // A task still running when the warm stop begins is waited for.
    const running = await app.send<number>('tasks.sleep', [200]);
    await until(() => second.stats.active === 1, 'the sleep task to start on the second worker');
    await stop(second, {}, 'the second worker\'s stop');
    assert.equal(await running.get({ timeout: 5000 }), 200);

    const third = worker('third');
    await third.start();
    assert.deepEqual(await sums(20, 3), [21, 22, 23]);
    const long = await app.send<string>('tasks.long');
    await until(() => third.stats.active === 1, 'the long task to start on the third worker');
    await stop(third, { cold: true }, 'the third worker\'s stop');
    assert.ok(lines.some((l) => l.startsWith('third: ') && l.includes(`tasks.long[${long.id}] interrupted by a cold shutdown`)), 'the long task was interrupted');

    // Its message went back and a fourth worker on the same app runs it.
    const fourth = worker('fourth');
    await fourth.start();
    assert.equal(await long.get({ timeout: 10_000 }), 'ran again');
    await stop(fourth, { cold: true }, 'the fourth worker\'s stop');
  });

  it('a second worker stopped cold right after the first one stopped, when idle', async () => {
    const first = worker('first');
    await first.start();
    await stop(first, { cold: true }, 'the first worker\'s stop');
    const second = worker('second');
    await second.start();
    assert.deepEqual(await sums(0, 2), [1, 2]);
    await stop(second, { cold: true }, 'the second worker\'s stop');
  });

  it('two workers on one app at once: stopping one leaves the other consuming, then it stops too', async () => {
    const a = worker('a');
    const b = worker('b');
    await Promise.all([a.start(), b.start()]);
    assert.deepEqual(await sums(0, 8), [1, 2, 3, 4, 5, 6, 7, 8]);
    await stop(a, {}, 'worker a\'s stop');
    if (waits) assert.ok(await poll(waits, 5000), 'idle b still waits on the broker after a stopped, rather than finding its waits ended');
    // b must not be left waiting for nothing (or spinning) by a's stop: it keeps taking tasks.
    const before = b.stats.processed;
    assert.deepEqual(await sums(100, 6), [101, 102, 103, 104, 105, 106]);
    assert.equal(b.stats.processed - before, 6, 'b ran the tasks sent after a stopped');
    const long = await app.send<string>('tasks.long');
    await until(() => b.stats.active === 1, 'the long task to start on b');
    await stop(b, { cold: true }, 'worker b\'s stop');
    const c = worker('c');
    await c.start();
    assert.equal(await long.get({ timeout: 10_000 }), 'ran again');
    await stop(c, {}, 'worker c\'s stop');
  });
}

describe('workers reusing one app: Redis', function () {
  this.timeout(90_000);
  const redis = redisHarness();
  const blocked = async (): Promise<boolean> => / cmd=blmove /.test((await redis.redis.client('LIST')) as string);
  reuseCases(() => new Radish({ broker: redis.server.url }), blocked);
});

describe('workers reusing one app: RabbitMQ (results on Redis)', function () {
  this.timeout(90_000);
  const rabbit = rabbitVhost();
  const redis = redisHarness();
  reuseCases(() => new Radish({ broker: rabbit.url, backend: redis.server.url }));
});
