/**
 * `celery control` commands a Radish worker obeys as Celery 5.2's does: rate_limit, time_limit, add_consumer,
 * cancel_consumer, pool_grow/pool_shrink, enable_events/disable_events and shutdown, sent through Radish's Control to
 * a real worker.
 */
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { Keys } from '../../runner/broker/keys';
import { Control } from '../../runner/control';
import { decodeEventMessage, type CeleryEvent } from '../../runner/protocol/event';
import type { TaskFailedError } from '../../runner/protocol/result';
import { delay, until, workerHarness } from '../support/worker-harness';

const NODE = 'w1@test';

describe('control commands on a Radish worker', function () {
  this.timeout(30_000);
  const h = workerHarness();
  let control: Control | undefined;

  async function send(method: string, args: Record<string, unknown> = {}): Promise<unknown> {
    control ??= await Control.forApp(h.app);
    const replies = await control.broadcast(method, args as never, { destination: [NODE], timeout: 2 });
    return replies[NODE];
  }

  afterEach(async () => {
    await control?.close();
    control = undefined;
  });

  it('rate_limit: later starts of the task are spaced by the new rate; unknown tasks and bad rates are refused', async () => {
    const starts: number[] = [];
    h.app.task('tasks.tick', () => { starts.push(Date.now()); });
    await h.startWorker({ concurrency: 4 });
    assert.deepEqual(await send('rate_limit', { task_name: 'tasks.tick', rate_limit: '5/s' }), { ok: 'new rate limit set successfully' });
    const results = await Promise.all([1, 2, 3].map(() => h.app.send('tasks.tick')));
    for (const r of results) await r.get({ timeout: 5000 });
    starts.sort((a, b) => a - b);
    // 5/s: one start per 200 ms, so three span at least 400 ms (a little slack for timer rounding).
    assert.ok(starts[2]! - starts[0]! >= 380, `starts spanned ${starts[2]! - starts[0]!} ms`);
    assert.deepEqual(await send('rate_limit', { task_name: 'tasks.nope', rate_limit: '5/s' }), { error: 'unknown task' });
    const bad = await send('rate_limit', { task_name: 'tasks.tick', rate_limit: 'often' }) as { error: string };
    assert.match(bad.error, /^Invalid rate limit string: ValueError\('/);
    assert.deepEqual(await send('rate_limit', { task_name: 'tasks.tick', rate_limit: null }), { ok: 'rate limit disabled successfully' });
  });

  it('time_limit: a task of that type started afterwards times out at the new hard limit', async () => {
    h.app.task('tasks.slow', { bind: true }, (task) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve('finished'), 1500);
      task.signal.addEventListener('abort', () => { clearTimeout(timer); resolve('aborted'); });
    }));
    await h.startWorker();
    assert.deepEqual(await send('time_limit', { task_name: 'tasks.slow', soft: null, hard: 0.2 }), { ok: 'time limits set successfully' });
    const r = await h.app.send('tasks.slow');
    await assert.rejects(r.get({ timeout: 5000 }), (err: TaskFailedError) => err.excType === 'TimeLimitExceeded');
    assert.deepEqual(await send('time_limit', { task_name: 'tasks.nope', hard: 1 }), { error: 'unknown task' });
  });

  it('add_consumer: a message on a queue the worker did not consume runs once it is added', async () => {
    h.app.task('tasks.echo', (x: string) => x);
    await h.startWorker();
    const r = await h.app.send('tasks.echo', ['hi'], {}, { queue: 'extra' });
    await delay(300);
    assert.equal(await h.redis.llen('extra'), 1, 'not consumed before add_consumer');
    assert.deepEqual(await send('add_consumer', { queue: 'extra' }), { ok: 'add consumer extra' });
    assert.equal(await r.get({ timeout: 5000 }), 'hi');
    assert.deepEqual(await send('add_consumer', { queue: 'extra' }), { ok: 'add consumer extra' }, 'Celery 5.2 words it the same again');
    const queues = await send('active_queues') as { name: string }[];
    assert.deepEqual(queues.map((q) => q.name), ['celery', 'extra']);
  });

  it('cancel_consumer: a message sent to the cancelled queue afterwards stays queued', async () => {
    h.app.task('tasks.echo', (x: string) => x);
    await h.startWorker({ queues: ['celery', 'extra'] });
    assert.deepEqual(await send('cancel_consumer', { queue: 'extra' }), { ok: 'no longer consuming from extra' });
    const r = await h.app.send('tasks.echo', ['hi'], {}, { queue: 'extra' });
    await delay(500);
    assert.equal(await h.redis.llen('extra'), 1, 'still queued');
    assert.equal(await h.stored(r.id), null, 'never ran');
    const queues = await send('active_queues') as { name: string }[];
    assert.deepEqual(queues.map((q) => q.name), ['celery']);
    assert.equal(await (await h.app.send('tasks.echo', ['still'])).get({ timeout: 5000 }), 'still', 'the other queue is consumed');
  });

  it('pool_grow/pool_shrink: with concurrency 1, a grown pool runs two long tasks at once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    h.app.task('tasks.hold', async () => { await gate; return 'done'; });
    const worker = await h.startWorker({ concurrency: 1 });
    const [a, b] = [await h.app.send('tasks.hold'), await h.app.send('tasks.hold')];
    await until(() => worker.stats.active === 1 && worker.stats.reserved === 1, 'one running, one waiting');
    assert.deepEqual(await send('pool_grow', { n: 1 }), { ok: 'pool will grow' });
    await until(() => worker.stats.active === 2, 'both running', 3000);
    const stats = await send('stats') as { pool: Record<string, unknown>; prefetch_count: number };
    assert.equal(stats.pool['max-concurrency'], 2);
    assert.equal(stats.prefetch_count, 8, 'prefetch follows: concurrency * 4');
    release();
    assert.deepEqual([await a!.get({ timeout: 5000 }), await b!.get({ timeout: 5000 })], ['done', 'done']);
    assert.deepEqual(await send('pool_shrink', { n: 1 }), { ok: 'pool will shrink' });
    assert.equal(worker.concurrency, 1);
  });

  /** A monitor as Flower is one: PSUBSCRIBE `/0.celeryev/*`, every event kept in arrival order. */
  async function monitor(): Promise<{ events: CeleryEvent[]; close: () => void }> {
    const sub = new Redis(h.server.url);
    const events: CeleryEvent[] = [];
    sub.on('pmessage', (_pattern: string, _channel: string, text: string) => events.push(...decodeEventMessage(text).events));
    await sub.psubscribe(new Keys().eventPattern());
    return { events, close: () => sub.disconnect() };
  }

  const ofTask = (events: CeleryEvent[], id: string) => events.filter((e) => e.uuid === id).map((e) => e.type);

  it('enable_events/disable_events: a worker started without -E sends events only while they are enabled', async () => {
    h.app.task('tasks.echo', (x: string) => x);
    await h.startWorker();
    const mon = await monitor();
    try {
      const before = await h.app.send('tasks.echo', ['before']);
      assert.equal(await before.get({ timeout: 5000 }), 'before');

      assert.deepEqual(await send('enable_events'), { ok: 'task events enabled' });
      assert.deepEqual(await send('enable_events'), { ok: 'task events already enabled' }, 'as Flower sends it again and again');
      await until(() => mon.events.some((e) => e.type === 'worker-online'), 'worker-online');
      const during = await h.app.send('tasks.echo', ['during']);
      assert.equal(await during.get({ timeout: 5000 }), 'during');
      await until(() => ofTask(mon.events, during.id).includes('task-succeeded'), 'the task events of the task run while enabled');
      assert.deepEqual(ofTask(mon.events, during.id), ['task-received', 'task-started', 'task-succeeded']);
      await until(() => mon.events.some((e) => e.type === 'worker-heartbeat' && e.hostname === NODE), 'a heartbeat', 5000);

      assert.deepEqual(await send('disable_events'), { ok: 'task events disabled' });
      assert.deepEqual(await send('disable_events'), { ok: 'task events already disabled' });
      await until(() => mon.events.some((e) => e.type === 'worker-offline'), 'worker-offline');
      const offlineAt = mon.events.length;
      const after = await h.app.send('tasks.echo', ['after']);
      assert.equal(await after.get({ timeout: 5000 }), 'after');
      await delay(2500); // longer than the heartbeat interval: a heartbeat would have come by now
      // Enabled again: whatever came between worker-offline and this worker-online was sent while disabled.
      assert.deepEqual(await send('enable_events'), { ok: 'task events enabled' });
      await until(() => mon.events.slice(offlineAt).some((e) => e.type === 'worker-online'), 'worker-online again');
      const between = mon.events.slice(offlineAt);
      assert.equal(between[0]?.type, 'worker-online', `nothing sent while disabled: ${between.map((e) => e.type).join(', ')}`);
      assert.deepEqual(ofTask(mon.events, before.id), [], 'no events for the task run before enable_events');
      assert.deepEqual(ofTask(mon.events, after.id), [], 'no events for the task run while disabled');
      assert.ok(h.lines.some((l) => l.includes('Events of group {task} enabled by remote.')), h.lines.join('\n'));
    } finally {
      mon.close();
    }
  });

  it('disable_events on a worker started with -E stops its task events; its heartbeats go on, as Celery\'s', async () => {
    h.app.task('tasks.echo', (x: string) => x);
    await h.startWorker({ events: true });
    const mon = await monitor();
    try {
      assert.deepEqual(await send('enable_events'), { ok: 'task events already enabled' });
      assert.deepEqual(await send('disable_events'), { ok: 'task events disabled' });
      const quiet = await h.app.send('tasks.echo', ['quiet']);
      assert.equal(await quiet.get({ timeout: 5000 }), 'quiet');
      const doneAt = mon.events.length;
      await until(() => mon.events.slice(doneAt).some((e) => e.type === 'worker-heartbeat'), 'a heartbeat after the task', 5000);
      assert.deepEqual(ofTask(mon.events, quiet.id), [], 'no task events while disabled');
      assert.ok(!mon.events.some((e) => e.type === 'worker-offline'), 'still online');
      assert.deepEqual(await send('enable_events'), { ok: 'task events enabled' });
      const loud = await h.app.send('tasks.echo', ['loud']);
      assert.equal(await loud.get({ timeout: 5000 }), 'loud');
      await until(() => ofTask(mon.events, loud.id).includes('task-succeeded'), 'task events again');
    } finally {
      mon.close();
    }
  });

  it('shutdown: the worker stops warmly, says so with shutdown-requested, and its presence record goes', async () => {
    const worker = await h.startWorker();
    let requested = false;
    worker.on('shutdown-requested', () => { requested = true; });
    assert.equal(await h.redis.exists(`radish.worker.${NODE}`), 1);
    assert.deepEqual(await send('shutdown'), { ok: 'shutting down' });
    assert.ok(requested, 'shutdown-requested emitted');
    await until(async () => (await h.redis.exists(`radish.worker.${NODE}`)) === 0, 'the presence record to go', 5000);
    assert.ok(h.lines.some((l) => l.includes('Warm shutdown')));
  });
});
