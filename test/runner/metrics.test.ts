/**
 * A worker's Prometheus endpoint (`metricsPort`), scraped over HTTP during and after a known mix of tasks on a real
 * redis-server: every count exact, histograms' counts equal to the runs, gauges while tasks run and wait, Flower's
 * names beside with Flower's meaning, the send-time stamp turned into queue waits.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { encodeTaskMessage, type TaskCall } from '../../runner/protocol/message';
import type { TaskFailedError } from '../../runner/protocol/result';
import { Worker } from '../../runner/worker/worker';
import { Histogram, Registry } from 'prom-client';
import { HistogramTally, pythonFloat } from '../../runner/metrics/tally';
import { until, workerHarness } from '../support/worker-harness';
import { parseSamples, scrape, type Scrape } from './exporter-scrape';
import { Keys } from '../../runner/broker/keys';
import { createLogger } from '../../runner/log';
import { WorkerMetrics } from '../../runner/worker/metrics';
import { MetricsHistoryWriter } from '../../runner/worker/metrics-history';

const SENDER = { origin: 'gen1@test', replyTo: '', deliveryTag: '' };

/** A message as a client would LPUSH it, with the send time given (null: none, as Celery sends). */
function rawMessage(call: Omit<TaskCall, 'id' | 'queue'> & { queue?: string }): string {
  return encodeTaskMessage({ id: randomUUID(), queue: 'celery', ...call }, { ...SENDER, deliveryTag: randomUUID() });
}

describe('metrics: tallies', function () {
  it('render a histogram exactly as prom-client\'s own Histogram does (cumulative buckets, +Inf, sum, count, escaping)', async () => {
    const registry = new Registry();
    const ours = new HistogramTally(registry, { name: 'ours', help: 'h', labelNames: ['task'], buckets: [1, 0.1, 2.5] });
    const theirs = new Histogram({ name: 'theirs', help: 'h', labelNames: ['task'], buckets: [0.1, 1, 2.5], registers: [registry] });
    for (const [task, v] of [['a"b\\c', 0.05], ['a"b\\c', 0.1], ['a"b\\c', 0.5], ['a"b\\c', 7], ['x', 2.5]] as const) {
      ours.observe(ours.cell({ task }), v);
      theirs.observe({ task }, v);
    }
    const [a, b] = (await registry.metrics()).split('\n\n');
    assert.equal(a!.replace(/ours/g, 'theirs'), b!.trimEnd());
  });
});

describe('metrics: Python-style le labels (Flower\'s histogram)', function () {
  it('writes numbers as Python\'s prometheus_client does (repr, +Inf, Go exponents from 7 digits)', () => {
    // Python's floatToGoString of each (repr, then Go's exponent form when the integer part has 7 digits or more).
    const expected: [number, string][] = [
      [0.005, '0.005'], [1, '1.0'], [2.5, '2.5'], [10, '10.0'], [1e-5, '1e-05'], [0.1 + 0.2, '0.30000000000000004'],
      [1.5e-7, '1.5e-07'], [999999, '999999.0'], [1e6, '1e+06'], [1234567, '1.234567e+06'], [123.25, '123.25'], [Infinity, '+Inf'],
    ];
    for (const [n, s] of expected) assert.equal(pythonFloat(n), s, String(n));
  });
});

