/**
 * Queue control on a real Celery 5.2.6 worker, beside a Radish worker: a paused queue is no longer consumed by
 * either (Celery through cancel_consumer), its messages wait in it, and resume restarts both (Celery through
 * add_consumer); drain-then-stop of a Celery worker finishes what it holds and stops it, leaving later tasks queued.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { PausedQueues } from '../../runner/broker/paused-queues';
import { Control } from '../../runner/control';
import { createLogger } from '../../runner/log';
import { drainWorker, pausedQueues, pauseQueue, resumeQueue, type DrainProgress } from '../../runner/queue-control';
import { Worker } from '../../runner/worker/worker';
import { type CeleryWorker, requireCelery, startCeleryWorker } from '../support/celery';
import { redisHarness } from '../support/redis';
import { delay, until } from '../support/wait';

describe('queue control with Celery 5.2.6 workers', function () {
  this.timeout(120_000);
  before(function () {
    requireCelery(this);
  });
  const h = redisHarness();
  let app: Radish;
  let celery: CeleryWorker | undefined;
  let radish: Worker | undefined;

  beforeEach(() => {
    app = new Radish({ broker: h.server.url });
    app.task('tasks.add', (x: number, y: number) => x + y);
  });
  afterEach(async () => {
    await radish?.stop({ cold: true });
    radish = undefined;
    await celery?.stop();
    celery = undefined;
    await app.close();
  });

  it('pause: the Celery worker is told cancel_consumer (recorded), the Radish worker leaves the queue out; messages wait; resume: add_consumer, all run', async () => {
    celery = await startCeleryWorker(h.server.url, { queues: ['qa', 'qb'], concurrency: 1, pool: 'prefork' });
    radish = new Worker(app, { queues: ['qa', 'qb'], hostname: 'radish@qc', logger: createLogger('warning', () => undefined) });
    await radish.start();
    assert.equal(await (await app.send('tasks.add', [1, 1], {}, { queue: 'qa' })).get({ timeout: 20_000 }), 2);

    const paused = await pauseQueue(app, 'qa');
    assert.deepEqual(paused.radish, ['radish@qc']);
    assert.deepEqual(paused.celery, [celery.hostname], 'the Celery worker consumed qa, so it was told cancel_consumer');
    assert.deepEqual((await pausedQueues(app)).map((p) => [p.queue, p.cancelled]), [['qa', [celery.hostname]]]);
    await celery.waitForLog(/Canceling queue qa/);
    // kombu's BRPOP under way when the consumer was cancelled named qa (it waits up to 1 s): let it end.
    await delay(1500);

    const waiting = await Promise.all([1, 2, 3].map((i) => app.send('tasks.add', [i, 10], {}, { queue: 'qa' })));
    assert.equal(await (await app.send('tasks.add', [2, 2], {}, { queue: 'qb' })).get({ timeout: 20_000 }), 4, 'qb is still consumed');
    await delay(1500);
    assert.equal(await h.redis.llen('qa'), 3, 'neither worker took from the paused queue');

    const resumed = await resumeQueue(app, 'qa');
    assert.deepEqual(resumed.celery, [celery.hostname], 'told add_consumer');
    assert.deepEqual(resumed.radish, ['radish@qc']);
    // Radish stops first, so that the Celery worker shows it consumes qa again by running them.
    await radish.stop();
    radish = undefined;
    await celery.waitForLog(/Started consuming from qa/);
    assert.deepEqual(await Promise.all(waiting.map((r) => r.get({ timeout: 20_000 }))), [11, 12, 13]);
    assert.equal(await h.redis.llen('qa'), 0);
    assert.deepEqual(await pausedQueues(app), []);
  });

  it('a resume that lands between the pause\'s cancel_consumer and its record update: the Celery worker is told add_consumer at once, not left cancelled', async () => {
    celery = await startCeleryWorker(h.server.url, { queues: ['qa', 'qb'], concurrency: 1, pool: 'prefork' });
    assert.equal(await (await app.send('tasks.add', [1, 1], {}, { queue: 'qa' })).get({ timeout: 20_000 }), 2);
    const store = new PausedQueues((await app.sharedStore())!);
    const control = await Control.forApp(app);
    // The resume's own steps (its record read and removed) run right after the cancel_consumer broadcast, as a
    // resume sent from another window at that moment would: it finds no Celery node to tell yet.
    const broadcast = control.broadcast.bind(control);
    control.broadcast = async <T = unknown>(...args: Parameters<Control['broadcast']>) => {
      const replies = await broadcast<T>(...args);
      if (args[0] === 'cancel_consumer') assert.deepEqual((await store.remove('qa'))?.cancelled, []);
      return replies;
    };
    try {
      const paused = await pauseQueue(app, 'qa', { control });
      assert.deepEqual(paused.celery, [celery.hostname]);
    } finally {
      await control.close();
    }
    assert.deepEqual(await pausedQueues(app), [], 'the queue is not paused: the resume won');
    await celery.waitForLog(/Canceling queue qa/);
    await celery.waitForLog(/Started consuming from qa/);
    assert.equal(await (await app.send('tasks.add', [3, 4], {}, { queue: 'qa' })).get({ timeout: 20_000 }), 7, 'the Celery worker consumes qa again');
  });

  it('drain-then-stop of a Celery worker: its running and reserved tasks finish, tasks sent meanwhile stay queued, it shuts down', async () => {
    celery = await startCeleryWorker(h.server.url, { queues: ['qd'], concurrency: 1, pool: 'prefork' });
    const held = await Promise.all([1, 1.5].map((s) => app.send('tasks.sleep', [s], {}, { queue: 'qd' })));
    const progress: DrainProgress[] = [];
    const draining = drainWorker(app, celery.hostname, { interval: 0.3, onProgress: (p) => progress.push(p) });
    await until(() => progress.length > 0, 'the first poll', 20_000);
    await celery.waitForLog(/Canceling queue qd/);
    await delay(1500); // the BRPOP under way when it was cancelled (see above)
    const meanwhile = await Promise.all([1, 2].map((i) => app.send('tasks.add', [i, i], {}, { queue: 'qd' })));
    const outcome = await draining;
    assert.deepEqual(outcome.queues, ['qd']);
    assert.equal(outcome.drained, true);
    assert.equal(outcome.stopped, true);
    assert.ok(progress.some((p) => p.active === 1), `a task was seen running: ${JSON.stringify(progress)}`);
    assert.deepEqual(await Promise.all(held.map((r) => r.get({ timeout: 20_000 }))), [1, 1.5]);
    assert.equal(await h.redis.llen('qd'), 2, 'sent during the drain: left for another worker');
    await celery.waitForLog(/Got shutdown from remote/);
    for (const r of meanwhile) assert.equal((await r.meta())?.status ?? 'PENDING', 'PENDING');
  });
});
