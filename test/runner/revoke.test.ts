/** Revocation by id and expiry: a revoked or expired task never runs and ends REVOKED, as Celery records it. */
import assert from 'node:assert/strict';
import { Control } from '../../runner/control';
import { TaskFailedError } from '../../runner/protocol/result';
import { delay, until, workerHarness } from '../support/worker-harness';

const revokedWith = (reason: string) => (err: TaskFailedError) =>
  err.state === 'REVOKED' && err.excType === 'TaskRevokedError' && err.message === reason;

describe('revoke and expires', function () {
  const h = workerHarness();

  it('a task revoked before it arrives is discarded with REVOKED ["revoked"], never run', async () => {
    let ran = 0;
    h.app.task('tasks.count', () => ++ran);
    const worker = await h.startWorker();
    await worker.revoke(['revoked-early']);
    const r = await h.app.send('tasks.count', [], {}, { taskId: 'revoked-early' });
    await assert.rejects(r.get({ timeout: 5000 }), revokedWith('revoked'));
    assert.equal(ran, 0);
    await until(async () => (await h.redis.hlen('unacked')) === 0, 'the revoked message acked');
  });

  it('revoking a task waiting for its ETA ends it at once, not at its ETA', async () => {
    h.app.task('tasks.later', () => 'ran');
    const worker = await h.startWorker();
    const r = await h.app.send('tasks.later', [], {}, { countdown: 60 });
    await until(() => worker.stats.scheduled === 1, 'the ETA wait');
    await worker.revoke([r.id]);
    await assert.rejects(r.get({ timeout: 2000 }), revokedWith('revoked'));
    assert.equal(worker.stats.scheduled, 0);
  });

  it('terminate: a running task is stopped, REVOKED ["terminated"], and its slot is free again', async () => {
    let aborted: unknown;
    h.app.task('tasks.long', { bind: true }, async (task) => {
      await new Promise<void>((resolve) => task.signal.addEventListener('abort', () => { aborted = task.signal.reason; resolve(); }));
      return 'should not be stored';
    });
    h.app.task('tasks.quick', () => 'quick');
    const worker = await h.startWorker({ concurrency: 1 });
    const long = await h.app.send('tasks.long');
    await until(() => worker.stats.active === 1, 'the task to start');
    const { terminated } = await worker.revoke([long.id], { terminate: true, signal: 'SIGKILL' });
    assert.deepEqual(terminated, [long.id]);
    await assert.rejects(long.get({ timeout: 2000 }), revokedWith('terminated'));
    assert.equal((aborted as Error).name, 'TaskRevokedError', 'the task saw its signal abort');
    assert.equal(await (await h.app.send('tasks.quick')).get({ timeout: 2000 }), 'quick');
    await delay(20);
    assert.equal((await h.stored(long.id))?.status, 'REVOKED', 'the late return value did not overwrite REVOKED');
    assert.ok(h.lines.some((l) => l.includes(`tasks.long[${long.id}] terminated (SIGKILL)`)));
  });

  it('revoke without terminate lets a running task finish', async () => {
    h.app.task('tasks.finish', async () => { await delay(150); return 'finished'; });
    const worker = await h.startWorker();
    const r = await h.app.send('tasks.finish');
    await until(() => worker.stats.active === 1, 'the task to start');
    assert.deepEqual((await worker.revoke([r.id])).terminated, []);
    assert.equal(await r.get({ timeout: 2000 }), 'finished');
  });

  it('an ETA task whose expiry passes while it waits is REVOKED ["expired"] when its time comes', async () => {
    let ran = false;
    h.app.task('tasks.stale', () => { ran = true; });
    await h.startWorker();
    const r = await h.app.send('tasks.stale', [], {}, { countdown: 0.3, expires: 0.1 });
    await assert.rejects(r.get({ timeout: 3000 }), revokedWith('expired'));
    assert.equal(ran, false);
  });

  it('Control.revoke (what `radish`/`celery control revoke` send) reaches a worker and terminates a running task', async () => {
    h.app.task('tasks.long', { bind: true }, (task) => new Promise((resolve) => task.signal.addEventListener('abort', resolve)));
    const worker = await h.startWorker();
    const r = await h.app.send('tasks.long');
    await until(() => worker.stats.active === 1, 'the task to start');
    const control = await Control.forApp(h.app);
    try {
      const replies = await control.revoke(r.id, { terminate: true, signal: 'SIGKILL' });
      assert.deepEqual(replies, { 'w1@test': { ok: `terminate: ${r.id}` } });
      await assert.rejects(r.get({ timeout: 2000 }), revokedWith('terminated'));
      assert.deepEqual(await control.inspect('revoked'), { 'w1@test': [r.id] });
    } finally {
      await control.close();
    }
  });

  it('a revoke outlives the workers: one started later (or restarted) still discards the task', async () => {
    let ran = false;
    h.app.task('tasks.once', () => { ran = true; });
    const control = await Control.forApp(h.app);
    try {
      assert.deepEqual(await control.revoke('revoked-while-no-worker-ran'), {}, 'no worker answered');
    } finally {
      await control.close();
    }
    const r = await h.app.send('tasks.once', [], {}, { taskId: 'revoked-while-no-worker-ran' });
    await h.startWorker();
    await assert.rejects(r.get({ timeout: 5000 }), revokedWith('revoked'));
    assert.equal(ran, false);
  });
});
