/**
 * Celery's visibility-timeout trap: a consumer restores any unacked message older than its visibility timeout, so a
 * long ETA wait held by a live worker comes back as a duplicate, again and again. Radish keeps the records of what
 * it holds fresh, so nothing it holds is restored, while a dead worker's messages still are.
 */
import assert from 'node:assert/strict';
import { RedisBroker as Broker } from '../../runner/broker/redis-broker';
import { delay, until, workerHarness } from '../support/worker-harness';

describe('ETA and the visibility timeout', function () {
  this.timeout(30_000);
  const h = workerHarness();

  it('a far-future task held by a live worker is not restored by a consumer with a short visibility timeout', async () => {
    // The worker's broker uses the same short timeout, so it refreshes its records every second.
    h.app.options.broker = { url: h.server.url, visibilityTimeout: 2 };
    h.app.task('tasks.tomorrow', () => 'ran');
    const worker = await h.startWorker();
    const r = await h.app.send('tasks.tomorrow', [], {}, { countdown: 86_400 });
    await until(() => worker.stats.scheduled === 1, 'the ETA wait');
    // A kombu consumer (here Radish's own restore_visible, which does what kombu's does) with a 2 s timeout.
    const other = await Broker.connect({ url: h.server.url, visibilityTimeout: 2 });
    try {
      let restored = 0;
      for (let i = 0; i < 8; i++) {
        await delay(500);
        restored += await other.restoreVisible();
      }
      assert.equal(restored, 0, 'the held ETA message was never taken for lost');
      assert.equal(await h.redis.llen('celery'), 0);
      assert.equal(worker.stats.scheduled, 1);
      await worker.stop({ cold: true });
      assert.equal(await h.redis.llen('celery'), 1, 'a stopped worker gives its ETA messages back');
      assert.equal(await h.stored(r.id), null);
    } finally {
      await other.close();
    }
  });
});
