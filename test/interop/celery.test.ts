/**
 * Interop with a real Celery 5.2.6 (Debian's python3-celery) on the same Redis, in both directions:
 * Python client -> Radish worker, Radish client -> Celery worker, priorities, and a shared queue.
 */
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { TaskFailedError } from '../../runner/protocol/result';
import { Worker } from '../../runner/worker/worker';
import { type CeleryOutcome, celerySend, type CeleryWorker, requireCelery, startCeleryWorker } from '../support/celery';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

function success(o: CeleryOutcome | undefined): unknown {
  assert.ok(o && o.state === 'SUCCESS', `expected SUCCESS, got ${JSON.stringify(o)}`);
  return o.result;
}

/** The TypeScript twins of the Python reference tasks. */
function defineTasks(app: Radish, redis: Redis, runs: string[]): void {
  app.task('tasks.add', (x: number, y: number) => x + y);
  app.task('tasks.echo', { bind: true }, (task, ...args: unknown[]) => ({ args, kwargs: task.request.kwargs }));
  app.task('tasks.fail', (msg = 'boom') => { throw new RangeError(msg); });
  app.task('tasks.prio', (tag: number) => { runs.push(String(tag)); return tag; });
  app.task('tasks.count', async (i: number) => {
    await redis.hincrby('interop:runs', String(i), 1);
    return { i, by: 'radish' };
  });
}