describe('metrics: a worker\'s /metrics endpoint', function () {
  const h = workerHarness();

  it('counts a known mix exactly (outcomes, histograms, gauges) and serves Flower\'s names with the same counts', async () => {
    h.app.task('tasks.ok', (n: number) => n);
    h.app.task('tasks.ok2', () => 'two');
    h.app.task('tasks.bad', () => { throw new Error('boom'); });
    let flakyRuns = 0;
    h.app.task('tasks.flaky', { autoretryFor: [Error], retryBackoff: 0.05, retryJitter: false, maxRetries: 1 }, () => {
      if (flakyRuns++ === 0) throw new Error('once');
      return 'second time';
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    h.app.task('tasks.block', () => gate);
    h.app.task('tasks.later', () => 'never runs');
    h.app.task('tasks.waited', () => 'waited');
    h.app.task('tasks.celery_sent', () => 'no stamp');

    const worker = await h.startWorker({ metricsPort: 0, concurrency: 4, metricsHistory: false });
    const port = worker.metricsPort!;
    assert.ok(port > 0);
    const w = { worker: 'w1@test' };

    // During the run: one task running, one waiting for its ETA.
    const block = await h.app.send('tasks.block');
    await until(() => worker.stats.active === 1, 'tasks.block running');
    const later = await h.app.send('tasks.later', [], {}, { countdown: 60 });
    await until(() => worker.stats.scheduled === 1, 'tasks.later waiting for its ETA');
    const during = await scrape(port);
    assert.equal(during.value('radish_worker_active_tasks'), 1);
    assert.equal(during.value('radish_worker_scheduled_tasks'), 1);
    assert.equal(during.value('radish_worker_reserved_tasks'), 0);
    assert.equal(during.value('radish_worker_up'), 1);
    assert.equal(during.value('radish_tasks_total', { task: 'tasks.block', outcome: 'started' }), 1);
    assert.equal(during.value('radish_tasks_total', { task: 'tasks.block', outcome: 'succeeded' }), undefined);
    assert.equal(during.value('radish_tasks_total', { task: 'tasks.later', outcome: 'received' }), 1);
    assert.equal(during.value('flower_worker_number_of_currently_executing_tasks', w), 1);
    assert.equal(during.value('flower_worker_online', w), 1);
    assert.equal(during.value('flower_worker_prefetched_tasks', { ...w, task: 'tasks.block' }), 0, 'received, then started');

    await worker.revoke([later.id]);
    const oks = await Promise.all([1, 2, 3, 4, 5].map((n) => h.app.send('tasks.ok', [n])));
    const ok2s = await Promise.all([1, 2, 3].map(() => h.app.send('tasks.ok2')));
    const bads = await Promise.all([1, 2].map(() => h.app.send('tasks.bad')));
    const flaky = await h.app.send('tasks.flaky');
    const unknown = await h.app.send('tasks.python_only');
    // Sent 5 s ago (by its stamp), and one as Celery sends it (no stamp).
    await h.redis.lpush('celery', rawMessage({ name: 'tasks.waited', sentAt: Date.now() - 5000 }), rawMessage({ name: 'tasks.celery_sent', sentAt: null }));
    release();
    await block.get({ timeout: 5000 });
    for (const r of oks) await r.get({ timeout: 5000 });
    for (const r of ok2s) await r.get({ timeout: 5000 });
    for (const r of bads) await assert.rejects(r.get({ timeout: 5000 }), (e: TaskFailedError) => e.message === 'boom');
    assert.equal(await flaky.get({ timeout: 5000 }), 'second time');
    await assert.rejects(unknown.get({ timeout: 5000 }), (e: TaskFailedError) => e.name === 'NotRegistered');
    await assert.rejects(later.get({ timeout: 5000 }), (e: TaskFailedError) => e.state === 'REVOKED');

    // Outcome events follow the stored results by a turn or two: wait for the last ones, then check all exactly.
    let after: Scrape | undefined;
    await until(async () => {
      after = await scrape(port);
      return after.value('radish_tasks_total', { task: 'tasks.waited', outcome: 'succeeded' }) === 1
        && after.value('radish_tasks_total', { task: 'tasks.celery_sent', outcome: 'succeeded' }) === 1
        && after.value('radish_tasks_total', { task: 'tasks.python_only', outcome: 'dead_lettered' }) === 1
        && after.value('radish_tasks_total', { task: 'tasks.bad', outcome: 'failed' }) === 2
        && after.value('radish_tasks_total', { task: 'tasks.flaky', outcome: 'succeeded' }) === 1
        && after.value('radish_tasks_total', { task: 'tasks.ok', outcome: 'succeeded' }) === 5
        && after.value('radish_tasks_total', { task: 'tasks.ok2', outcome: 'succeeded' }) === 3
        && after.value('radish_tasks_total', { task: 'tasks.block', outcome: 'succeeded' }) === 1;
    }, () => `the last outcomes; last scrape:\n${after?.text}`);
    const s = after!;

    const expected: Record<string, Record<string, number>> = {
      'tasks.ok': { received: 5, started: 5, succeeded: 5 },
      'tasks.ok2': { received: 3, started: 3, succeeded: 3 },
      'tasks.bad': { received: 2, started: 2, failed: 2 },
      'tasks.flaky': { received: 2, started: 2, retried: 1, succeeded: 1 },
      'tasks.block': { received: 1, started: 1, succeeded: 1 },
      'tasks.later': { received: 1, revoked: 1 },
      'tasks.waited': { received: 1, started: 1, succeeded: 1 },
      'tasks.celery_sent': { received: 1, started: 1, succeeded: 1 },
      'tasks.python_only': { dead_lettered: 1 },
    };
    const counted: Record<string, Record<string, number>> = {};
    for (const sample of s.all('radish_tasks_total')) {
      (counted[sample.labels.task!] ??= {})[sample.labels.outcome!] = sample.value;
    }
    assert.deepEqual(counted, expected);

    // One runtime per run that ended (the revoked one never ran).
    const runs: Record<string, number> = { 'tasks.ok': 5, 'tasks.ok2': 3, 'tasks.bad': 2, 'tasks.flaky': 2, 'tasks.block': 1, 'tasks.waited': 1, 'tasks.celery_sent': 1 };
    for (const [task, n] of Object.entries(runs)) assert.equal(s.value('radish_task_runtime_seconds_count', { task }), n, `runtime count of ${task}`);
    assert.equal(s.value('radish_task_runtime_seconds_count', { task: 'tasks.later' }), undefined);
    // Queue waits: every stamped message that started (a retry is a new send); none for Celery's unstamped one.
    for (const [task, n] of Object.entries({ ...runs, 'tasks.celery_sent': 0 })) {
      assert.equal(s.value('radish_task_queue_wait_seconds_count', { task, queue: 'celery' }) ?? 0, n, `queue-wait count of ${task}`);
    }
    assert.equal(s.value('radish_task_queue_wait_seconds_bucket', { task: 'tasks.waited', queue: 'celery', le: '2.5' }), 0);
    assert.ok(s.value('radish_task_queue_wait_seconds_sum', { task: 'tasks.waited', queue: 'celery' })! >= 5, 'waited at least the 5 s since its stamp');
    assert.equal(s.value('radish_worker_active_tasks'), 0);
    assert.equal(s.value('radish_worker_scheduled_tasks'), 0);

    // Flower's names: the same events, as Flower counts them.
    const events = (type: string, task: string) => s.value('flower_events_total', { ...w, type, task });
    for (const [task, outcomes] of Object.entries(expected)) {
      for (const [outcome, n] of Object.entries(outcomes)) {
        if (outcome === 'dead_lettered') continue; // Celery has no event for it
        assert.equal(events(`task-${outcome}`, task), n, `flower_events_total ${task} task-${outcome}`);
      }
    }
    assert.equal(s.all('flower_events_total', { task: 'tasks.python_only' }).length, 0);
    // Flower observes the runtime of the events that carry one: task-succeeded.
    assert.equal(s.value('flower_task_runtime_seconds_count', { ...w, task: 'tasks.ok' }), 5);
    assert.equal(s.value('flower_task_runtime_seconds_count', { ...w, task: 'tasks.flaky' }), 1);
    assert.equal(s.value('flower_task_runtime_seconds_count', { ...w, task: 'tasks.bad' }), undefined);
    assert.equal(s.value('flower_task_runtime_seconds_bucket', { ...w, task: 'tasks.ok', le: '0.075' }), 5, "Python's default buckets, as Flower's");
    assert.equal(s.value('flower_task_runtime_seconds_bucket', { ...w, task: 'tasks.ok', le: '1.0' }), 5, 'le as Python writes it, as Flower serves it');
    assert.equal(s.all('flower_task_runtime_seconds_bucket', { le: '1' }).length, 0);
    assert.equal(s.value('radish_task_runtime_seconds_bucket', { task: 'tasks.ok', le: '1' }), 5, "Radish's own: prom-client's le");
    assert.equal(s.value('flower_worker_prefetched_tasks', { ...w, task: 'tasks.ok' }), 0);
    assert.equal(s.value('flower_task_prefetch_time_seconds', { ...w, task: 'tasks.ok' }), 0, 'set back to 0 when a task ends');
    assert.equal(s.all('flower_worker_prefetched_tasks', { task: 'tasks.later' }).length, 0, 'ETA tasks are left out, as Flower does');
    assert.equal(s.value('flower_worker_online', w), 1);
    assert.equal(s.value('flower_worker_number_of_currently_executing_tasks', w), 0);

    // The endpoint closes with the worker.
    await worker.stop();
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  });

  it('closes the runs a stop hands back (ETA waits, tasks waiting for a slot): nothing stays followed, prefetched back at 0', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    h.app.task('tasks.block', () => gate);
    h.app.task('tasks.ok', () => 'ok');
    const worker = await h.startWorker({ concurrency: 1, prefetchMultiplier: 4, metricsHistory: false });
    // Consumers of its own, which outlive the stop (the worker's own close with it).
    const metrics = new WorkerMetrics(worker);
    metrics.attach();
    const writer = new MetricsHistoryWriter({
      store: { redis: h.redis, keys: new Keys() }, broker: await h.app.broker(), hostname: 'test', queues: () => ['celery'],
      logger: createLogger('error', () => undefined), intervalSec: 3600,
    });
    writer.attach(worker);
    const prefetched = async () => parseSamples(await metrics.registry.metrics())
      .find((x) => x.name === 'flower_worker_prefetched_tasks' && x.labels.task === 'tasks.ok')?.value;

    const block = await h.app.send('tasks.block');
    await until(() => worker.stats.active === 1, 'tasks.block running');
    await h.app.send('tasks.ok');
    await h.app.send('tasks.ok');
    await h.app.send('tasks.ok', [], {}, { countdown: 60 });
    await h.app.send('tasks.ok', [], {}, { countdown: 60 });
    await until(() => worker.stats.reserved === 2 && worker.stats.scheduled === 2, 'two waiting for the slot, two for their ETA');
    assert.equal(metrics.inFlight, 5);
    assert.equal(writer.inFlightCount, 5);
    assert.equal(await prefetched(), 2, 'the two without an ETA');

    const stopping = worker.stop();
    await until(() => worker.stats.reserved === 0 && worker.stats.scheduled === 0, 'the waiting ones given back');
    release();
    await stopping;
    await block.get({ timeout: 5000 });
    assert.equal(metrics.inFlight, 0, 'no run left followed');
    assert.equal(writer.inFlightCount, 0, 'no run left followed by the history');
    assert.equal(await prefetched(), 0);
    metrics.close();
  });

  it('labels queue waits with the queue a message was taken from, not its routing key', async () => {
    h.app.task('feed.fetch', () => 'ok');
    const worker = await h.startWorker({ queues: ['feeds'], metricsPort: 0, metricsHistory: false });
    // As a Celery binding Queue('feeds', routing_key='feed.#') leaves it: routed by `feed.fetch`, waiting in feeds.
    const raw = encodeTaskMessage({ id: randomUUID(), queue: 'feed.fetch', name: 'feed.fetch', sentAt: Date.now() }, { ...SENDER, deliveryTag: randomUUID() });
    await h.redis.lpush('feeds', raw);
    await until(() => worker.stats.succeeded === 1, 'the feed task ran');
    const s = await scrape(worker.metricsPort!);
    assert.equal(s.value('radish_task_queue_wait_seconds_count', { task: 'feed.fetch', queue: 'feeds' }), 1);
    assert.equal(s.all('radish_task_queue_wait_seconds_count', { queue: 'feed.fetch' }).length, 0);
  });

  it('answers 404 beside /metrics and 405 to other methods; no port, no listener', async () => {
    h.app.task('tasks.ok', () => 1);
    const plain = await h.startWorker({ metricsHistory: false });
    assert.equal(plain.metricsPort, undefined);
    const metered = await h.startWorker({ metricsPort: 0, metricsHistory: false, metricsHost: '127.0.0.1' });
    // Whatever else listens (the same on both), the metrics add one listener per event, and only with a port.
    for (const event of ['task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'task-released', 'dead-letter'] as const) {
      assert.equal(metered.listenerCount(event), plain.listenerCount(event) + 1, event);
    }
    const base = `http://127.0.0.1:${metered.metricsPort}`;
    assert.equal((await fetch(`${base}/`)).status, 404);
    assert.equal((await fetch(`${base}/metric`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/metrics?x=1`)).status, 200);
  });

  it('refuses a port that is not one, and says which port is taken', async () => {
    assert.throws(() => new Worker(h.app, { metricsPort: 70000 }), /metricsPort must be a TCP port/);
    const first = await h.startWorker({ metricsPort: 0, metricsHistory: false });
    await assert.rejects(h.startWorker({ metricsPort: first.metricsPort!, metricsHistory: false }), /metrics: cannot listen on 0\.0\.0\.0:\d+: .*EADDRINUSE/);
  });

  it('serves its own queues\' depth and oldest age with metricsQueues (read from the broker at each scrape)', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    h.app.task('tasks.block', () => gate);
    h.app.task('tasks.ok', () => 'ok');
    // One slot, one message held at most: while tasks.block runs, what is sent next waits in Redis.
    const worker = await h.startWorker({ concurrency: 1, prefetchMultiplier: 1, metricsPort: 0, metricsQueues: true, metricsHistory: false });
    let s = await scrape(worker.metricsPort!);
    assert.equal(s.value('radish_queue_depth', { queue: 'celery' }), 0);
    assert.equal(s.value('radish_queue_oldest_message_age_seconds', { queue: 'celery' }), 0, 'an empty queue: nothing waits');
    assert.equal(s.value('radish_queue_stats_up'), 1);
    const block = await h.app.send('tasks.block');
    await until(() => worker.stats.active === 1, 'tasks.block running');
    const oldest = Date.now() - 20_000;
    // The oldest at priority 9, a newer one at 0: the age is the oldest's, across the priority lists.
    await h.redis.lpush('celery\x06\x169', rawMessage({ name: 'tasks.ok', sentAt: oldest, priority: 9 }));
    await h.redis.lpush('celery', rawMessage({ name: 'tasks.ok', sentAt: oldest + 10_000 }));
    s = await scrape(worker.metricsPort!);
    const read = Date.now();
    assert.equal(s.value('radish_queue_depth', { queue: 'celery' }), 2);
    const age = s.value('radish_queue_oldest_message_age_seconds', { queue: 'celery' })!;
    assert.ok(age >= 20 && age <= (read - oldest) / 1000, `age ${age}`);
    release();
    await block.get({ timeout: 5000 });
  });
});
