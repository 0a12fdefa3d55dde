/** The worker on a real redis-server: results, failures, dead letters, limits, ETA, retries, warm shutdown. */
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { ResultTimeoutError } from '../../runner/backend/backend';
import { SEP } from '../../runner/broker/keys';
import { decodeTaskMessage, encodeTaskMessage } from '../../runner/protocol/message';
import { TaskFailedError, type ResultMeta } from '../../runner/protocol/result';
import { delay, until, workerHarness } from '../support/worker-harness';

describe('worker', function () {
  const h = workerHarness();

  async function stored(id: string): Promise<ResultMeta> {
    const meta = await h.stored(id);
    assert.ok(meta, `a result stored for ${id}`);
    return meta;
  }

  it('runs a task, stores its result in Celery format and logs in Celery shape', async () => {
    const add = h.app.task('tasks.add', (x: number, y: number) => x + y);
    await h.startWorker();
    const r = await add.delay(2, 3);
    assert.equal(await r.get({ timeout: 5000 }), 5);
    const meta = await stored(r.id);
    assert.deepEqual(Object.keys(meta), ['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    assert.equal(meta.status, 'SUCCESS');
    // As Celery 5.6 writes it (the default celeryVersion); 5.2's naive form is in celery56-golden.test.ts.
    assert.match(meta.date_done!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    assert.ok(await h.redis.ttl(`celery-task-meta-${r.id}`) > 86_000, 'kept for a day');
    assert.ok(h.lines.some((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO\/MainProcess\] Task tasks\.add\[.+\] received$/.test(l)));
    assert.ok(h.lines.some((l) => new RegExp(`Task tasks\\.add\\[${r.id}\\] succeeded in \\d+\\.\\d+s: 5$`).test(l)));
    assert.equal(await h.redis.hlen('unacked'), 0, 'acked');
  });

  it('stores the result before it acks, so a crash in between can only redeliver, never lose the result', async () => {
    h.app.task('tasks.add', (x: number, y: number) => x + y);
    const monitor = await h.redis.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.slice(0, 2).join(' ').toLowerCase()));
    await h.startWorker();
    const results = await h.app.sendMany(Array.from({ length: 20 }, (_, i) => ({ name: 'tasks.add', args: [i, i] })));
    await Promise.all(results.map((r) => r.get({ timeout: 5000 })));
    await delay(50);
    monitor.disconnect();
    const stores = seen.filter((c) => c.startsWith('setex celery-task-meta-')).length;
    assert.equal(stores, 20);
    let stored = 0;
    for (const c of seen) {
      if (c.startsWith('setex celery-task-meta-')) stored++;
      if (c.startsWith('zrem unacked_index')) assert.ok(stored > 0, 'an ack came before any result was stored');
    }
    const firstAck = seen.findIndex((c) => c.startsWith('zrem unacked_index'));
    const firstStore = seen.findIndex((c) => c.startsWith('setex celery-task-meta-'));
    assert.ok(firstStore < firstAck, `first store at ${firstStore}, first ack at ${firstAck}`);
  });

  it('maps kwargs to parameters by name, as Python does, and rejects unknown ones', async () => {
    h.app.task('tasks.sub', (x: number, y = 1) => x - y);
    await h.startWorker();
    assert.equal(await (await h.app.send('tasks.sub', [], { y: 2, x: 10 })).get({ timeout: 5000 }), 8);
    assert.equal(await (await h.app.send('tasks.sub', [10], {})).get({ timeout: 5000 }), 9, 'JS default applies');
    await assert.rejects((await h.app.send('tasks.sub', [1], { z: 1 })).get({ timeout: 5000 }),
      (err: TaskFailedError) => err.name === 'TypeError' && /unexpected keyword argument 'z'/.test(err.message));
    await assert.rejects((await h.app.send('tasks.sub', [1], { x: 1 })).get({ timeout: 5000 }),
      /multiple values for argument 'x'/);
  });

  it('gives a bound task its message\'s properties (request.properties), those a client added included', async () => {
    h.app.task('tasks.props', { bind: true }, (task) => task.request.properties);
    await h.startWorker();
    const broker = await h.app.broker();
    await broker.publish('celery', 0, encodeTaskMessage({ id: 'props-1', name: 'tasks.props', args: [], queue: 'celery', properties: { app_id: '1234' } },
      { origin: 'gen1@test', replyTo: 'reply-1', deliveryTag: 'tag-1' }));
    const properties = await (await h.app.asyncResult('props-1')).get({ timeout: 5000 }) as Record<string, unknown>;
    assert.equal(properties.app_id, '1234');
    assert.deepEqual([properties.correlation_id, properties.reply_to], ['props-1', 'reply-1']);
  });

  it('stores a failure with type, message, module and the JS stack as traceback', async () => {
    class PaymentDeclined extends Error { override name = 'PaymentDeclined'; }
    h.app.task('tasks.pay', () => { throw new PaymentDeclined('card 4242 declined'); });
    await h.startWorker();
    const r = await h.app.send('tasks.pay');
    const err = await r.get({ timeout: 5000 }).then(() => assert.fail('should fail'), (e: unknown) => e as TaskFailedError);
    assert.equal(err.name, 'PaymentDeclined');
    assert.equal(err.message, 'card 4242 declined');
    const meta = await stored(r.id);
    assert.deepEqual(meta.result, { exc_type: 'PaymentDeclined', exc_message: ['card 4242 declined'], exc_module: 'radish' });
    assert.match(meta.traceback!, /PaymentDeclined: card 4242 declined\n\s+at /);
    assert.ok(h.lines.some((l) => l.includes(`Task tasks.pay[${r.id}] raised unexpected: PaymentDeclined('card 4242 declined')`)));
    // Failed for good: kept with its message in the dead-letter list (right after the FAILURE is stored), and acked.
    await until(async () => (await h.redis.llen('radish.dlq')) > 0, 'the dead letter');
    const [record] = (await h.redis.lrange('radish.dlq', 0, -1)).map((x) => JSON.parse(x) as Record<string, unknown>);
    assert.equal(record?.reason, "failed: PaymentDeclined('card 4242 declined')");
    assert.equal(record?.task_id, r.id);
    assert.equal(record?.attempts, 1);
    assert.match(String(record?.traceback), /PaymentDeclined/);
    assert.equal(decodeTaskMessage(String(record?.raw)).id, r.id);
    assert.equal(await h.redis.hlen('unacked'), 0);
  });

  it('announces itself in Redis while it runs, with what it is running, and withdraws on stop', async () => {
    let release!: () => void;
    h.app.task('tasks.hold', () => new Promise<void>((r) => { release = r; }));
    const w = await h.startWorker({ queues: ['celery', 'extra'], concurrency: 3 });
    const r = await h.app.send('tasks.hold');
    await until(() => !!release, 'the task to start');
    await delay(2100);
    const presence = JSON.parse((await h.redis.get('radish.worker.w1@test'))!) as { queues: string[]; concurrency: number; active: { id: string }[]; pid: number };
    assert.deepEqual(presence.queues, ['celery', 'extra']);
    assert.equal(presence.concurrency, 3);
    assert.equal(presence.pid, process.pid);
    assert.deepEqual(presence.active.map((a) => a.id), [r.id]);
    const ttl = await h.redis.ttl('radish.worker.w1@test');
    assert.ok(ttl > 0 && ttl <= 15, 'expires on its own if the worker dies');
    release();
    await r.get({ timeout: 2000 });
    await w.stop();
    assert.equal(await h.redis.exists('radish.worker.w1@test'), 0);
  });

  it('dead-letters unknown tasks and malformed messages with the reason, keeps going, loses nothing', async () => {
    const add = h.app.task('tasks.add', (x: number, y: number) => x + y);
    const before = await add.delay(1, 1);
    const unknown = await h.app.send('tasks.python_only', [1]);
    const good = JSON.parse(h.app.message({ name: 'tasks.add', args: [1, 2] }).body) as Record<string, unknown>;
    const badBody = JSON.stringify({ ...good, body: Buffer.from('[[1,').toString('base64') });
    await h.redis.lpush('celery', 'garbage{', badBody, JSON.stringify({ ...good, 'content-type': 'application/x-python-serialize' }));
    const after = await add.delay(2, 2);
    await h.startWorker();
    assert.equal(await before.get({ timeout: 5000 }), 2);
    assert.equal(await after.get({ timeout: 5000 }), 4);
    await assert.rejects(unknown.get({ timeout: 5000 }), (e: TaskFailedError) => e.name === 'NotRegistered' && e.excModule === 'celery.exceptions');
    await delay(100);
    const records = (await h.redis.lrange('radish.dlq', 0, -1)).map((r) => JSON.parse(r) as { reason: string; raw: string; task?: string });
    assert.equal(records.length, 4);
    const reasons = records.map((r) => r.reason).sort();
    assert.ok(reasons.some((r) => /unregistered task tasks\.python_only/.test(r)));
    assert.ok(reasons.some((r) => /not valid JSON/.test(r)));
    assert.ok(reasons.some((r) => /body is not valid JSON/.test(r)));
    assert.ok(reasons.some((r) => /application\/json only/.test(r)));
    assert.ok(records.some((r) => r.raw === 'garbage{'), 'raw kept byte for byte');
    assert.equal(await h.redis.hlen('unacked'), 0);
    assert.ok(h.lines.some((l) => l.includes("Received unregistered task of type 'tasks.python_only'")));
  });

  it('runs no more than `concurrency` tasks at once and reserves no more than the prefetch limit', async () => {
    let running = 0;
    let peak = 0;
    h.app.task('tasks.slow', async () => {
      running++;
      peak = Math.max(peak, running);
      await delay(30);
      running--;
    });
    const results = await h.app.sendMany(Array.from({ length: 40 }, () => ({ name: 'tasks.slow' })));
    let peakUnacked = 0;
    const sampler = setInterval(() => void h.redis.hlen('unacked').then((n) => { peakUnacked = Math.max(peakUnacked, n); }), 5);
    await h.startWorker({ concurrency: 3, prefetchMultiplier: 2 });
    await Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
    clearInterval(sampler);
    assert.equal(peak, 3);
    assert.ok(peakUnacked <= 6, `unacked peaked at ${peakUnacked}, prefetch is 6`);
    assert.ok(peakUnacked >= 3, 'did prefetch');
  });

  it('serves priorities in order: 0 first, 9 last, none stranded', async () => {
    const order: number[] = [];
    h.app.task('tasks.prio', (p: number) => { order.push(p); });
    const sent = [];
    for (const p of [9, 5, 0, 7, 3, 9, 0, 2]) sent.push(await h.app.send('tasks.prio', [p], {}, { priority: p }));
    await h.startWorker({ concurrency: 1, prefetchMultiplier: 1 });
    await Promise.all(sent.map((r) => r.get({ timeout: 5000 })));
    // steps: 0-2 -> bucket 0, 3-5 -> 3, 6-8 -> 6, 9 -> 9; FIFO inside a bucket
    assert.deepEqual(order, [0, 0, 2, 5, 3, 7, 9, 9]);
  });

  it('holds a countdown task unacked until its ETA without taking a slot, then runs it', async () => {
    const ran: number[] = [];
    h.app.task('tasks.when', () => { ran.push(Date.now()); });
    h.app.task('tasks.now', () => 'now');
    await h.startWorker({ concurrency: 1, prefetchMultiplier: 1 });
    const sentAt = Date.now();
    const later = await h.app.send('tasks.when', [], {}, { countdown: 0.6 });
    await delay(150);
    assert.equal(await h.redis.hlen('unacked'), 1, 'waiting ETA task stays unacked');
    assert.equal(await (await h.app.send('tasks.now')).get({ timeout: 2000 }), 'now', 'the slot is free meanwhile');
    await later.get({ timeout: 5000 });
    assert.ok(ran[0]! - sentAt >= 590, `ran after ${ran[0]! - sentAt} ms`);
  });

  it('revokes an expired task instead of running it', async () => {
    let ran = false;
    h.app.task('tasks.stale', () => { ran = true; });
    const r = await h.app.send('tasks.stale', [], {}, { expires: new Date(Date.now() - 1000) });
    await h.startWorker();
    await assert.rejects(r.get({ timeout: 5000 }), (e: TaskFailedError) => e.state === 'REVOKED' && e.message === 'expired');
    assert.equal(ran, false);
  });

  it('retries: republishes with retries+1 and an ETA, stores RETRY, then succeeds', async () => {
    const states: string[] = [];
    h.app.task('tasks.flaky', { bind: true, defaultRetryDelay: 0.1 }, (task) => {
      if (task.request.retries < 2) task.retry({ exc: new Error(`attempt ${task.request.retries}`) });
      return `ok after ${task.request.retries}`;
    });
    const sub = new Redis(h.server.url);
    const r = await h.app.send('tasks.flaky', [], {}, { taskId: 'flaky-1' });
    await sub.subscribe('celery-task-meta-flaky-1');
    sub.on('message', (_c: string, m: string) => states.push((JSON.parse(m) as ResultMeta).status));
    await h.startWorker({ resultExtended: true });
    assert.equal(await r.get({ timeout: 5000 }), 'ok after 2');
    await delay(50);
    sub.disconnect();
    assert.deepEqual(states, ['RETRY', 'RETRY', 'SUCCESS']);
    const meta = await stored('flaky-1');
    assert.equal(meta.retries, 2);
    assert.equal(meta.worker, 'w1@test');
  });

  it('gives up after maxRetries and fails with the last error', async () => {
    h.app.task('tasks.never', { bind: true, maxRetries: 1, defaultRetryDelay: 0.05 }, (task) => task.retry({ exc: new RangeError('still broken') }));
    await h.startWorker();
    await assert.rejects((await h.app.send('tasks.never')).get({ timeout: 5000 }), (e: TaskFailedError) => e.name === 'RangeError');
  });

  it('fails a task whose result cannot be stored as JSON, instead of redelivering it for ever', async () => {
    h.app.task('tasks.big', () => 10n ** 30n);
    await h.startWorker();
    await assert.rejects((await h.app.send('tasks.big')).get({ timeout: 5000 }), (e: TaskFailedError) => e.name === 'TypeError' && /not JSON serializable/.test(e.message));
    // acked (dead-lettered) right after the FAILURE is stored; a redelivery loop would keep it unacked
    await until(async () => (await h.redis.hlen('unacked')) === 0, 'the ack');
    assert.equal(await h.redis.llen('radish.dlq'), 1);
  });

  it('does not store results of ignoreResult tasks', async () => {
    const done: string[] = [];
    h.app.task('tasks.quiet', { ignoreResult: true }, () => { done.push('x'); return 1; });
    const r = await h.app.send('tasks.quiet');
    await h.startWorker();
    await until(() => done.length > 0, 'the task to run');
    await delay(50);
    assert.equal(await h.redis.exists(`celery-task-meta-${r.id}`), 0);
  });

  it('warm shutdown: finishes running tasks, gives back what it reserved but did not start', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    h.app.task('tasks.block', async () => { await gate; return 'finished'; });
    const first = await h.app.send('tasks.block');
    const rest = await h.app.sendMany(Array.from({ length: 5 }, () => ({ name: 'tasks.block' })));
    const w = await h.startWorker({ concurrency: 1, prefetchMultiplier: 4 });
    await until(async () => (await h.redis.hlen('unacked')) >= 4, 'four messages reserved');
    const stopping = w.stop();
    await delay(100);
    release();
    await stopping;
    assert.equal(await first.get({ timeout: 2000 }), 'finished');
    assert.equal(await h.redis.hlen('unacked'), 0, 'nothing left unacked');
    const waiting = await h.redis.lrange('celery', 0, -1);
    assert.equal(waiting.length, 5, 'the rest is waiting in the queue again');
    const back = waiting.map((m) => decodeTaskMessage(m));
    assert.equal(back.filter((m) => m.redelivered).length, 3, 'the three reserved ones are marked redelivered');
    assert.deepEqual(new Set(back.map((m) => m.id)), new Set(rest.map((r) => r.id)));
  });

  it('AsyncResult.get waits on the subscription and times out cleanly', async () => {
    h.app.task('tasks.add', (x: number, y: number) => x + y);
    const r = await h.app.send('tasks.add', [20, 22]);
    const waiting = r.get({ timeout: 5000 });
    await delay(100);
    await h.startWorker();
    assert.equal(await waiting, 42);
    const never = await h.app.send('tasks.add', [1, 1], {}, { queue: 'nobody' });
    await assert.rejects(never.get({ timeout: 200 }), ResultTimeoutError);
    assert.equal(await never.state(), 'PENDING');
  });

  it('consumes several queues', async () => {
    h.app.task('tasks.where', (q: string) => q);
    const rs = await Promise.all(['a', 'b', 'celery'].map((q) => h.app.send('tasks.where', [q], {}, { queue: q })));
    await h.startWorker({ queues: ['a', 'b', 'celery'] });
    assert.deepEqual(await Promise.all(rs.map((r) => r.get({ timeout: 5000 }))), ['a', 'b', 'celery']);
    assert.equal(await h.redis.exists(`a${SEP}3`), 0);
  });
});
