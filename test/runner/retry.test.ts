/** Automatic retries: the backoff curve (a fake random source), the decision, and the RETRY sequence on a worker. */
import assert from 'node:assert/strict';
import { decodeTaskMessage } from '../../runner/protocol/message';
import { TaskFailedError } from '../../runner/protocol/result';
import { autoRetry, backoffDelay, defineTask, matchesError, MaxRetriesExceededError, Retry, type TaskRequest } from '../../runner/task';
import { until, workerHarness } from '../support/worker-harness';

class FlakyNetwork extends Error { override readonly name = 'FlakyNetwork'; }
class BadInput extends Error { override readonly name = 'BadInput'; }

function request(retries: number): TaskRequest {
  return {
    id: 'id-1', task: 't', args: [], kwargs: {}, retries, queue: 'celery', priority: 0, eta: null, expires: null,
    parentId: null, rootId: 'id-1', groupId: null, hostname: 'w@test', redelivered: false, properties: {},
  };
}

describe('automatic retries', function () {
  it('backs off exponentially with a cap, as Celery computes it', () => {
    const noJitter = [0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, 2, 30, false));
    assert.deepEqual(noJitter, [2, 4, 8, 16, 30, 30]);
  });

  it('full jitter draws a whole number of seconds from 0 to the backoff', () => {
    assert.equal(backoffDelay(3, 1, 600, true, () => 0), 0);
    assert.equal(backoffDelay(3, 1, 600, true, () => 0.999999), 8);
    assert.equal(backoffDelay(3, 1, 600, true, () => 0.5), 4);
    assert.equal(backoffDelay(20, 1, 600, true, () => 0.999999), 600, 'capped before the jitter');
  });

  it('matches errors by class, by name up the prototype chain, or by predicate', () => {
    assert.ok(matchesError([FlakyNetwork], new FlakyNetwork('x')));
    assert.ok(!matchesError([FlakyNetwork], new Error('x')));
    assert.ok(matchesError(['FlakyNetwork'], new FlakyNetwork('x')));
    assert.ok(matchesError(['Error'], new FlakyNetwork('x')), 'a subclass matches its base name');
    assert.ok(matchesError((e) => (e as Error).message === 'x', new Error('x')));
    assert.ok(!matchesError(undefined, new Error('x')));
  });

  it('decides: retry matched errors with backoff, give up with the original error, skip the excluded', () => {
    const def = defineTask('t', () => 1, { autoretryFor: [Error], dontAutoretryFor: [BadInput], retryBackoff: 2, retryJitter: false, maxRetries: 2 });
    const first = autoRetry(def, request(0), new FlakyNetwork('down'));
    assert.ok(first instanceof Retry);
    assert.ok(Math.abs(first.when.getTime() - Date.now() - 2000) < 100, 'first retry after factor * 2^0 = 2 s');
    assert.match(first.message, /^Retry in 2s: FlakyNetwork\('down'\)$/);
    const second = autoRetry(def, request(1), new FlakyNetwork('down'));
    assert.ok(second instanceof Retry && Math.abs(second.when.getTime() - Date.now() - 4000) < 100);
    const exhausted = new FlakyNetwork('still down');
    assert.equal(autoRetry(def, request(2), exhausted), exhausted, 'after maxRetries the original error is the failure');
    assert.equal(autoRetry(def, request(0), new BadInput('no')), undefined, 'dontAutoretryFor wins');
    assert.equal(autoRetry(def, request(0), new MaxRetriesExceededError('x')), undefined);
    const defaults = defineTask('d', () => 1, { autoretryFor: ['FlakyNetwork'] });
    const plain = autoRetry(defaults, request(0), new FlakyNetwork('x'));
    assert.ok(plain instanceof Retry && Math.abs(plain.when.getTime() - Date.now() - 180_000) < 100, "without backoff: Celery's 180 s");
  });

  describe('on a worker', function () {
    const h = workerHarness();

    it('retries a matched error with backoff (RETRY stored, retries+1 republished), then fails for good into the DLQ', async () => {
      let attempts = 0;
      h.app.task('tasks.flaky', { autoretryFor: [FlakyNetwork], retryBackoff: 0.05, retryJitter: false, maxRetries: 2 }, () => {
        attempts++;
        throw new FlakyNetwork(`attempt ${attempts}`);
      });
      await h.startWorker();
      const states: string[] = [];
      const r = await h.app.send('tasks.flaky');
      const watch = setInterval(() => void h.stored(r.id).then((m) => { if (m && states.at(-1) !== m.status) states.push(m.status); }), 5);
      await assert.rejects(r.get({ timeout: 5000 }), (err: TaskFailedError) => err.excType === 'FlakyNetwork' && err.message === 'attempt 3');
      clearInterval(watch);
      assert.equal(attempts, 3, 'one run and two retries');
      assert.equal((await h.stored(r.id))?.status, 'FAILURE');
      assert.ok(states.includes('RETRY'), `RETRY was stored between runs (saw ${states.join(' -> ')})`);
      await until(async () => (await h.redis.llen('radish.dlq')) === 1, 'the dead letter');
      const [record] = await h.redis.lrange('radish.dlq', 0, -1);
      const death = JSON.parse(record!) as { attempts: number; reason: string; raw: string };
      assert.equal(death.attempts, 3);
      assert.equal(death.reason, "failed: FlakyNetwork('attempt 3')");
      assert.equal(decodeTaskMessage(death.raw).retries, 2, 'the dead letter keeps the last message as it was delivered');
      assert.ok(h.lines.filter((l) => l.includes('retry: Retry in 0.05s') || l.includes('retry: Retry in 0.1s')).length === 2, h.lines.join('\n'));
    });

    it('an error excluded with dontAutoretryFor fails at once', async () => {
      let attempts = 0;
      h.app.task('tasks.strict', { autoretryFor: [Error], dontAutoretryFor: ['BadInput'], retryBackoff: 0.01 }, () => { attempts++; throw new BadInput('no'); });
      await h.startWorker();
      const r = await h.app.send('tasks.strict');
      await assert.rejects(r.get({ timeout: 5000 }), /no/);
      assert.equal(attempts, 1);
    });
  });
});
