/**
 * The process pool through the worker, as users run it (`radish worker -P process`): a task that crashes its process
 * or spins past its hard limit fails alone and the worker goes on; revoke with terminate kills the child running the
 * task and no other; `inspect active` names that child's pid; pool_grow/pool_shrink fork and retire children without
 * killing a running task; a cold shutdown gives the running task's message back.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Control } from '../../runner/control';
import { TaskFailedError } from '../../runner/protocol/result';
import type { WorkerPresence } from '../../runner/broker/presence';
import { delay, until, workerHarness } from '../support/worker-harness';

const CLI = resolve(__dirname, '../../dist/radish.js');

const TASKS = `
import { existsSync } from 'node:fs';
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.pid', () => process.pid);
app.task('tasks.crash', () => { process.exit(3); });
app.task('tasks.spin', () => { for (;;) { /* never yields: only killing the process stops it */ } });
app.task('tasks.wait', { bind: true }, (task, ms: number) => new Promise((resolve) => {
  const timer = setTimeout(() => resolve(process.pid), ms);
  task.signal.addEventListener('abort', () => clearTimeout(timer));
}));
// Runs until the file exists: tasks held open together, released at once, whatever the machine's speed.
app.task('tasks.gate', { bind: true }, (task, path: string) => new Promise((resolve) => {
  const timer = setInterval(() => { if (existsSync(path)) { clearInterval(timer); resolve(process.pid); } }, 20);
  task.signal.addEventListener('abort', () => clearInterval(timer));
}));
`;

interface ActiveInfo { id: string; worker_pid: number | null }
interface Stats { pid: number; prefetch_count: number; pool: { 'max-concurrency': number; processes: number[] } }

/** Whether a process of this host with that pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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
    for (const name of ['tasks.pid', 'tasks.crash', 'tasks.spin', 'tasks.wait', 'tasks.gate']) h.app.task(name, () => undefined);
  });
  afterEach(async () => {
    child?.kill('SIGKILL');
    child = undefined;
    await control?.close();
    control = undefined;
  });

  let control: Control | undefined;
  /** One control command (or inspect) to the worker; its reply. */
  async function ask<T = unknown>(method: string, args: Record<string, unknown> = {}): Promise<T> {
    control ??= await Control.forApp(h.app);
    const replies = await control.broadcast<T>(method, args as never, { destination: ['pool@test'], timeout: 5 });
    assert.ok('pool@test' in replies, `pool@test answered ${method}`);
    return replies['pool@test']!;
  }
  const gatePath = () => join(mkdtempSync(join(tmpdir(), 'radish-gate-')), 'open');
  const runningPids = async () => (await ask<ActiveInfo[]>('active')).map((t) => t.worker_pid);

  it('inspect active names the child running each task; revoke with terminate kills that child and no other', async () => {
    const worker = await startCliWorker();
    const gate = gatePath();
    const [a, b] = [await h.app.send('tasks.gate', [gate]), await h.app.send('tasks.gate', [gate])];
    await until(async () => (await runningPids()).every((pid) => pid !== null) && (await runningPids()).length === 2, 'both tasks to run in children');
    const active = await ask<ActiveInfo[]>('active');
    const pidOf = new Map(active.map((t) => [t.id, t.worker_pid!]));
    const { pool } = await ask<Stats>('stats');
    assert.deepEqual([...pidOf.values()].sort(), [...pool.processes].sort(), 'each a child of the pool, each its own');
    assert.ok(![...pidOf.values()].includes(worker.pid!), 'not the worker process');
    const presence = JSON.parse((await h.redis.get('radish.worker.pool@test'))!) as WorkerPresence;
    await until(async () => {
      const record = JSON.parse((await h.redis.get('radish.worker.pool@test'))!) as WorkerPresence;
      return record.active.length === 2 && record.active.every((t) => t.pid === pidOf.get(t.id));
    }, `the presence record to carry the pids (last: ${JSON.stringify(presence.active)})`);

    assert.deepEqual(await ask('revoke', { task_id: a.id, terminate: true, signal: 'SIGTERM' }), { ok: `terminate: ${a.id}` });
    await assert.rejects(a.get({ timeout: 10_000 }), (err: TaskFailedError) => err.state === 'REVOKED');
    await until(() => !alive(pidOf.get(a.id)!), 'the child that ran the revoked task to exit');
    assert.ok(alive(pidOf.get(b.id)!), 'the other child lives on');
    writeFileSync(gate, '');
    assert.equal(await b.get({ timeout: 10_000 }), pidOf.get(b.id), 'and its task finished there');
  });

  it('pool_grow forks children that run tasks at once; pool_shrink retires children as their tasks end, killing none', async () => {
    await startCliWorker();
    assert.deepEqual(await ask('pool_grow', { n: 2 }), { ok: 'pool will grow' });
    let stats = await ask<Stats>('stats');
    assert.equal(stats.pool['max-concurrency'], 4);
    assert.equal(stats.prefetch_count, 16, 'prefetch follows: concurrency * 4');
    await until(async () => (await ask<Stats>('stats')).pool.processes.length === 4, 'four children');

    const gate = gatePath();
    const tasks = [];
    for (let i = 0; i < 4; i++) tasks.push(await h.app.send('tasks.gate', [gate]));
    await until(async () => (await runningPids()).filter((pid) => pid !== null).length === 4, 'four tasks running at once');
    const pids = new Set(await runningPids());
    stats = await ask<Stats>('stats');
    assert.equal(pids.size, 4, 'each in its own child');
    assert.deepEqual([...pids].sort(), [...stats.pool.processes].sort(), 'the children are the processes that run the tasks');

    // Every child busy: shrinking retires none now; each goes when its task ends.
    assert.deepEqual(await ask('pool_shrink', { n: 3 }), { ok: 'pool will shrink' });
    stats = await ask<Stats>('stats');
    assert.equal(stats.pool['max-concurrency'], 1);
    assert.equal(stats.prefetch_count, 4);
    assert.equal(stats.pool.processes.length, 4, 'no busy child was killed');
    await until(async () => {
      const record = JSON.parse((await h.redis.get('radish.worker.pool@test'))!) as WorkerPresence;
      return record.concurrency === 1;
    }, 'the presence record to say concurrency 1');
    writeFileSync(gate, '');
    const ran = await Promise.all(tasks.map((t) => t.get({ timeout: 10_000 })));
    assert.deepEqual(new Set(ran), pids, 'every task finished in the child it started in');
    await until(async () => (await ask<Stats>('stats')).pool.processes.length === 1, 'one child left');
    const [last] = (await ask<Stats>('stats')).pool.processes;
    assert.ok(pids.has(last!), 'a child that ran a task stays');
    assert.equal(await (await h.app.send('tasks.pid')).get({ timeout: 10_000 }), last, 'and serves the next task');
    assert.ok(!/exited with/.test(log), `no child died unexpectedly:\n${log}`);
  });

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
    await delay(300); // let it start in a child
    worker.kill('SIGTERM');
    await until(() => log.includes('Warm shutdown'), 'the warm shutdown');
    worker.kill('SIGTERM');
    assert.equal(await exited, 0, log);
    assert.equal(await h.redis.llen('celery'), 1, `the message went back:\n${log}`);
    assert.equal(await h.stored(long.id), null);
  });
});
