/**
 * What the Metrics view and the status bar's tooltip make of a metrics history read from a real redis-server: the
 * page's model, and the last minutes in words.
 */
import assert from 'node:assert/strict';
import { buildModel, formatSeconds, summarize } from '../../extension/metricsView/model';
import { Keys } from '../../runner/broker/keys';
import { bucketField, counterField, queueField, runtimeBucket } from '../../runner/metrics/history-buckets';
import { readMetricsHistory } from '../../runner/metrics/history-reader';
import { minuteOf } from '../../runner/metrics/history-buckets';
import { redisHarness } from '../support/redis';

describe('the Metrics view\'s model and the status bar\'s summary', () => {
  const redis = redisHarness();
  const keys = new Keys();
  const store = () => ({ redis: redis.redis, keys });

  it('says the last minutes in words: tasks, failures, p95, and each queue\'s waiting messages and oldest age', async () => {
    const m = minuteOf(Date.now()) - 2;
    await redis.redis.hset(keys.metricsMinute(m),
      counterField('succeeded', 'celery', 'tasks.add'), 1237, bucketField(runtimeBucket(100), 'celery', 'tasks.add'), 1237,
      counterField('failed', 'celery', 'tasks.fail'), 3, bucketField(runtimeBucket(100), 'celery', 'tasks.fail'), 3);
    await redis.redis.hset(keys.metricsQueues(m), queueField('depth', 'celery'), 40, queueField('age', 'celery'), 12.2, queueField('depth', 'idle'), 0);
    const history = await readMetricsHistory(store(), { from: Date.now() - 5 * 60_000, stepMinutes: 6 });
    const text = summarize(history, 5);
    // 100 ms runs: p95 within their bucket, (90.5, 128] ms.
    assert.match(text ?? '', /^Last 5 min: 1,240 tasks, 3 failed, p95 (9\d|1[01]\d|12[0-8]) ms; celery: 40 waiting, oldest 12 s; idle: 0 waiting$/);

    const model = buildModel(history, { hours: 1 }, 1234);
    assert.equal(model.empty, false);
    assert.equal(model.totals.throughput, 1240);
    assert.deepEqual(model.taskNames, ['tasks.add', 'tasks.fail']);
    assert.deepEqual(model.queues.map((q) => [q.queue, q.latestDepth, q.latestAge]), [['celery', 40, 12.2], ['idle', 0, null]]);
  });

  it('has no summary, and an empty model, where no worker wrote', async () => {
    const history = await readMetricsHistory(store(), { from: Date.now() - 5 * 60_000 });
    assert.equal(summarize(history, 5), undefined);
    assert.equal(buildModel(history, { hours: 1 }, 0).empty, true);
  });

  it('formats durations as people read them', () => {
    assert.deepEqual([0.12, 1.44, 12.4, 600, 9000].map(formatSeconds), ['120 ms', '1.4 s', '12 s', '10 min', '2.5 h']);
  });
});
