/**
 * The process pool through the worker, as users run it (`radish worker -P process`): a task that crashes its process
 * or spins past its hard limit fails alone and the worker goes on; revoke with terminate kills the child; a cold
 * shutdown gives the running task's message back.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Control } from '../../runner/control';
import { TaskFailedError } from '../../runner/protocol/result';
import { until, workerHarness } from '../support/worker-harness';

const CLI = resolve(__dirname, '../../dist/radish.js');

const TASKS = `
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.pid', () => process.pid);
app.task('tasks.crash', () => { process.exit(3); });
app.task('tasks.spin', () => { for (;;) { /* never yields: only killing the process stops it */ } });
app.task('tasks.wait', { bind: true }, (task, ms: number) => new Promise((resolve) => {
  const timer = setTimeout(() => resolve(process.pid), ms);
  task.signal.addEventListener('abort', () => clearTimeout(timer));
}));
`;

describe('worker with the process pool (-P process)', function () {
  this.timeout(60_000);
  const h = workerHarness();
  let child: ChildProcess | undefined;
  let log = '';

  async function startCliWorker(...extra: string[]): Promise<ChildProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'radish-pool-'));
    writeFileSync(join(dir, 'tasks.ts'), TASKS);
    log = '';
    child = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-P', 'process', '-c', '2', '-n', 'pool@test', ...extra],
      { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => { log += d; });
    await until(() => log.includes('ready.'), `the worker to start; log:\n${log}`, 20_000);
    return child;
  }

  beforeEach(() => {
    for (const name of ['tasks.pid', 'tasks.crash', 'tasks.spin', 'tasks.wait']) h.app.task(name, () => undefined);
  });
  afterEach(() => { child?.kill('SIGKILL'); child = undefined; });

  it('runs tasks in child processes; one that crashes its process fails alone with WorkerLostError', async () => {
    const worker = await startCliWorker();
    const pid = await (await h.app.send('tasks.pid')).get({ timeout: 10_000 });
    assert.notEqual(pid, worker.pid, 'ran in a child, not in the worker process');
    const neighbour = await h.app.send('tasks.wait', [500]);
    const crash = await h.app.send('tasks.crash');
    await assert.rejects(crash.get({ timeout: 10_000 }), (err: TaskFailedError) =>
      err.excType === 'WorkerLostError' && /exitcode 3/.test(err.message));
    assert.equal(typeof await neighbour.get({ timeout: 10_000 }), 'number', 'the task beside it was not disturbed');
    assert.equal(typeof await (await h.app.send('tasks.pid')).get({ timeout: 10_000 }), 'number', 'the pool still serves');
  });

  it('a hard time limit kills a task that never yields, and its slot serves the next task', async () => {
    await startCliWorker('--time-limit', '1', '-c', '1');
    const spin = await h.app.send('tasks.spin');
    const next = await h.app.send('tasks.pid');
    await assert.rejects(spin.get({ timeout: 15_000 }), (err: TaskFailedError) => err.excType === 'TimeLimitExceeded');
    assert.equal(typeof await next.get({ timeout: 15_000 }), 'number');
  });

  it('revoke with terminate kills the child running the task: REVOKED, and the worker goes on', async () => {
    await startCliWorker();
    const long = await h.app.send('tasks.wait', [60_000]);
    await until(() => log.includes(`tasks.wait[${long.id}] received`), 'the task to arrive');
    const control = await Control.forApp(h.app);
    try {
      await until(async () => {
        const replies = await control.revoke(long.id, { terminate: true, destination: ['pool@test'] });
        return (replies['pool@test'] as { ok: string } | undefined)?.ok === `terminate: ${long.id}`;
      }, 'the task to be running when revoked');
    } finally {
      await control.close();
    }
    await assert.rejects(long.get({ timeout: 10_000 }), (err: TaskFailedError) => err.state === 'REVOKED' && err.message === 'terminated');
    assert.equal(typeof await (await h.app.send('tasks.pid')).get({ timeout: 10_000 }), 'number');
  });

  it('a cold shutdown kills the children and gives the running task back to its queue', async () => {
    const worker = await startCliWorker();
    const exited = new Promise<number | null>((r) => worker.once('exit', r));
    const long = await h.app.send('tasks.wait', [60_000]);
    await until(() => log.includes(`tasks.wait[${long.id}] received`), 'the task to arrive');
    await new Promise((r) => setTimeout(r, 300)); // let it start in a child
    worker.kill('SIGTERM');
    await until(() => log.includes('Warm shutdown'), 'the warm shutdown');
    worker.kill('SIGTERM');
    assert.equal(await exited, 0, log);
    assert.equal(await h.redis.llen('celery'), 1, `the message went back:\n${log}`);
    assert.equal(await h.stored(long.id), null);
  });
});
