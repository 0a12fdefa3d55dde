/**
 * A Radish worker on RabbitMQ (a vhost of this suite's own) with results on Redis (a redis-server of its own): the
 * same behaviour as on Redis, through the AMQP transport: results and failures, retries, ETA tasks that do not
 * block the prefetch, time limits, bad input to the dead-letter queue, remote control (ping, inspect, revoke), events,
 * and warm and cold shutdown that lose nothing.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { Beat, type SentTick } from '../../runner/beat/beat';
import type { AmqpBroker } from '../../runner/broker/amqp/amqp-broker';
import { Control } from '../../runner/control';
import { createLogger } from '../../runner/log';
import { Monitor } from '../../runner/monitor/monitor';
import { EventReceiver } from '../../runner/monitor/receiver';
import type { CeleryEvent } from '../../runner/protocol/event';
import { Worker, type WorkerOptions } from '../../runner/worker/worker';
import { checkQueue, rabbitVhost } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { delay, until } from '../support/wait';

describe('a Radish worker on RabbitMQ (results on Redis)', function () {
  this.timeout(60_000);
  const rabbit = rabbitVhost();
  const redis = redisHarness();
  const lines: string[] = [];
  let app: Radish;
  let workers: Worker[] = [];

  beforeEach(() => {
    lines.length = 0;
    app = new Radish({ broker: rabbit.url, backend: redis.server.url });
    app.task('tasks.add', (a: number, b: number) => a + b);
    app.task('tasks.boom', () => { throw new TypeError('boom'); });
    app.task('tasks.sleep', async (ms: number) => { await delay(ms); return ms; });
    let attempts = 0;
    app.task('tasks.flaky', { bind: true }, (task) => {
      attempts++;
      if (attempts < 3) return task.retry({ countdown: 0.1 });
      return attempts;
    });
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ cold: true })));
    workers = [];
    await app.close();
  });

  async function start(options: WorkerOptions = {}): Promise<Worker> {
    const w = new Worker(app, { logger: createLogger('info', (l) => lines.push(l)), hostname: `w${workers.length + 1}@amqp`, ...options });
    workers.push(w);
    await w.start();
    return w;
  }

  it('runs tasks and stores their results and failures on Redis; a task retries until it succeeds', async () => {
    await start({ concurrency: 2 });
    assert.equal(await (await app.send('tasks.add', [2, 3])).get({ timeout: 5000 }), 5);
    await assert.rejects((await app.send('tasks.boom')).get({ timeout: 5000 }), /boom/);
    assert.equal(await (await app.send('tasks.flaky')).get({ timeout: 5000 }), 3);
    assert.ok(lines.some((l) => /tasks.flaky\[.*\] retry/.test(l)), lines.join('\n'));
  });

  it('holds an ETA task without taking a prefetch slot: with prefetch 1, later tasks run while it waits', async () => {
    await start({ concurrency: 1, prefetchMultiplier: 1 });
    const sent = Date.now();
    const later = await app.send('tasks.add', [1, 1], {}, { countdown: 1.5 });
    const now = await Promise.all([1, 2, 3].map((i) => app.send('tasks.add', [i, 0])));
    assert.deepEqual(await Promise.all(now.map((r) => r.get({ timeout: 5000 }))), [1, 2, 3]);
    assert.ok(Date.now() - sent < 1400, 'ran before the ETA task was due');
    assert.equal(await later.get({ timeout: 5000 }), 2);
    assert.ok(Date.now() - sent >= 1400, 'the ETA task ran at its time');
  });

  it('fails a task at its hard time limit and goes on', async () => {
    await start({ concurrency: 1, timeLimit: 0.3 });
    await assert.rejects((await app.send('tasks.sleep', [5000])).get({ timeout: 10_000 }), /TimeLimitExceeded|time limit/i);
    assert.equal(await (await app.send('tasks.add', [4, 4])).get({ timeout: 10_000 }), 8);
  });

  it('dead-letters a message that is not a task (with the reason) and keeps consuming', async () => {
    await start();
    const broker = await app.broker() as AmqpBroker;
    await broker.purgeDeadLetters();
    const raw = await rabbit.connect();
    const ch = await raw.createChannel();
    ch.sendToQueue('celery', Buffer.from('{"not": "a task'), { contentType: 'application/json', headers: { task: 'tasks.add', id: 'bad-1' } });
    await ch.close();
    assert.equal(await (await app.send('tasks.add', [1, 2])).get({ timeout: 5000 }), 3);
    await until(async () => (await broker.deadLetterCount()) === 1, 'the bad message dead-lettered');
    const [record] = (await broker.deadLetters(0, 1)).map((r) => JSON.parse(r) as { reason: string; queue: string });
    assert.match(record!.reason, /not valid JSON/);
    assert.equal(record!.queue, 'celery');
  });

  it('answers remote control over AMQP: ping, inspect registered, and revoke of a task it holds for its ETA', async () => {
    await start();
    const control = await Control.forApp(app);
    try {
      // Addressed to the node, so each call ends at its reply rather than at the timeout.
      const to = { timeout: 5, destination: ['w1@amqp'] };
      assert.deepEqual(await control.ping(to), { 'w1@amqp': { ok: 'pong' } });
      const registered = await control.inspect<string[]>('registered', {}, to);
      assert.ok(registered['w1@amqp']?.includes('tasks.add'));
      const held = await app.send('tasks.add', [5, 5], {}, { countdown: 30 });
      await until(() => lines.some((l) => l.includes(`${held.id}] received`)), 'the ETA task received');
      const replies = await control.revoke(held.id, to);
      assert.ok(replies['w1@amqp'], JSON.stringify(replies));
      await assert.rejects(held.get({ timeout: 5000 }), /revoked/i);
    } finally {
      await control.close();
    }
  });

  it('publishes its events on celeryev, which a receiver on the broker hears', async () => {
    const events: CeleryEvent[] = [];
    const receiver = await EventReceiver.forApp(app, (e) => { events.push(e); });
    try {
      await start({ events: true });
      const r = await app.send('tasks.add', [6, 7]);
      assert.equal(await r.get({ timeout: 5000 }), 13);
      await until(() => events.some((e) => e.type === 'task-succeeded' && e.uuid === r.id), 'task-succeeded heard');
      assert.ok(events.some((e) => e.type === 'worker-online' && e.hostname === 'w1@amqp'));
      assert.ok(events.some((e) => e.type === 'task-received' && e.uuid === r.id));
    } finally {
      await receiver.close();
    }
  });

  it('a Monitor on the app records the task history in the Redis backend from the events on celeryev', async () => {
    const monitor = Monitor.forApp(app);
    await monitor.start();
    try {
      await start({ events: true });
      const r = await app.send('tasks.add', [20, 22]);
      assert.equal(await r.get({ timeout: 5000 }), 42);
      await until(async () => (await monitor.history.get(r.id))?.state === 'SUCCESS', 'the task recorded as SUCCESS');
      assert.equal((await monitor.history.get(r.id))?.hostname, 'w1@amqp');
    } finally {
      await monitor.close();
    }
  });

  it('radish beat sends its schedule through RabbitMQ (its lock and last runs in the Redis backend), a worker runs it', async () => {
    const ran: number[] = [];
    app.task('tasks.tick', (n: number) => { ran.push(n); return n; });
    app.schedule('tick', { task: 'tasks.tick', every: 0.5, args: [7] });
    const sent: SentTick[] = [];
    const beat = new Beat(app, { logger: createLogger('critical'), lockTimeout: 1000, maxInterval: 50, onSent: (t) => sent.push(t) });
    await start();
    await beat.start();
    try {
      await until(() => ran.length >= 2, 'two ticks run');
    } finally {
      await beat.stop();
    }
    assert.deepEqual(ran.slice(0, 2), [7, 7]);
    assert.ok(await redis.redis.hexists('radish.beat.last_run', 'tick'), 'the last run is kept in the Redis backend');
    assert.equal(new Set(sent.map((t) => t.taskId)).size, sent.length, 'no tick sent twice');
  });

  it('warm shutdown gives back the ETA task it held; a cold one the task it ran: nothing lost', async () => {
    const w = await start({ concurrency: 1 });
    const eta = await app.send('tasks.add', [1, 2], {}, { countdown: 60 });
    await until(() => lines.some((l) => l.includes(`${eta.id}] received`)), 'the ETA task received');
    await w.stop();
    assert.equal((await checkQueue(rabbit.url, 'celery'))?.messages, 1, 'the ETA task is back in its queue');
    // A second worker on the same app consumes again (the first one's stop ended the broker's waits).
    const w2 = await start({ concurrency: 1 });
    const long = await app.send('tasks.sleep', [10_000]);
    await until(() => lines.some((l) => l.includes(`${long.id}] received`)), 'the long task received');
    await delay(100);
    await w2.stop({ cold: true });
    await until(async () => (await checkQueue(rabbit.url, 'celery'))?.messages === 2, 'both back in the queue');
    await (await app.broker()).purge('celery');
  });
});
