/** What the extension and CLI see and repair: paging queues, dead letters (replay, edit, discard), workers. */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { Inspector } from '../../runner/inspector';
import { encodeResult } from '../../runner/protocol/result';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

describe('inspector', function () {
  const h = redisHarness();
  let app: Radish;
  let inspector: Inspector;

  beforeEach(() => {
    app = new Radish({ broker: h.server.url });
    inspector = new Inspector(app);
  });
  afterEach(async () => app.close());

  it('pages through a queue in the order a worker takes it, reading only the page', async () => {
    for (let i = 0; i < 250; i++) await app.send('tasks.n', [i], {}, { queue: 'big', priority: i < 5 ? 0 : 9 });
    await h.redis.lpush('big', 'not a task');
    const first = await inspector.messages('big', 0, 100);
    assert.equal(first.length, 100);
    assert.deepEqual(first.slice(0, 5).map((m) => m.task?.args[0]), [0, 1, 2, 3, 4]);
    assert.equal(first[5]?.error, 'message is not valid JSON: Unexpected token \'o\', "not a task" is not valid JSON');
    assert.deepEqual(first.slice(6, 8).map((m) => m.task?.args[0]), [5, 6]);
    const last = await inspector.messages('big', 200, 100);
    assert.equal(last.length, 51);
    assert.equal(last.at(-1)?.task?.args[0], 249);
    const [depth] = (await inspector.queues()).filter((q) => q.queue === 'big');
    assert.equal(depth?.total, 251);
  });

  it('replays a failed task from the dead-letter list with edited args, keeping its id', async () => {
    app.task('tasks.div', (a: number, b: number) => {
      if (b === 0) throw new RangeError('division by zero');
      return a / b;
    });
    const worker = new Worker(app, { logger: createLogger('error', () => undefined) });
    await worker.start();
    try {
      const r = await app.send('tasks.div', [1, 0]);
      await assert.rejects(r.get({ timeout: 5000 }), /division by zero/);
      // The FAILURE is stored (and announced) just before the message moves to the dead-letter list.
      await until(async () => (await inspector.deadLetterCount()) > 0, 'the dead letter');
      const [letter] = await inspector.deadLetters();
      assert.equal(letter?.task?.id, r.id);
      assert.equal(letter?.record.reason, "failed: RangeError('division by zero')");
      assert.equal(await inspector.deadLetterCount(), 1);
      await assert.rejects(inspector.replay(letter!, { args: 'nope' as unknown as unknown[] }), /args must be a JSON array/);
      assert.equal(await inspector.replay(letter!, { args: [9, 3] }), r.id);
      assert.equal(await r.get({ timeout: 5000 }), 3);
      assert.equal(await inspector.deadLetterCount(), 0);
      await assert.rejects(inspector.replay(letter!), /no longer in the dead-letter queue/);
    } finally {
      await worker.stop();
    }
  });

  it('replays a failed task as a new task: the new id runs, the failed attempt is no longer listed as failed', async () => {
    app.task('tasks.div', (a: number, b: number) => {
      if (b === 0) throw new RangeError('division by zero');
      return a / b;
    });
    const worker = new Worker(app, { logger: createLogger('error', () => undefined) });
    await worker.start();
    try {
      const r = await app.send('tasks.div', [8, 0], {}, { priority: 3 });
      await assert.rejects(r.get({ timeout: 5000 }), /division by zero/);
      await until(async () => (await inspector.deadLetterCount()) > 0, 'the dead letter');
      const [letter] = await inspector.deadLetters();
      const again = await inspector.replay(letter!, { args: [8, 2], taskId: 'second-attempt' });
      assert.equal(again, 'second-attempt');
      const next = await app.asyncResult<number>('second-attempt');
      assert.equal(await next.get({ timeout: 5000 }), 4);
      assert.equal(await inspector.deadLetterCount(), 0);
      assert.equal(await inspector.result(r.id), null, 'the failed attempt is not listed as failed any more');
      assert.deepEqual((await inspector.failedResults()).map((m) => m.task_id), []);

      // From a stored FAILURE too (a Celery worker's failure).
      await h.redis.set('celery-task-meta-py-9', encodeResult({
        taskId: 'py-9', state: 'FAILURE', result: { exc_type: 'ZeroDivisionError', exc_message: ['x'], exc_module: 'builtins' },
        extended: { name: 'tasks.div', args: [1, 0], kwargs: {}, worker: 'celery@py', retries: 0, queue: 'celery' },
      }));
      const [meta] = await inspector.failedResults();
      assert.equal(await inspector.retryResult(meta!, { args: [9, 3], taskId: 'py-9-again' }), 'py-9-again');
      assert.equal(await (await app.asyncResult('py-9-again')).get({ timeout: 5000 }), 3);
      assert.equal(await inspector.result('py-9'), null);
    } finally {
      await worker.stop();
    }
  });

  it("lists FAILURE results (a Celery worker's failures) and retries one from its extended fields", async () => {
    const failure = (id: string, extended: boolean) => encodeResult({
      taskId: id, state: 'FAILURE', result: { exc_type: 'TypeError', exc_message: ['bad'], exc_module: 'builtins' },
      extended: extended ? { name: 'tasks.add', args: [1], kwargs: {}, worker: 'celery@py', retries: 0, queue: 'celery' } : null,
    });
    await h.redis.set('celery-task-meta-py-1', failure('py-1', true));
    await h.redis.set('celery-task-meta-py-2', failure('py-2', false));
    await h.redis.set('celery-task-meta-ok', encodeResult({ taskId: 'ok', state: 'SUCCESS', result: 1 }));
    const found = await inspector.failedResults();
    assert.deepEqual(found.map((m) => m.task_id).sort(), ['py-1', 'py-2']);
    await assert.rejects(inspector.retryResult(found.find((m) => m.task_id === 'py-2')!), /needs result_extended/);
    app.task('tasks.add', (x: number, y: number) => x + y);
    const worker = new Worker(app, { logger: createLogger('error', () => undefined) });
    await worker.start();
    try {
      assert.equal(await inspector.retryResult(found.find((m) => m.task_id === 'py-1')!, { args: [1, 2] }), 'py-1');
      assert.equal(await (await app.asyncResult('py-1')).get({ timeout: 5000 }), 3);
    } finally {
      await worker.stop();
    }
  });

  it('discards one record and purges the rest; undecodable records are shown, not hidden', async () => {
    await h.redis.lpush('radish.dlq', JSON.stringify({ reason: 'r1', queue: 'celery', worker: 'w', time: 1, raw: 'x' }), '{broken');
    const letters = await inspector.deadLetters();
    assert.equal(letters.length, 2);
    assert.equal(letters[0]?.record.reason, 'unreadable dead-letter record');
    assert.match(letters[1]?.error ?? '', /not valid JSON/);
    await assert.rejects(inspector.replay(letters[1]!), /cannot replay/);
    assert.equal(await inspector.discard(letters[1]!), true);
    assert.equal(await inspector.purgeDeadLetters(), 1);
    assert.equal(await inspector.deadLetterCount(), 0);
  });

  it("discards a failed task whole: its dead-letter record and its stored FAILURE, never another outcome", async () => {
    app.task('tasks.div', (a: number, b: number) => {
      if (b === 0) throw new RangeError('division by zero');
      return a / b;
    });
    const worker = new Worker(app, { logger: createLogger('error', () => undefined) });
    await worker.start();
    let ids: string[];
    try {
      const sent = [await app.send('tasks.div', [1, 0]), await app.send('tasks.div', [2, 0])];
      for (const r of sent) await assert.rejects(r.get({ timeout: 5000 }), /division by zero/);
      await until(async () => (await inspector.deadLetterCount()) === 2, 'both dead letters');
      ids = sent.map((r) => r.id);
    } finally {
      await worker.stop();
    }
    const backend = await app.backend();
    const letters = await inspector.deadLetters();
    const first = letters.find((l) => l.task?.id === ids[0])!;
    const second = letters.find((l) => l.task?.id === ids[1])!;
    assert.equal(await inspector.discard(first), true);
    assert.equal(await backend.get(ids[0]!), null, 'the stored FAILURE goes with the record');
    assert.equal(await inspector.deadLetterCount(), 1);
    // Gone already: nothing else is touched (the FAILURE of a task that is not discarded stays).
    await backend.store({ taskId: ids[0]!, state: 'SUCCESS', result: 1 });
    assert.equal(await inspector.discard(first), false);
    assert.equal((await backend.get(ids[0]!))?.status, 'SUCCESS');
    // A newer outcome under the same id (a retry that succeeded) is not a failure to forget.
    await backend.forget(ids[1]!);
    await backend.store({ taskId: ids[1]!, state: 'SUCCESS', result: 2 });
    assert.equal(await inspector.discard(second), true);
    assert.equal((await backend.get(ids[1]!))?.status, 'SUCCESS');
    assert.equal(await inspector.forgetFailure(ids[1]!), false);
  });

  it('lists Radish workers with their presence and Celery nodes from the pidbox bindings', async () => {
    await h.redis.sadd('_kombu.binding.celery.pidbox', '\x06\x16\x06\x16w1@pyhost.celery.pidbox');
    const worker = new Worker(app, { hostname: 'ts@host', logger: createLogger('error', () => undefined) });
    await worker.start();
    try {
      const workers = await inspector.workers();
      assert.deepEqual(workers.map((w) => [w.hostname, w.kind]), [['ts@host', 'radish'], ['w1@pyhost', 'celery']]);
      assert.equal(workers[0]?.presence?.sw_ident, 'radish');
    } finally {
      await worker.stop();
    }
  });
});
