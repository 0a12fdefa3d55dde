/**
 * The process pool (`-P process`) on real child processes running the built bundle: outcomes crossing the
 * channel, crashes, kills from outside, time limits, terminate, warm and cold close, broken modules, and
 * children that go when their parent dies. No Redis: jobs are built here from the same task module.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError } from '../../runner/errors';
import { createLogger } from '../../runner/log';
import { exceptionInfo } from '../../runner/protocol/result';
import { defineTask, Retry, type TaskDefinition, type TaskRequest } from '../../runner/task';
import { execute, type Outcome } from '../../runner/worker/execute';
import type { PoolJob } from '../../runner/worker/pool';
import { ProcessPool, type ProcessPoolOptions } from '../../runner/worker/pool-process';
import { app } from '../fixtures/pool/tasks';
import { until } from '../support/wait';

const FIXTURES = resolve(__dirname, '../fixtures/pool');
const TASKS = join(FIXTURES, 'tasks.ts');

/** Whether a process runs (a zombie left to a container's init that does not reap counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    if (existsSync('/proc/self/stat')) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

function request(name: string, args: unknown[], fields: Partial<TaskRequest> = {}): TaskRequest {
  const id = randomUUID();
  return {
    id, task: name, args, kwargs: {}, retries: 0, queue: 'celery', priority: 0, eta: null, expires: null,
    parentId: null, rootId: id, groupId: null, hostname: 'pool@test', redelivered: false, properties: {}, ...fields,
  };
}

function job(name: string, args: unknown[] = [], extra: { soft?: number; hard?: number; request?: Partial<TaskRequest>; def?: TaskDefinition } = {}): PoolJob {
  const def = extra.def ?? app.lookup(name);
  if (!def) throw new Error(`fixture has no task ${name}`);
  return { def, request: request(name, args, extra.request), softTimeLimit: extra.soft ?? null, timeLimit: extra.hard ?? null };
}

function failure(outcome: Outcome): Error {
  assert.equal(outcome.kind, 'failure', `expected a failure, got ${JSON.stringify(outcome)}`);
  const { error } = outcome as Extract<Outcome, { kind: 'failure' }>;
  assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
  return error;
}

function value(outcome: Outcome): unknown {
  assert.equal(outcome.kind, 'success', `expected a success, got ${JSON.stringify(outcome, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}`);
  return (outcome as Extract<Outcome, { kind: 'success' }>).value;
}

describe('process pool', function () {
  this.timeout(60_000);
  let pools: ProcessPool[];
  let lines: string[];

  beforeEach(() => { pools = []; lines = []; });
  afterEach(async () => { await Promise.all(pools.map((p) => p.close('cold'))); });

  function makePool(options: Partial<ProcessPoolOptions> = {}): ProcessPool {
    const pool = new ProcessPool({ module: TASKS, concurrency: 2, logger: createLogger('debug', (l) => lines.push(l)), ...options });
    pools.push(pool);
    return pool;
  }

  async function startPool(options: Partial<ProcessPoolOptions> = {}): Promise<ProcessPool> {
    const pool = makePool(options);
    await pool.start();
    return pool;
  }

  it('runs tasks in N child processes of its own', async () => {
    const pool = await startPool({ concurrency: 3 });
    const pids = pool.pids();
    assert.equal(pids.length, 3);
    assert.equal(new Set(pids).size, 3);
    assert.ok(!pids.includes(process.pid));
    assert.equal(value(await pool.run(job('pool.add', [2, 3]))), 5);
    const ran = await Promise.all([0, 1, 2].map(() => pool.run(job('pool.pid'))));
    for (const o of ran) assert.ok(pids.includes(value(o) as number));
  });

  it('carries the request across (dates stay dates) and JSON values back', async () => {
    const pool = await startPool({ concurrency: 1 });
    const eta = new Date('2030-01-02T03:04:05.678Z');
    const j = job('pool.request', [], { request: { eta, retries: 2 } });
    assert.deepEqual(value(await pool.run(j)), { id: j.request.id, eta: eta.toISOString(), expires: null, retries: 2 });
    const nested = { a: [1, 'two', null, { b: true }], c: 1.5, d: 'ü' };
    assert.deepEqual(value(await pool.run(job('pool.echo', [nested]))), nested);
    assert.equal(value(await pool.run(job('pool.echo', [null]))), null);
  });

  it('rebuilds a failure as an Error with the name, message, module and stack the async pool would give', async () => {
    const pool = await startPool();
    for (const [name, args] of [['pool.declined', ['4242']], ['pool.gatewayDown', []], ['pool.typeError', []]] as const) {
      const inProcess = failure(await execute(app.lookup(name)!, request(name, [...args]), new AbortController().signal));
      const err = failure(await pool.run(job(name, [...args])));
      assert.deepEqual(exceptionInfo(err), exceptionInfo(inProcess), name);
      assert.equal(err.name, exceptionInfo(inProcess).exc_type);
      assert.equal(err.message, inProcess.message);
      assert.match(err.stack!, /tasks\.ts:\d+/, 'the traceback names the task module line');
      assert.ok(!err.stack!.includes('pool-process'), 'the traceback is the child\'s, not where the parent rebuilt it');
    }
    const declined = failure(await pool.run(job('pool.declined', ['1'])));
    assert.deepEqual(exceptionInfo(declined), { exc_type: 'PaymentDeclined', exc_message: ['card 1 declined'], exc_module: 'radish' });
    assert.equal((failure(await pool.run(job('pool.gatewayDown'))) as Error & { excModule?: string }).excModule, 'payments.errors');
    assert.equal(exceptionInfo(failure(await pool.run(job('pool.typeError')))).exc_module, 'builtins');
  });

  it('reports a thrown non-Error by its text', async () => {
    const pool = await startPool({ concurrency: 1 });
    const outcome = await pool.run(job('pool.throwString'));
    assert.equal(outcome.kind, 'failure');
    const { error } = outcome as Extract<Outcome, { kind: 'failure' }>;
    assert.deepEqual(exceptionInfo(error), { exc_type: 'Error', exc_message: ['plain string'], exc_module: 'radish' });
  });

  it('fails a result that is not JSON as the worker would, and keeps the child', async () => {
    const pool = await startPool({ concurrency: 1 });
    const [pid] = pool.pids();
    const err = failure(await pool.run(job('pool.bigint')));
    assert.equal(err.name, 'TypeError');
    assert.match(err.message, /^result is not JSON serializable: /);
    assert.equal(value(await pool.run(job('pool.pid'))), pid);
  });

  it('fails only the task whose child exits (exitcode 3) with WorkerLostError, and replaces the child', async () => {
    const pool = await startPool();
    const before = pool.pids();
    const [exited, slept] = await Promise.all([pool.run(job('pool.exit', [3])), pool.run(job('pool.sleep', [300]))]);
    const err = failure(exited);
    assert.ok(err instanceof WorkerLostError);
    assert.equal(err.message, 'Worker exited prematurely: exitcode 3.');
    assert.deepEqual(exceptionInfo(err), { exc_type: 'WorkerLostError', exc_message: ['Worker exited prematurely: exitcode 3.'], exc_module: 'billiard.exceptions' });
    assert.equal(value(slept), 'slept');
    await until(() => pool.pids().length === 2 && pool.pids().some((p) => !before.includes(p)), 'the pool is back to 2 children');
    assert.equal(pool.pids().filter((p) => before.includes(p)).length, 1, 'the other child was left alone');
    assert.ok(lines.some((l) => /ERROR\/MainProcess\] Process 'ForkPoolWorker-\d' pid:\d+ exited with 'exitcode 3'$/.test(l)), lines.join('\n'));
    const ran = await Promise.all([pool.run(job('pool.add', [1, 1])), pool.run(job('pool.add', [2, 2]))]);
    assert.deepEqual(ran.map(value), [2, 4]);
  });

  it('fails the task of a child that SIGKILLs itself with signal 9 (SIGKILL)', async () => {
    const pool = await startPool({ concurrency: 1 });
    const err = failure(await pool.run(job('pool.sigkill')));
    assert.ok(err instanceof WorkerLostError);
    assert.equal(err.message, 'Worker exited prematurely: signal 9 (SIGKILL).');
    assert.equal(value(await pool.run(job('pool.add', [1, 2]))), 3);
  });

  it('fails the task of a child SIGKILLed from outside (as the OOM killer does), and runs the next one', async () => {
    const pool = await startPool({ concurrency: 1 });
    const [pid] = pool.pids();
    const running = pool.run(job('pool.sleep', [20_000]));
    process.kill(pid!, 'SIGKILL');
    const err = failure(await running);
    assert.ok(err instanceof WorkerLostError);
    assert.match(err.message, /signal 9 \(SIGKILL\)/);
    assert.equal(value(await pool.run(job('pool.pid'))) === pid, false);
  });

  it('does not let a CPU-bound task in one child hold up another', async () => {
    const pool = await startPool();
    const order: string[] = [];
    const busy = pool.run(job('pool.busy', [2000])).then((o) => { order.push('busy'); return o; });
    const quick = pool.run(job('pool.add', [20, 22])).then((o) => { order.push('quick'); return o; });
    assert.equal(value(await quick), 42);
    assert.equal(value(await busy), 'spun');
    assert.deepEqual(order, ['quick', 'busy']);
  });

  it('kills the child at the hard time limit, fails the task with TimeLimitExceeded, and replaces the child', async () => {
    const pool = await startPool({ concurrency: 1 });
    const [pid] = pool.pids();
    const started = Date.now();
    const outcome = await pool.run(job('pool.busy', [20_000], { hard: 0.5 }));
    const err = failure(outcome);
    assert.ok(err instanceof TimeLimitExceeded);
    assert.equal((outcome as { abandoned?: boolean }).abandoned, undefined, 'the code was stopped, not abandoned');
    assert.deepEqual(exceptionInfo(err), { exc_type: 'TimeLimitExceeded', exc_message: [new TimeLimitExceeded(0.5).message], exc_module: 'billiard.exceptions' });
    assert.ok(Date.now() - started < 15_000, 'it did not run the 20 s loop out');
    await until(() => !alive(pid!), 'the killed child is gone');
    const next = value(await pool.run(job('pool.pid')));
    assert.notEqual(next, pid);
    assert.ok(lines.some((l) => l.includes('ERROR/MainProcess] Hard time limit (0.5s) exceeded for pool.busy[')), lines.join('\n'));
  });

  it('aborts ctx.signal with SoftTimeLimitExceeded at the soft limit; the task catches it and the child stays', async () => {
    const pool = await startPool({ concurrency: 1 });
    const [pid] = pool.pids();
    assert.equal(value(await pool.run(job('pool.softCaught', [20_000], { soft: 0.3, hard: 10 }))), `cleaned up after ${new SoftTimeLimitExceeded(0.3).message}`);
    assert.equal(value(await pool.run(job('pool.pid'))), pid);
    assert.ok(lines.some((l) => l.includes('WARNING/MainProcess] Soft time limit (0.3s) exceeded for pool.softCaught[')), lines.join('\n'));
  });

  it('fails a task that lets SoftTimeLimitExceeded through with billiard\'s type', async () => {
    const pool = await startPool({ concurrency: 1 });
    const err = failure(await pool.run(job('pool.softUncaught', [20_000], { soft: 0.2 })));
    assert.deepEqual(exceptionInfo(err), { exc_type: 'SoftTimeLimitExceeded', exc_message: [new SoftTimeLimitExceeded(0.2).message], exc_module: 'billiard.exceptions' });
  });

  it('lets a task ignore its soft limit; the hard limit still stops one that never yields', async () => {
    const pool = await startPool({ concurrency: 1 });
    assert.equal(value(await pool.run(job('pool.softIgnored', [600], { soft: 0.1 }))), 'ignored the soft limit');
    const err = failure(await pool.run(job('pool.busy', [20_000], { soft: 0.1, hard: 0.6 })));
    assert.ok(err instanceof TimeLimitExceeded);
  });

  it('brings an automatic retry back as a Retry with its when, message and exception', async () => {
    const pool = await startPool({ concurrency: 1 });
    const before = Date.now();
    const outcome = await pool.run(job('pool.flaky', [], { request: { retries: 1 } }));
    assert.equal(outcome.kind, 'retry', JSON.stringify(outcome));
    const { retry } = outcome as Extract<Outcome, { kind: 'retry' }>;
    assert.ok(retry instanceof Retry);
    // retryBackoff 2 without jitter: 2 * 2^1 = 4 s.
    assert.equal(retry.message, "Retry in 4s: ConnectionError('connection refused')");
    const wait = retry.when.getTime() - before;
    assert.ok(wait >= 3000 && wait <= 10_000, `retry in ${wait} ms`);
    assert.ok(retry.exc instanceof Error);
    assert.deepEqual(exceptionInfo(retry.exc), { exc_type: 'ConnectionError', exc_message: ['connection refused'], exc_module: 'builtins' });
    assert.match(retry.exc.stack!, /tasks\.ts:\d+/);
    // Out of retries: the error itself.
    const err = failure(await pool.run(job('pool.flaky', [], { request: { retries: 3 } })));
    assert.equal(err.name, 'ConnectionError');
  });

  it('brings ctx.retry() without an exception back as a Retry with its own stack', async () => {
    const pool = await startPool({ concurrency: 1 });
    const outcome = await pool.run(job('pool.retryLater'));
    assert.equal(outcome.kind, 'retry');
    const { retry } = outcome as Extract<Outcome, { kind: 'retry' }>;
    assert.equal(retry.exc, undefined);
    assert.equal(retry.message, 'Retry in 30s');
    assert.match(retry.stack!, /tasks\.ts:\d+/);
  });

  it('fails a task the child has not registered with NotRegistered', async () => {
    const pool = await startPool({ concurrency: 1 });
    const def = defineTask('pool.unknown', () => 1, {});
    const err = failure(await pool.run(job('pool.unknown', [], { def })));
    assert.deepEqual(exceptionInfo(err).exc_type, 'NotRegistered');
    assert.match(err.message, /pool\.unknown/);
  });

  it('terminate sends the signal to the child running the task, resolves revoked and replaces the child', async () => {
    const pool = await startPool();
    const before = pool.pids();
    const j = job('pool.sleep', [20_000]);
    const running = pool.run(j);
    const other = pool.run(job('pool.sleep', [500]));
    assert.equal(pool.terminate('not-running', 'SIGTERM'), false);
    assert.equal(pool.terminate(j.request.id, 'SIGTERM'), true);
    const outcome = await running;
    assert.equal(outcome.kind, 'revoked');
    assert.equal((outcome as Extract<Outcome, { kind: 'revoked' }>).signal, 'SIGTERM');
    assert.equal(value(await other), 'slept', 'the other child was left alone');
    await until(() => pool.pids().length === 2 && pool.pids().filter((p) => before.includes(p)).length === 1, 'one child was replaced');
    assert.equal(pool.terminate(j.request.id), false, 'a task ends once');
  });

  it('SIGKILLs a terminated child that swallows the signal', async () => {
    const pool = await startPool({ concurrency: 1, exitTimeout: 0.5 });
    const [pid] = pool.pids();
    const readyFile = join(mkdtempSync(join(tmpdir(), 'radish-pool-')), 'ready');
    const j = job('pool.ignoreSigterm', [readyFile, 20_000]);
    const running = pool.run(j);
    await until(() => existsSync(readyFile), 'the task installed its SIGTERM handler');
    assert.equal(pool.terminate(j.request.id, 'SIGTERM'), true);
    assert.equal((await running).kind, 'revoked');
    await until(() => !alive(pid!), 'the child is gone');
    assert.notEqual(value(await pool.run(job('pool.pid'))), pid);
    assert.ok(lines.some((l) => l.includes(`pid:${pid} did not exit within 0.5s of being asked to: killing it (SIGKILL)`)), lines.join('\n'));
  });

  it('keeps running when a child gets SIGINT (Ctrl+C reaches the whole process group; the worker decides)', async () => {
    const pool = await startPool({ concurrency: 1 });
    const [pid] = pool.pids();
    const running = pool.run(job('pool.sleep', [500]));
    process.kill(pid!, 'SIGINT');
    assert.equal(value(await running), 'slept');
    assert.deepEqual(pool.pids(), [pid]);
  });

  it('close(warm) waits for running tasks, then the children exit; later jobs are interrupted', async () => {
    const pool = await startPool();
    const pids = pool.pids();
    const running = pool.run(job('pool.sleep', [500]));
    await pool.close('warm');
    assert.equal(value(await running), 'slept');
    assert.deepEqual(pool.pids(), []);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} exited`);
    assert.ok(!lines.some((l) => l.includes('did not exit')), 'they exited when asked, despite the open handle of the module');
    assert.equal((await pool.run(job('pool.add', [1, 2]))).kind, 'interrupted');
    await pool.close('warm'); // idempotent
  });

  it('close(cold) kills the children at once and resolves running tasks as interrupted', async () => {
    const pool = await startPool();
    const pids = pool.pids();
    const started = Date.now();
    const running = [pool.run(job('pool.sleep', [20_000])), pool.run(job('pool.busy', [20_000]))];
    await pool.close('cold');
    assert.deepEqual((await Promise.all(running)).map((o) => o.kind), ['interrupted', 'interrupted']);
    assert.ok(Date.now() - started < 15_000, 'it did not wait for the tasks');
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} was killed`);
  });

  it('close(cold) during a warm close stops what the warm close waits for', async () => {
    const pool = await startPool({ concurrency: 1 });
    const running = pool.run(job('pool.sleep', [20_000]));
    const warm = pool.close('warm');
    const cold = pool.close('cold');
    assert.equal((await running).kind, 'interrupted');
    await Promise.all([warm, cold]);
    assert.deepEqual(pool.pids(), []);
  });

  it('hands the next task to a fresh child after maxTasksPerChild', async () => {
    const pool = await startPool({ concurrency: 1, maxTasksPerChild: 2 });
    const first = value(await pool.run(job('pool.pid')));
    assert.equal(value(await pool.run(job('pool.pid'))), first);
    const third = value(await pool.run(job('pool.pid')));
    assert.notEqual(third, first);
    await until(() => !alive(first as number), 'the retired child is gone');
    assert.ok(!lines.some((l) => l.includes('exited with') || l.includes('did not exit')), 'a retired child exits when asked and is not reported as lost');
  });

  it("gives the children's app the broker URL, as --broker does", async () => {
    const pool = await startPool({ concurrency: 1, brokerUrl: 'redis://10.9.8.7:6390/3' });
    assert.equal(value(await pool.run(job('pool.brokerUrl'))), 'redis://10.9.8.7:6390/3');
  });

  it("rejects start() with the module's own error, leaving no child behind", async () => {
    const pool = makePool({ module: join(FIXTURES, 'broken.ts') });
    const starting = pool.start();
    const pids = pool.pids();
    assert.equal(pids.length, 2);
    await assert.rejects(starting, /PAYMENTS_API_KEY is not set/);
    assert.deepEqual(pool.pids(), []);
    for (const pid of pids) await until(() => !alive(pid), `child ${pid} is gone`);
  });

  it('rejects start() for a missing export, a missing module and a missing bundle', async () => {
    await assert.rejects(makePool({ module: `${TASKS}:nope` }).start(), /no app export named "nope"/);
    await assert.rejects(makePool({ module: join(FIXTURES, 'missing.ts') }).start(), /cannot find task module/);
    await assert.rejects(makePool({ entry: join(FIXTURES, 'no-such-bundle.js') }).start(), /cannot find the Radish bundle/);
  });

  it('rejects start() when a child does not load the module within startTimeout, and kills it', async () => {
    const pool = makePool({ module: join(FIXTURES, 'hangs.ts'), concurrency: 1, startTimeout: 1 });
    const starting = pool.start();
    const [pid] = pool.pids();
    await assert.rejects(starting, /ForkPoolWorker-1 did not load the task module .*hangs\.ts within 1 s/);
    await until(() => !alive(pid!), 'the stuck child is gone');
  });

  it('rejects start() when the pool is closed while starting', async () => {
    const pool = makePool({ concurrency: 1 });
    const starting = pool.start();
    await pool.close('warm');
    await assert.rejects(starting, /closed while it started/);
    assert.deepEqual(pool.pids(), []);
  });

  it('keeps trying to replace a lost child whose module no longer loads, and recovers once it does', async () => {
    const breakFile = join(mkdtempSync(join(tmpdir(), 'radish-pool-')), 'broken');
    const saved = process.env.RADISH_POOL_TEST_BREAK_FILE;
    process.env.RADISH_POOL_TEST_BREAK_FILE = breakFile;
    try {
      const pool = await startPool({ module: join(FIXTURES, 'reloadable.ts'), concurrency: 1 });
      writeFileSync(breakFile, '');
      assert.ok(failure(await pool.run(job('pool.exit', [1]))) instanceof WorkerLostError);
      const queued = pool.run(job('pool.add', [40, 2]));
      await until(() => lines.some((l) => l.includes('broken on reload')), 'a replacement failed to load');
      rmSync(breakFile);
      assert.equal(value(await queued), 42, 'the job waited for a child that loads');
      assert.equal(pool.pids().length, 1);
      assert.ok(lines.some((l) => /ERROR\/MainProcess\] process pool: cannot load the task module .*reloadable\.ts: broken on reload .*\(will retry\)$/.test(l)), lines.join('\n'));
    } finally {
      if (saved === undefined) delete process.env.RADISH_POOL_TEST_BREAK_FILE;
      else process.env.RADISH_POOL_TEST_BREAK_FILE = saved;
    }
  });

  it('resolves a relative module path against the current directory', async () => {
    const pool = await startPool({ concurrency: 1, module: 'test/fixtures/pool/tasks.ts:app' });
    assert.equal(value(await pool.run(job('pool.add', [1, 1]))), 2);
  });

  it('leaves no child behind when its parent dies', async () => {
    const parent = spawn(process.execPath, ['-r', resolve(__dirname, '../support/register.js'), join(FIXTURES, 'parent.js'), TASKS], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      await until(() => out.includes('\n'), 'the parent printed its pool\'s pids', 20_000);
      const pids = JSON.parse(out) as number[];
      assert.equal(pids.length, 2);
      for (const pid of pids) assert.ok(alive(pid));
      parent.kill('SIGKILL');
      for (const pid of pids) await until(() => !alive(pid), `child ${pid} exits after its parent`);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
