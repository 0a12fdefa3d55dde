/**
 * What the Metrics view and the status bar's tooltip make of a metrics history read from a real redis-server: the
 * page's model, and the last minutes in words.
 */
import assert from 'node:assert/strict';
import { buildModel, formatSeconds, summarize } from '../../extension/metricsView/model';
import { Keys } from '../../runner/broker/keys';
import { bucketField, counterField, queueField, runtimeBucket } from '../../runner/metrics/history-buckets';
import { completeUntil, MinuteCache, readMetricsHistory, SETTLE_MS } from '../../runner/metrics/history-reader';
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
      counterField('failed', 'celery', 'tasks.fail'), 3, bucketField(runtimeBucket(100), 'celery', 'tasks.fail'), 3,
      counterField('dead_lettered', 'celery', 'tasks.fail'), 2);
    await redis.redis.hset(keys.metricsQueues(m), queueField('depth', 'celery'), 40, queueField('age', 'celery'), 12.2, queueField('depth', 'idle'), 0);
    const history = await readMetricsHistory(store(), { from: Date.now() - 5 * 60_000, stepMinutes: 6 });
    const text = summarize(history, 5);
    // 100 ms runs: p95 within their bucket, (90.5, 128] ms.
    assert.match(text ?? '', /^Last 5 min: 1,240 tasks, 3 failed, 2 dead-lettered, p95 (9\d|1[01]\d|12[0-8]) ms; celery: 40 waiting, oldest 12 s; idle: 0 waiting$/);

    const model = buildModel(history, { hours: 1 }, 1234);
    assert.equal(model.empty, false);
    assert.equal(model.totals.throughput, 1240);
    // A dead-lettered message did not run: counted on its own, not in the throughput.
    assert.equal(model.totals.deadLettered, 2);
    assert.equal(model.deadLettered.reduce((a, b) => a + b, 0), 2);
    assert.deepEqual(model.taskNames, ['tasks.add', 'tasks.fail']);
    assert.deepEqual(model.queues.map((q) => [q.queue, q.latest?.depth, q.latest?.oldestAge]), [['celery', 40, 12.2], ['idle', 0, null]]);
  });

  it('has no summary, and an empty model, where no worker wrote', async () => {
    const history = await readMetricsHistory(store(), { from: Date.now() - 5 * 60_000 });
    assert.equal(summarize(history, 5), undefined);
    assert.equal(buildModel(history, { hours: 1 }, 0).empty, true);
  });

  it('ends the charts at the last minute every worker wrote whole, and counts the minutes of a step the range cuts', async () => {
    // 12:34:02: the minute 12:33 may still be written (up to SETTLE_MS after it ends), 12:34 is under way.
    const now = (minuteOf(Date.now()) * 60 + 2) * 1000;
    const to = completeUntil(now);
    assert.equal(minuteOf(to), minuteOf(now) - 2);
    assert.equal(minuteOf(completeUntil(now + SETTLE_MS)), minuteOf(now) - 1);
    // A minute under way holds what a worker wrote early (a stop, a short interval): not shown until it ends.
    await redis.redis.hset(keys.metricsMinute(minuteOf(now)), counterField('succeeded', 'celery', 'tasks.add'), 5);
    await redis.redis.hset(keys.metricsMinute(minuteOf(now) - 3), counterField('succeeded', 'celery', 'tasks.add'), 7);
    const hour = await readMetricsHistory(store(), { from: to + 1 - 3600_000, to, stepMinutes: 1 });
    assert.equal(hour.times.at(-1), minuteOf(to) * 60, 'the last step is the last complete minute');
    assert.equal(hour.totals.succeeded, 7);
    assert.ok(hour.minutes.every((n) => n === 1));
    // Six hours in 5-minute steps: the steps stay on multiples of 5 minutes, so the last one holds the minutes so far.
    const six = await readMetricsHistory(store(), { from: to + 1 - 6 * 3600_000, to, stepMinutes: 5 });
    assert.equal(six.minutes.at(-1), (minuteOf(to) % 5) + 1);
    assert.equal(six.minutes.reduce((a, b) => a + b, 0), 360);
  });

  it('reads a final minute once with a cache, and the recent minutes on every read', async () => {
    const now = Date.now();
    const old = minuteOf(now) - 30;
    const recent = minuteOf(now) - 1;
    await redis.redis.hset(keys.metricsMinute(old), counterField('failed', 'celery', 'tasks.fail'), 2);
    await redis.redis.hset(keys.metricsMinute(recent), counterField('failed', 'celery', 'tasks.fail'), 1);
    const cache = new MinuteCache();
    const range = { from: now - 72 * 3600_000, to: now, stepMinutes: 60 };
    const s = store();
    assert.equal((await readMetricsHistory(s, range, cache)).totals.failed, 3);
    assert.ok(cache.size >= 72 * 60 - 1 && cache.size <= 72 * 60 + 1, `${cache.size} minutes cached`);
    // Final minutes never change: a change to one is not read again; one to a recent minute is.
    await redis.redis.hset(keys.metricsMinute(old), counterField('failed', 'celery', 'tasks.fail'), 200);
    await redis.redis.hset(keys.metricsMinute(recent), counterField('failed', 'celery', 'tasks.fail'), 10);
    assert.equal((await readMetricsHistory(s, range, cache)).totals.failed, 12);
    // Another store (another connection) starts over.
    assert.equal((await readMetricsHistory(store(), range, cache)).totals.failed, 210);
  });

  it('formats durations as people read them', () => {
    assert.deepEqual([0.12, 1.44, 12.4, 600, 9000].map(formatSeconds), ['120 ms', '1.4 s', '12 s', '10 min', '2.5 h']);
  });
});
