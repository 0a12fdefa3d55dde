/**
 * `celery control` commands a Radish worker obeys as Celery 5.2's does: rate_limit, time_limit, add_consumer,
 * cancel_consumer, pool_grow/pool_shrink and shutdown, sent through Radish's Control to a real worker.
 */
import assert from 'node:assert/strict';
import { Control } from '../../runner/control';
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
