/**
 * The per-minute metrics history: real workers on a real redis-server (and on RabbitMQ with results on Redis) run
 * a known mix of tasks; the minute hashes hold the exact counts and runtime buckets, each worker writes once (one
 * MULTI, seen with MONITOR) rather than per task, the hashes expire, one worker samples the queues per minute, and
 * the reader merges minutes into steps with p50/p95 from the summed histograms.
 */
import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { Keys } from '../../runner/broker/keys';
import type { SharedStore } from '../../runner/broker/shared-store';
import { createLogger } from '../../runner/log';
import {
  bucketField, counterField, HISTORY_TTL_SEC, parseTaskField, quantile, queueField, RUNTIME_BOUNDS_MS, runtimeBucket,
} from '../../runner/metrics/history-buckets';
import { readMetricsHistory } from '../../runner/metrics/history-reader';
import { scripts } from '../../runner/broker/scripts';
import { encodeTaskMessage } from '../../runner/protocol/message';
import type { TaskMessage } from '../../runner/protocol/message';
import { MetricsHistoryWriter, type WorkerEventSource } from '../../runner/worker/metrics-history';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Worker, type WorkerOptions } from '../../runner/worker/worker';
import { rabbitVhost } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { delay, until } from '../support/wait';

/** Every field of every minute hash, summed over minutes. */
async function summed(redis: Redis, keys = new Keys()): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  const names = (await redis.keys(keys.metricsMinute(0).replace(/0$/, '*'))).filter((k) => /\.\d+$/.test(k) && !k.includes('.queues.'));
  for (const key of names) {
    for (const [field, value] of Object.entries(await redis.hgetall(key))) total.set(field, (total.get(field) ?? 0) + Number(value));
  }
  return total;
}

function count(total: Map<string, number>, kind: Parameters<typeof counterField>[0], queue: string, task: string): number {
  return total.get(counterField(kind, queue, task)) ?? 0;
}

/** Runs counted in the runtime buckets of one task. */
function bucketed(total: Map<string, number>, task: string): number {
  let n = 0;
  for (const [field, value] of total) {
    const parsed = parseTaskField(field);
    if (parsed?.kind === 'bucket' && parsed.task === task) n += value;
  }
  return n;
}

function defineTasks(app: Radish): void {
  app.task('tasks.add', (a: number, b: number) => a + b);
  app.task('tasks.boom', () => { throw new TypeError('boom'); });
  app.task('tasks.sleep', async (ms: number) => { await delay(ms); return ms; });
  // Retried once, then succeeds: one `retried` and one `succeeded` per call.
  app.task('tasks.flaky', { bind: true, defaultRetryDelay: 0 }, (task) => {
    if (task.request.retries < 1) task.retry({ countdown: 0 });
    return 'ok';
  });
}

describe('the metrics history (buckets)', () => {
  it('puts a runtime in the first bucket whose bound is not below it', () => {
    assert.equal(runtimeBucket(0), 0);
    assert.equal(runtimeBucket(1), 0);
    assert.equal(runtimeBucket(1.2), 1);
    assert.equal(runtimeBucket(2), 2);
    assert.equal(runtimeBucket(100), 14); // 2^(14/2) = 128 >= 100 > 2^(13/2) = 90.5
    assert.equal(runtimeBucket(1e12), RUNTIME_BOUNDS_MS.length);
    for (let ms = 0.5; ms < 1e8; ms *= 1.37) {
      const b = runtimeBucket(ms);
      assert.ok(RUNTIME_BOUNDS_MS[b]! >= ms && (b === 0 || RUNTIME_BOUNDS_MS[b - 1]! < ms), `${ms} ms in bucket ${b}`);
    }
  });

  it('computes quantiles from a histogram, within the bucket of the rank', () => {
    const counts = new Array<number>(RUNTIME_BOUNDS_MS.length + 1).fill(0);
    assert.equal(quantile(counts, 0.5), null);
    counts[runtimeBucket(50)] = 90; // (45.25, 64] ms
    counts[runtimeBucket(400)] = 10; // (362, 512] ms
    const p50 = quantile(counts, 0.5)!;
    const p95 = quantile(counts, 0.95)!;
    assert.ok(p50 > 0.04525 && p50 <= 0.064, `p50 ${p50}`);
    assert.ok(p95 > 0.362 && p95 <= 0.512, `p95 ${p95}`);
  });
});

