/**
 * Shutdown and acks: a cold shutdown (or a warm one past its timeout) gives the running tasks' messages back
 * instead of losing them; early acks (`acksLate: false`) are at-most-once, as asked; the CLI's second SIGTERM
 * turns a warm shutdown cold.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeTaskMessage } from '../../runner/protocol/message';
import { delay, until, workerHarness } from '../support/worker-harness';

const CLI = resolve(__dirname, '../../dist/radish.js');

describe('shutdown and acks', function () {
  const h = workerHarness();

  it('cold shutdown aborts a running task and gives its message back, marked redelivered, to run elsewhere', async () => {
    let runs = 0;
    h.app.task('tasks.long', { bind: true }, async (task) => {
      runs++;
      if (task.request.redelivered) return 'ran again';
      await new Promise((resolve) => task.signal.addEventListener('abort', resolve));
      return 'aborted';
    });
    const first = await h.startWorker();
    const r = await h.app.send('tasks.long');
    await until(() => first.stats.active === 1, 'the task to start');
    await first.stop({ cold: true });
    assert.equal(await h.stored(r.id), null, 'nothing stored for the interrupted run');
    assert.equal(await h.redis.hlen('unacked'), 0);
    const [back] = await h.redis.lrange('celery', 0, -1);
    assert.ok(back && decodeTaskMessage(back).redelivered, 'the message is back in its queue, marked redelivered');
    assert.ok(h.lines.some((l) => l.includes(`tasks.long[${r.id}] interrupted by a cold shutdown; its message was given back`)));
    await h.startWorker();
    assert.equal(await r.get({ timeout: 5000 }), 'ran again');
    assert.equal(runs, 2);
  });

  it('a warm shutdown waits for running tasks up to its timeout, then turns cold', async () => {
    h.app.task('tasks.quick', async () => { await delay(50); return 'quick'; });
    h.app.task('tasks.endless', { bind: true }, (task) => new Promise((resolve) => task.signal.addEventListener('abort', resolve)));
    const worker = await h.startWorker({ shutdownTimeout: 0.3 });
    const quick = await h.app.send('tasks.quick');
    const endless = await h.app.send('tasks.endless');
    await until(() => worker.stats.active === 2, 'both tasks to start');
    const started = Date.now();
    await worker.stop();
    assert.ok(Date.now() - started >= 250, 'waited for the timeout');
    assert.equal((await h.stored(quick.id))?.status, 'SUCCESS', 'the quick task finished during the warm phase');
    assert.equal(await h.stored(endless.id), null);
    assert.equal(await h.redis.llen('celery'), 1, 'the endless one went back to its queue');
    assert.ok(h.lines.some((l) => l.includes('Cold shutdown (running tasks did not finish within 0.3 s)')), h.lines.join('\n'));
  });

  it('acksLate false acks before running: unacked is empty while it runs, and a cold shutdown does not redeliver it', async () => {
    h.app.task('tasks.once', { bind: true, acksLate: false }, (task) => new Promise((resolve) => task.signal.addEventListener('abort', resolve)));
    const worker = await h.startWorker();
    const r = await h.app.send('tasks.once');
    await until(() => worker.stats.active === 1, 'the task to start');
    await until(async () => (await h.redis.hlen('unacked')) === 0, 'the early ack');
    await worker.stop({ cold: true });
    assert.equal(await h.redis.llen('celery'), 0, 'at-most-once, as the task asked');
    assert.ok(h.lines.some((l) => l.includes(`tasks.once[${r.id}] interrupted by a cold shutdown (acked early: not redelivered)`)));
  });

  it('the worker option acksLate: false applies to tasks that do not say', async () => {
    h.app.task('tasks.plain', () => delay(200));
    const worker = await h.startWorker({ acksLate: false });
    await h.app.send('tasks.plain');
    await until(() => worker.stats.active === 1, 'the task to start');
    await until(async () => (await h.redis.hlen('unacked')) === 0, 'the early ack');
  });

  it('CLI: the first SIGTERM starts a warm shutdown, the second turns it cold and the message goes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radish-shutdown-'));
    writeFileSync(join(dir, 'tasks.ts'), `
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.hang', { bind: true }, (task) => new Promise((resolve) => task.signal.addEventListener('abort', resolve)));
`);
    h.app.task('tasks.hang', () => undefined);
    const child = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-n', 'cli@test'],
      { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => { log += d; });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    await until(() => log.includes('ready.'), 'the worker to start');
    const r = await h.app.send('tasks.hang');
    await until(() => log.includes(`tasks.hang[${r.id}] received`), 'the task to arrive');
    child.kill('SIGTERM');
    await until(() => log.includes('Warm shutdown'), 'the warm shutdown');
    assert.equal(await h.redis.llen('celery'), 0, 'still running during the warm phase');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
    assert.match(log, /Cold shutdown \(asked again\): aborting 1 running task/);
    assert.equal(await h.redis.llen('celery'), 1, 'the running task went back to its queue');
    assert.equal(await h.redis.hlen('unacked'), 0);
  });
});