describe('interop with real Celery 5.2.6', function () {
  this.timeout(120_000);
  let app: Radish;
  let worker: Worker | undefined;
  let celery: CeleryWorker | undefined;
  const runs: string[] = [];
  const log: string[] = [];

  before(function () {
    requireCelery(this);
  });
  const h = redisHarness();

  beforeEach(() => {
    runs.length = 0;
    app = new Radish({ broker: h.server.url });
    defineTasks(app, h.redis, runs);
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await celery?.stop();
    celery = undefined;
    await app.close();
  });

  async function startRadish(queues = ['celery'], concurrency = 10): Promise<Worker> {
    worker = new Worker(app, { queues, concurrency, hostname: 'radish@interop', logger: createLogger('info', (l) => log.push(l)) });
    await worker.start();
    return worker;
  }

  describe('Python client -> Radish worker', () => {
    it('returns the right values for ints, floats, unicode, nesting, null/booleans, args and kwargs', async () => {
      await startRadish();
      const outcomes = await celerySend(h.server.url, [
        { task: 'tasks.add', args: [2, 3] },
        { task: 'tasks.add', args: [0.5, 0.25] },
        { task: 'tasks.add', args: [], kwargs: { x: 40, y: 2 } },
        { task: 'tasks.add', args: [7], kwargs: { y: -10 } },
        { task: 'tasks.echo', args: ['héllo ✓ 日本', [1, [2, [3]]], { a: { b: null } }, true, false, null] },
        { task: 'tasks.echo', args: [], kwargs: { k: 'v', n: null, nested: { list: [1.5, 'x'] } } },
        { task: 'tasks.add', args: [9007199254740991, 0] },
      ], { wait: 30 });
      assert.equal(success(outcomes[0]), 5);
      assert.equal(success(outcomes[1]), 0.75);
      assert.equal(success(outcomes[2]), 42);
      assert.equal(success(outcomes[3]), -3);
      assert.deepEqual(success(outcomes[4]), { args: ['héllo ✓ 日本', [1, [2, [3]]], { a: { b: null } }, true, false, null], kwargs: {} });
      assert.deepEqual(success(outcomes[5]), { args: [], kwargs: { k: 'v', n: null, nested: { list: [1.5, 'x'] } } });
      assert.equal(success(outcomes[6]), 9007199254740991);
    });

    it('a TypeScript error reaches Python as an exception with its type and message', async () => {
      await startRadish();
      const [failed, unknownKwarg] = await celerySend(h.server.url, [
        { task: 'tasks.fail', args: ['über kaputt'] },
        { task: 'tasks.add', args: [1], kwargs: { z: 2 } },
      ], { wait: 30 });
      assert.ok(failed?.state === 'FAILURE', JSON.stringify(failed));
      assert.equal(failed.exc_type, 'RangeError');
      assert.deepEqual(failed.exc_message, ['über kaputt']);
      assert.match(failed.traceback ?? '', /RangeError: über kaputt/);
      assert.ok(unknownKwarg?.state === 'FAILURE', JSON.stringify(unknownKwarg));
      assert.equal(unknownKwarg.exc_type, 'TypeError');
      assert.equal(unknownKwarg.exc_module, 'builtins', 'Python rebuilt its own TypeError');
    });

    it('consumes priorities 0..9 sent by Python in priority order, none stranded', async () => {
      const priorities = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
      await celerySend(h.server.url, priorities.map((p) => ({ task: 'tasks.prio', args: [p], priority: p })));
      await startRadish(['celery'], 1);
      await until(() => runs.length >= priorities.length, 'all ten to finish', 30_000);
      // kombu's buckets: 0-2, 3-5, 6-8, 9; FIFO inside each bucket (the order Python sent them).
      assert.deepEqual(runs.map(Number), [2, 1, 0, 5, 4, 3, 8, 7, 6, 9]);
      const left = await Promise.all(['celery', 'celery\x06\x163', 'celery\x06\x166', 'celery\x06\x169'].map((k) => h.redis.llen(k)));
      assert.deepEqual(left, [0, 0, 0, 0]);
      assert.equal(await h.redis.hlen('unacked'), 0);
    });
  });

  describe('Radish client -> Celery worker', () => {
    it('reads results and Python exceptions (type, message, traceback)', async () => {
      celery = await startCeleryWorker(h.server.url, { queues: ['celery'], concurrency: 2, pool: 'prefork' });
      const add = await app.send('tasks.add', [2, 3]);
      const kw = await app.send('tasks.add', [], { x: 1.5, y: 2 });
      const echo = await app.send('tasks.echo', ['ü', { deep: [null, true] }], { k: 'v' });
      const fail = await app.send('tasks.fail', ['kaboom']);
      assert.equal(await add.get({ timeout: 20_000 }), 5);
      assert.equal(await kw.get({ timeout: 20_000 }), 3.5);
      assert.deepEqual(await echo.get({ timeout: 20_000 }), { args: ['ü', { deep: [null, true] }], kwargs: { k: 'v' } });
      const err = await fail.get({ timeout: 20_000 }).then(() => assert.fail('should fail'), (e: unknown) => e as TaskFailedError);
      assert.ok(err instanceof TaskFailedError);
      assert.equal(err.name, 'ValueError');
      assert.equal(err.excModule, 'builtins');
      assert.equal(err.message, 'kaboom');
      assert.match(err.remoteTraceback ?? '', /Traceback \(most recent call last\)[\s\S]*ValueError: kaboom/);
    });

    it('honours a countdown sent by Radish', async () => {
      const sentAt = Date.now();
      const later = await app.send('tasks.add', [1, 1], {}, { countdown: 1.5 });
      celery = await startCeleryWorker(h.server.url, { queues: ['celery'] });
      assert.equal(await later.get({ timeout: 20_000 }), 2);
      assert.ok(Date.now() - sentAt >= 1400, 'not before its countdown');
    });
  });

  it('a Radish worker and a Celery worker share one queue: every task runs once, every result is there', async () => {
    celery = await startCeleryWorker(h.server.url, { queues: ['shared'], concurrency: 2, pool: 'prefork' });
    await startRadish(['shared'], 4);
    const n = 300;
    const results = await app.sendMany(Array.from({ length: n }, (_, i) => ({ name: 'tasks.count', args: [i], queue: 'shared' })));
    const values = (await Promise.all(results.map((r) => r.get({ timeout: 60_000 })))) as { i: number; by: string }[];
    assert.deepEqual(values.map((v) => v.i), Array.from({ length: n }, (_, i) => i));
    const runsById = await h.redis.hgetall('interop:runs');
    assert.equal(Object.keys(runsById).length, n);
    assert.ok(Object.values(runsById).every((c) => c === '1'), 'no task ran twice');
    const byRadish = values.filter((v) => v.by === 'radish').length;
    const byCelery = values.filter((v) => v.by === 'celery').length;
    console.log(`      shared queue: ${byRadish} ran on Radish, ${byCelery} on Celery`);
    assert.ok(byRadish > 0 && byCelery > 0, 'both workers took part');
    assert.equal(await h.redis.hlen('unacked'), 0);
  });
});