describe('the metrics history on Redis', function () {
  this.timeout(60_000);
  const redis = redisHarness();
  let app: Radish;
  let workers: Worker[] = [];
  const lines: string[] = [];

  beforeEach(() => {
    lines.length = 0;
    app = new Radish({ broker: redis.server.url });
    defineTasks(app);
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ cold: true })));
    workers = [];
    await app.close();
  });

  async function start(options: WorkerOptions = {}, on = app): Promise<Worker> {
    const w = new Worker(on, { logger: createLogger('info', (l) => lines.push(l)), hostname: `w${workers.length + 1}@metrics`, concurrency: 4, ...options });
    workers.push(w);
    await w.start();
    return w;
  }

  const store = (): SharedStore => ({ redis: redis.redis, keys: new Keys() });

  it('two workers write the exact counts and runtime buckets of a known mix, each once (one script call), with a TTL', async () => {
    // Loaded before: each write is then exactly one EVALSHA (no NOSCRIPT then EVAL).
    await redis.redis.script('LOAD', scripts.metricsWrite.source);
    const monitor = await redis.connect().monitor();
    const seen: { source: string; args: string[] }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ source, args }));
    // No write on a timer during the test: only the stop's.
    const quiet = { metricsHistory: { intervalSec: 3600 } };

    // First worker alone, then the second alone: both count tasks.add in the same fields, which Redis adds up.
    const w1 = await start(quiet);
    const first = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => app.send('tasks.add', [i, 1])),
      ...Array.from({ length: 3 }, () => app.send('tasks.boom')),
      ...Array.from({ length: 2 }, () => app.send('tasks.flaky')),
    ]);
    await Promise.all(first.map((r) => r.get({ timeout: 10_000 }).catch(() => undefined)));
    // Another app: its own connection, as a worker in another process has.
    const other = new Radish({ broker: redis.server.url });
    defineTasks(other);
    const w2 = await start(quiet, other);
    let revoked = 0;
    w2.on('task-revoked', () => revoked++);
    await w1.stop();
    const second = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => app.send('tasks.add', [i, 2], {}, { queue: 'celery' })),
      ...Array.from({ length: 2 }, () => app.send('tasks.boom')),
      app.send('tasks.flaky'),
      ...Array.from({ length: 3 }, () => app.send('tasks.sleep', [300])),
    ]);
    // Expired before they arrive: discarded as revoked, never run.
    await Promise.all([1, 2].map(() => app.send('tasks.add', [0, 0], {}, { expires: new Date(Date.now() - 1000) })));
    await Promise.all(second.map((r) => r.get({ timeout: 10_000 }).catch(() => undefined)));
    await until(() => revoked === 2, 'the expired tasks were discarded', 10_000);
    await w2.stop();
    await other.close();
    await monitor.disconnect();

    const total = await summed(redis.redis);
    assert.equal(count(total, 'succeeded', 'celery', 'tasks.add'), 30);
    assert.equal(count(total, 'failed', 'celery', 'tasks.boom'), 5);
    assert.equal(count(total, 'retried', 'celery', 'tasks.flaky'), 3);
    assert.equal(count(total, 'succeeded', 'celery', 'tasks.flaky'), 3);
    assert.equal(count(total, 'succeeded', 'celery', 'tasks.sleep'), 3);
    assert.equal(count(total, 'revoked', 'celery', 'tasks.add'), 2);
    // Every run (not the revoked ones) is in a runtime bucket.
    assert.equal(bucketed(total, 'tasks.add'), 30);
    assert.equal(bucketed(total, 'tasks.boom'), 5);
    assert.equal(bucketed(total, 'tasks.flaky'), 6);
    assert.equal(bucketed(total, 'tasks.sleep'), 3);
    // A 300 ms sleep takes at least 300 ms: its bucket's bound is at least that.
    for (const [field] of total) {
      const parsed = parseTaskField(field);
      if (parsed?.kind === 'bucket' && parsed.task === 'tasks.sleep') assert.ok(RUNTIME_BOUNDS_MS[parsed.bucket]! >= 300, field);
    }

    // One script call per worker touching the history, nothing else: nothing per task.
    const writes = new Map<string, number>();
    for (const { source, args } of seen) {
      const command = args[0]!.toLowerCase();
      // Commands run by a script (MONITOR shows them from "lua").
      if (source === 'lua' || source.endsWith(' lua')) continue;
      if (command === 'evalsha' && args[1] === scripts.metricsWrite.sha) {
        if (args.slice(3).some((k) => k.startsWith('radish.metrics.'))) writes.set(source, (writes.get(source) ?? 0) + 1);
      } else if ((args[1] ?? '').startsWith('radish.metrics') && !['keys', 'hgetall', 'ttl'].includes(command)) {
        assert.fail(`${args.join(' ')} outside the write script`);
      }
    }
    assert.deepEqual([...writes.values()], [1, 1], `writes per connection: ${JSON.stringify([...writes])}`);

    for (const key of await redis.redis.keys('radish.metrics.*')) {
      const ttl = await redis.redis.ttl(key);
      assert.ok(ttl > 72 * 3600 && ttl <= HISTORY_TTL_SEC, `${key} expires in ${ttl} s`);
    }
  });

  it('samples the queues once per minute for the fleet, and the reader shows their depth', async () => {
    // Five messages parked in a queue nobody consumes.
    await Promise.all(Array.from({ length: 5 }, () => app.send('tasks.add', [1, 1], {}, { queue: 'parked' })));
    const fast = { metricsHistory: { intervalSec: 0.2 } };
    await start({ ...fast, queues: ['celery', 'parked-not'] });
    await start({ ...fast, queues: ['celery'] });
    const keys = new Keys();
    // The minute's key that holds the parked depth (across a minute's turn there are two).
    let key: string | undefined;
    await until(async () => {
      for (const k of await redis.redis.keys('radish.metrics.queues.*')) {
        if ((await redis.redis.hget(k, queueField('depth', 'parked'))) === '5') key = k;
      }
      return key !== undefined;
    }, 'a queue sample with the parked queue', 10_000);
    const hash = await redis.redis.hgetall(key!);
    assert.ok(['w1@metrics', 'w2@metrics'].includes(hash._sampled_by!), JSON.stringify(hash));
    assert.equal(hash[queueField('depth', 'celery')], '0');
    // Nothing waits in celery: its oldest wait is 0. The parked messages carry their send time: their age is known.
    assert.equal(hash[queueField('age', 'celery')], '0');
    const age = Number(hash[queueField('age', 'parked')]);
    assert.ok(age >= 0 && age < 60, `parked's oldest waited ${hash[queueField('age', 'parked')]} s`);
    assert.ok((await redis.redis.ttl(key!)) > 72 * 3600);
    // Several ticks of both workers within the minute: the one that claimed it stays its sampler.
    const by = hash._sampled_by;
    await delay(600);
    assert.equal(await redis.redis.hget(keys.metricsQueues(Number(key!.split('.').pop())), '_sampled_by'), by);

    const history = await readMetricsHistory(store(), { from: Date.now() - 5 * 60_000, stepMinutes: 5 });
    const parked = history.queues.find((q) => q.queue === 'parked');
    assert.equal(parked?.latest?.depth, 5);
    assert.ok(parked!.depth.includes(5));
    assert.ok(history.queueNames.includes('parked') && history.queueNames.includes('celery'));
    const only = await readMetricsHistory(store(), { from: Date.now() - 5 * 60_000, queue: 'parked' });
    assert.deepEqual(only.queues.map((q) => q.queue), ['parked']);
  });

  it('counts by the queue a message was taken from (not its routing key), and counts dead-lettered messages', async () => {
    const w = await start({ queues: ['feeds'], metricsHistory: { intervalSec: 3600 } });
    let deadLettered = 0;
    w.on('dead-letter', () => deadLettered++);
    // As a Celery binding Queue('feeds', routing_key='feed.#') leaves it: routed by `feed.add`, waiting in feeds.
    const sender = { origin: 'gen1@test', replyTo: '', deliveryTag: randomUUID() };
    await redis.redis.lpush('feeds', encodeTaskMessage({ id: randomUUID(), queue: 'feed.add', name: 'tasks.add', args: [1, 2] }, sender));
    await redis.redis.lpush('feeds', encodeTaskMessage({ id: randomUUID(), queue: 'feed.nope', name: 'tasks.nope' }, { ...sender, deliveryTag: randomUUID() }));
    await redis.redis.lpush('feeds', 'not a message');
    await until(() => w.stats.succeeded === 1, 'the routed task ran', 10_000);
    await until(() => deadLettered === 2, 'both dead-lettered', 10_000);
    await w.stop();
    const total = await summed(redis.redis);
    assert.equal(count(total, 'succeeded', 'feeds', 'tasks.add'), 1);
    assert.equal(count(total, 'succeeded', 'feed.add', 'tasks.add'), 0);
    assert.equal(count(total, 'dead_lettered', 'feeds', 'tasks.nope'), 1);
    assert.equal(count(total, 'dead_lettered', 'feeds', '(unknown)'), 1);
    // A reader that knows the kind reads it (parseTaskField), one that does not skips it.
    assert.deepEqual(parseTaskField(counterField('dead_lettered', 'feeds', 'tasks.nope')), { kind: 'dead_lettered', queue: 'feeds', task: 'tasks.nope' });
  });

  it('counts a batch sent again after a lost reply once (its token), and keeps it when Redis did not get it', async () => {
    let now = Date.now();
    const events = new EventEmitter();
    // Replies lost on demand: Redis ran the script, the writer hears an error.
    let lose: 'after' | 'before' | undefined;
    const real = redis.redis;
    const flaky = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'evalsha') {
          return async (...args: Parameters<typeof real.evalsha>) => {
            const how = lose;
            lose = undefined;
            if (how === 'before') throw new Error('connection lost before sending');
            const reply = await target.evalsha(...args);
            if (how === 'after') throw new Error('connection lost before the reply');
            return reply;
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await real.script('LOAD', scripts.metricsWrite.source);
    const writer = new MetricsHistoryWriter({
      store: { redis: flaky, keys: new Keys() }, broker: await app.broker(), hostname: 'w@test', queues: () => [],
      logger: createLogger('error', () => undefined), intervalSec: 3600, now: () => now,
    });
    writer.attach(events as unknown as WorkerEventSource);
    const run = (id: string) => {
      events.emit('task-received', id, { name: 'tasks.add' } as TaskMessage, 'q');
      events.emit('task-started', id);
      events.emit('task-succeeded', id, 3, 0.01);
    };
    run('a');
    run('b');
    lose = 'after';
    await writer.flush();
    assert.equal(count(await summed(real), 'succeeded', 'q', 'tasks.add'), 2, 'applied, though the writer did not hear it');
    run('c');
    lose = 'before';
    await writer.flush();
    now += 1000;
    await writer.flush();
    await writer.flush();
    assert.equal(count(await summed(real), 'succeeded', 'q', 'tasks.add'), 3, 'the first batch once, the second once');
    assert.equal(bucketed(await summed(real), 'tasks.add'), 3);
  });

  it('does not give a redelivered id the start of a run that was handed back', async () => {
    let now = 1_000_000;
    const events = new EventEmitter();
    const writer = new MetricsHistoryWriter({
      store: store(), broker: await app.broker(), hostname: 'w@test', queues: () => [],
      logger: createLogger('error', () => undefined), intervalSec: 3600, now: () => now,
    });
    writer.attach(events as unknown as WorkerEventSource);
    const msg = { name: 'tasks.add' } as TaskMessage;
    // Started, then its outcome could not be recorded: handed back, delivered again 10 s later.
    events.emit('task-received', 'x', msg, 'q');
    events.emit('task-started', 'x');
    events.emit('task-released', 'x', true);
    // Another id waits for its ETA and is handed back at a stop.
    events.emit('task-received', 'y', msg, 'q');
    events.emit('task-released', 'y', false);
    assert.equal(writer.inFlightCount, 0);
    now += 10_000;
    events.emit('task-received', 'x', msg, 'q');
    events.emit('task-started', 'x');
    now += 50;
    events.emit('task-failed', 'x', { exc_type: 'E', exc_message: [], exc_module: 'm' });
    assert.equal(writer.inFlightCount, 0);
    await writer.stop();
    const total = await summed(redis.redis);
    assert.equal(count(total, 'failed', 'q', 'tasks.add'), 1);
    assert.equal(total.get(bucketField(runtimeBucket(50), 'q', 'tasks.add')), 1, 'its runtime from its own start (50 ms), not 10 s');

    // A copy of a running id waits for its ETA and is revoked: the revoke closes the copy, not the running one.
    const w2 = new MetricsHistoryWriter({
      store: store(), broker: await app.broker(), hostname: 'w@test', queues: () => [],
      logger: createLogger('error', () => undefined), intervalSec: 3600, now: () => now,
    });
    w2.attach(events as unknown as WorkerEventSource);
    writer.detach(events as unknown as WorkerEventSource);
    const sleep = { name: 'tasks.sleep' } as TaskMessage;
    events.emit('task-received', 'z', sleep, 'q');
    events.emit('task-started', 'z');
    events.emit('task-received', 'z', sleep, 'q');
    now += 400;
    events.emit('task-revoked', 'z', 'revoked');
    events.emit('task-failed', 'z', { exc_type: 'E', exc_message: [], exc_module: 'm' });
    assert.equal(w2.inFlightCount, 0);
    await w2.stop();
    const after = await summed(redis.redis);
    assert.equal(after.get(bucketField(runtimeBucket(400), 'q', 'tasks.sleep')), 1, 'the running one ended with its runtime (400 ms)');
    assert.equal(count(after, 'revoked', 'q', 'tasks.sleep'), 1);
  });

  it('is not written with metricsHistory: false', async () => {
    const w = await start({ metricsHistory: false });
    await (await app.send('tasks.add', [1, 2])).get({ timeout: 5000 });
    await w.stop();
    assert.deepEqual(await redis.redis.keys('radish.metrics.*'), []);
  });

  it('reads minutes merged into steps, filtered by task and queue, with p50/p95 from the summed histograms', async () => {
    // Two workers' writes for three minutes, made by hand: minute base and base+1 fall in one 2-minute step, base+2 in
    // the next. base starts an hour (steps are aligned to their size), so the 60-minute reads below see one step
    // whatever the time of the run: three minutes from an even one could straddle an hour (a run at hh:08-hh:09).
    const now = Date.now();
    const m0 = Math.floor(now / 60_000) - 120;
    const base = m0 - (m0 % 60);
    const keys = new Keys();
    const write = (minute: number, fields: Record<string, number>) => {
      const multi = redis.redis.multi();
      for (const [f, n] of Object.entries(fields)) multi.hincrby(keys.metricsMinute(minute), f, n);
      return multi.exec();
    };
    const b50 = runtimeBucket(50);
    const b400 = runtimeBucket(400);
    // Worker A, minute base: 9 fast a; worker B, same minute: 1 slow a, 2 failed b on queue q2.
    await write(base, { [counterField('succeeded', 'q1', 'a')]: 9, [bucketField(b50, 'q1', 'a')]: 9 });
    await write(base, { [counterField('succeeded', 'q1', 'a')]: 1, [bucketField(b400, 'q1', 'a')]: 1,
      [counterField('failed', 'q2', 'b')]: 2, [bucketField(b50, 'q2', 'b')]: 2 });
    await write(base + 1, { [counterField('retried', 'q1', 'a')]: 4, [bucketField(b400, 'q1', 'a')]: 4, [counterField('revoked', 'q1', 'a')]: 1 });
    await write(base + 2, { [counterField('succeeded', 'q1', 'a')]: 5, [bucketField(b50, 'q1', 'a')]: 5 });
    await redis.redis.hset(keys.metricsQueues(base), queueField('depth', 'q1'), '7', queueField('age', 'q1'), '12.5');
    await redis.redis.hset(keys.metricsQueues(base + 1), queueField('depth', 'q1'), '3');

    const h = await readMetricsHistory(store(), { from: base * 60_000, to: (base + 3) * 60_000 - 1, stepMinutes: 2 });
    assert.deepEqual(h.times, [base * 60, (base + 2) * 60]);
    assert.deepEqual(h.succeeded, [10, 5]);
    assert.deepEqual(h.failed, [2, 0]);
    assert.deepEqual(h.retried, [4, 0]);
    assert.deepEqual(h.revoked, [1, 0]);
    assert.deepEqual(h.throughput, [16, 5]);
    assert.deepEqual(h.taskNames, ['a', 'b']);
    assert.deepEqual(h.queueNames, ['q1', 'q2']);
    assert.equal(h.minutesWritten, 3);
    // Step 1: 11 runs at ~50 ms, 5 at ~400 ms: p50 in the 50 ms bucket, p95 in the 400 ms one.
    const expected = new Array<number>(RUNTIME_BOUNDS_MS.length + 1).fill(0);
    expected[b50] = 11;
    expected[b400] = 5;
    assert.equal(h.p50[0], quantile(expected, 0.5));
    assert.equal(h.p95[0], quantile(expected, 0.95));
    assert.ok(h.p50[0]! < 0.065 && h.p95[0]! > 0.36);
    assert.ok(h.p95[1]! < 0.065);
    assert.deepEqual(h.queues, [{ queue: 'q1', depth: [7, null], oldestAge: [12.5, null], latest: { depth: 3, oldestAge: null, at: (base + 1) * 60 } }]);
    assert.equal(h.totals.throughput, 21);

    const a = await readMetricsHistory(store(), { from: base * 60_000, to: (base + 3) * 60_000 - 1, stepMinutes: 60, task: 'b' });
    assert.deepEqual([a.times.length, a.failed[0], a.succeeded[0], a.totals.throughput], [1, 2, 0, 2]);
    const q2 = await readMetricsHistory(store(), { from: base * 60_000, to: (base + 3) * 60_000 - 1, stepMinutes: 60, queue: 'q2' });
    assert.deepEqual([q2.failed[0], q2.succeeded[0], q2.queues.length], [2, 0, 0]);
    await assert.rejects(readMetricsHistory(store(), { from: now, to: now - 1 }), /range must start before/);
  });
});

