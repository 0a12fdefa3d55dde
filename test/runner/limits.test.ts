/** Time limits in the async pool, and per-task rate limits (pure spacing with a fake clock, then on a worker). */
import assert from 'node:assert/strict';
import { SoftTimeLimitExceeded } from '../../runner/errors';
import { TaskFailedError } from '../../runner/protocol/result';
import { parseRate } from '../../runner/task';
import { RateLimiter } from '../../runner/worker/rate-limit';
import { delay, until, workerHarness } from '../support/worker-harness';

describe('time limits (async pool)', function () {
  const h = workerHarness();

  it('soft limit: the task sees its AbortSignal abort with SoftTimeLimitExceeded, can catch it and still return', async () => {
    h.app.task('tasks.tidy', { bind: true, softTimeLimit: 0.2 }, async (task) => {
      try {
        await new Promise((_, reject) => task.signal.addEventListener('abort', () => reject(task.signal.reason)));
        return 'never';
      } catch (err) {
        return err instanceof SoftTimeLimitExceeded ? `cleaned up after ${err.limit}s` : `wrong error ${String(err)}`;
      }
    });
    await h.startWorker();
    const r = await h.app.send('tasks.tidy');
    assert.equal(await r.get({ timeout: 5000 }), 'cleaned up after 0.2s');
  });

  it('soft limit uncaught: the task fails with SoftTimeLimitExceeded (billiard.exceptions), as in Celery', async () => {
    h.app.task('tasks.careless', { bind: true }, async (task) => {
      await delay(400);
      task.signal.throwIfAborted();
      return 'finished';
    });
    await h.startWorker();
    const r = await h.app.send('tasks.careless', [], {}, { softTimeLimit: 0.1 });
    await assert.rejects(r.get({ timeout: 5000 }), (err: TaskFailedError) => err.excType === 'SoftTimeLimitExceeded' && err.excModule === 'billiard.exceptions');
  });

  it('hard limit: fails the task with TimeLimitExceeded, frees its slot at once, says the code may still run', async () => {
    let stillRunning = false;
    h.app.task('tasks.stuck', async () => { stillRunning = true; await delay(1500); stillRunning = false; return 'late'; });
    h.app.task('tasks.next', () => 'ran');
    await h.startWorker({ concurrency: 1, timeLimit: 0.2 });
    const stuck = await h.app.send('tasks.stuck');
    const next = await h.app.send('tasks.next', [], {}, { timeLimit: 5 });
    await assert.rejects(stuck.get({ timeout: 5000 }), (err: TaskFailedError) => err.excType === 'TimeLimitExceeded');
    assert.equal(await next.get({ timeout: 1000 }), 'ran', 'the only slot was freed while the stuck code still ran');
    assert.ok(stillRunning, 'the abandoned code was indeed still running');
    assert.ok(h.lines.some((l) => l.includes(`Hard time limit exceeded for tasks.stuck[${stuck.id}]`) && l.includes('may still be running')));
    assert.equal((await h.stored(stuck.id))?.status, 'FAILURE');
    await until(async () => (await h.redis.llen('radish.dlq')) === 1, 'a timed-out task is dead-lettered like any failure');
  });

  it('the message limit wins over the task option, which wins over the worker option', async () => {
    h.app.task('tasks.sleepy', { timeLimit: 5 }, async () => { await delay(300); return 'done'; });
    await h.startWorker({ timeLimit: 0.05 });
    const taskOption = await h.app.send('tasks.sleepy');
    assert.equal(await taskOption.get({ timeout: 5000 }), 'done', "the task's 5 s beats the worker's 0.05 s");
    const messageOption = await h.app.send('tasks.sleepy', [], {}, { timeLimit: 0.1 });
    await assert.rejects(messageOption.get({ timeout: 5000 }), /TimeLimitExceeded/);
  });
});

describe('rate limits', function () {
  it('parses Celery rate strings and refuses bad ones clearly', () => {
    assert.equal(parseRate('10/s'), 10);
    assert.equal(parseRate('120/m'), 2);
    assert.equal(parseRate('3600/h'), 1);
    assert.equal(parseRate('5'), 5);
    assert.equal(parseRate(0.5), 0.5);
    assert.throws(() => parseRate('10/d'), /invalid rate limit "10\/d"/);
    assert.throws(() => parseRate('fast'), /expected e\.g\. "10\/s"/);
    assert.throws(() => parseRate(-1), /invalid rate limit -1/);
  });

  it('spaces starts 1/rate apart on a fake clock, with no burst beyond one', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(4, () => now);
    assert.deepEqual([limiter.reserve(), limiter.reserve(), limiter.reserve()], [0, 250, 500]);
    now += 2000; // idle for a while: no credit saved up beyond the next start
    assert.deepEqual([limiter.reserve(), limiter.reserve()], [0, 250]);
    assert.equal(new RateLimiter(0, () => now).reserve(), 0, '0 means no limit');
  });

  describe('on a worker', function () {
    const h = workerHarness();

    it('starts a limited task no faster than its rate, while other tasks run freely', async () => {
      const starts: number[] = [];
      h.app.task('tasks.limited', { rateLimit: '20/s' }, () => { starts.push(Date.now()); return 1; });
      h.app.task('tasks.free', () => 2);
      await h.startWorker({ concurrency: 4 });
      const limited = await h.app.sendMany(Array.from({ length: 8 }, () => ({ name: 'tasks.limited' })));
      const free = await h.app.sendMany(Array.from({ length: 8 }, () => ({ name: 'tasks.free' })));
      const freeDone = Promise.all(free.map((r) => r.get({ timeout: 5000 })));
      let limitedDone = false;
      const allLimited = Promise.all(limited.map((r) => r.get({ timeout: 5000 }))).then(() => { limitedDone = true; });
      await freeDone;
      assert.equal(limitedDone, false, 'free tasks were not held behind the limited ones');
      await allLimited;
      const span = starts[starts.length - 1]! - starts[0]!;
      // 8 starts at 20/s need at least 7 intervals of 50 ms (a lower bound: the limit is what is checked here).
      assert.ok(span >= 7 * 50 - 5, `8 starts took ${span} ms, at least 345 ms expected`);
    });

    it('refuses a malformed rate when the task is defined', () => {
      assert.throws(() => h.app.task('tasks.bad', { rateLimit: 'lots' }, () => 1), /invalid rate limit "lots"/);
    });
  });
});