describe('the metrics history with RabbitMQ as broker (Redis backend)', function () {
  this.timeout(60_000);
  const rabbit = rabbitVhost();
  const redis = redisHarness();
  let app: Radish;
  let worker: Worker | undefined;

  afterEach(async () => {
    await worker?.stop({ cold: true });
    worker = undefined;
    await app.close();
  });

  it('writes counts into the Redis result backend and samples the queue depth through AMQP', async () => {
    app = new Radish({ broker: rabbit.url, backend: redis.server.url });
    defineTasks(app);
    worker = new Worker(app, { logger: createLogger('warning', () => undefined), hostname: 'amqp@metrics', metricsHistory: { intervalSec: 0.2 } });
    await worker.start();
    const results = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => app.send('tasks.add', [i, i])),
      app.send('tasks.boom'),
    ]);
    await Promise.all(results.map((r) => r.get({ timeout: 10_000 }).catch(() => undefined)));
    await until(async () => count(await summed(redis.redis), 'succeeded', 'celery', 'tasks.add') === 6
      && count(await summed(redis.redis), 'failed', 'celery', 'tasks.boom') === 1, 'the counts written by the timer', 10_000);
    await until(async () => (await redis.redis.keys('radish.metrics.queues.*')).length > 0, 'a queue sample', 10_000);
    const h = await readMetricsHistory({ redis: redis.redis, keys: new Keys() }, { from: Date.now() - 10 * 60_000, stepMinutes: 10 });
    assert.equal(h.totals.succeeded, 6);
    assert.equal(h.totals.failed, 1);
    await until(async () => (await readMetricsHistory({ redis: redis.redis, keys: new Keys() }, { from: Date.now() - 120_000 }))
      .queues.some((q) => q.queue === 'celery' && q.latest?.depth === 0), 'the celery queue sampled', 10_000);
  });
});
