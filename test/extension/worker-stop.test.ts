/**
 * How the extension starts and stops its local worker on each OS (extension/worker/stop.ts, launch.ts,
 * interpreter.ts; no VS Code needed). The Windows plan is checked as data (taskkill cannot run here), and taken for
 * real on a real `radish worker` on this machine: IPC warm and cold shutdowns are what Windows uses too. The Celery
 * side of the Windows plan (remote-control shutdown) runs against real Celery in test/interop/worker-stop.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeTaskMessage } from '../../runner/protocol/message';
import { launchSpec, readyLine, type LaunchSettings } from '../../extension/worker/launch';
import { cmdLine, describeInterpreter, findExecutable, interpreterLine, launchCommand, pythonCandidates, resolveInterpreter } from '../../extension/worker/interpreter';
import { runStopPlan, shutdownMessage, stopPlan, taskkill, type StopStep } from '../../extension/worker/stop';
import { until, workerHarness } from '../support/worker-harness';

const ROOT = resolve(__dirname, '../..');
const PY = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

const settings = (over: Partial<LaunchSettings> = {}): LaunchSettings => ({
  extensionPath: '/ext', runtime: { command: '/usr/bin/node', args: [] }, queues: 'celery,high', concurrency: 4,
  level: 'info', hostname: 'vscode-42@%h', env: { PATH: '/usr/bin' }, ...over,
});

describe('local worker: stop plan per OS', () => {
  const base = { pid: 4242, graceMs: 10_000, ready: true };

  it('Radish on POSIX: IPC warm, IPC cold after the grace period (SIGTERM if the channel is closed), SIGKILL 5 s later', () => {
    assert.deepEqual(stopPlan({ ...base, kind: 'typescript', platform: 'linux' }).map((s) => [s.atMs, s.action]), [
      [0, { do: 'message', mode: 'warm', orSignal: 'SIGTERM' }],
      [10_000, { do: 'message', mode: 'cold', orSignal: 'SIGTERM' }],
      [15_000, { do: 'signal', signal: 'SIGKILL' }],
    ]);
  });

  it('Radish on Windows: IPC warm, IPC cold, then taskkill /T /F on the tree; never a signal', () => {
    assert.deepEqual(stopPlan({ ...base, kind: 'typescript', platform: 'win32' }).map((s) => [s.atMs, s.action]), [
      [0, { do: 'message', mode: 'warm' }],
      [10_000, { do: 'message', mode: 'cold' }],
      [15_000, { do: 'kill-tree', command: 'C:\\Windows\\System32\\taskkill.exe', args: ['/PID', '4242', '/T', '/F'] }],
    ]);
  });

  it('Celery on POSIX: SIGTERM, SIGQUIT after the grace period, SIGKILL 5 s later (as before)', () => {
    assert.deepEqual(stopPlan({ ...base, kind: 'python', platform: 'darwin', node: 'vscode-1@mac' }).map((s) => [s.atMs, s.action]), [
      [0, { do: 'signal', signal: 'SIGTERM' }],
      [10_000, { do: 'signal', signal: 'SIGQUIT' }],
      [15_000, { do: 'signal', signal: 'SIGKILL' }],
    ]);
  });

  it('Celery on Windows: remote-control shutdown to its node, taskkill /T /F when the grace period ends', () => {
    const plan = stopPlan({ ...base, kind: 'python', platform: 'win32', node: 'vscode-1@DESKTOP-7', graceMs: 5000, systemRoot: 'D:\\Win Dows' });
    assert.deepEqual(plan.map((s) => [s.atMs, s.action]), [
      [0, { do: 'remote-shutdown', node: 'vscode-1@DESKTOP-7' }],
      [5000, { do: 'kill-tree', command: 'D:\\Win Dows\\System32\\taskkill.exe', args: ['/PID', '4242', '/T', '/F'] }],
    ]);
    assert.match(plan[1]!.say, /still running 5 s after the stop began: killing it and its child processes \(taskkill \/T \/F\)/);
  });

  it('Celery on Windows before it is ready (it hears no remote control yet, and holds nothing): taskkill at once', () => {
    assert.deepEqual(stopPlan({ ...base, kind: 'python', platform: 'win32', node: 'n@h', ready: false }).map((s) => [s.atMs, s.action.do]), [[0, 'kill-tree']]);
  });

  it('no plan for Windows sends a signal', () => {
    for (const kind of ['typescript', 'python'] as const) {
      for (const ready of [true, false]) {
        const actions = stopPlan({ ...base, kind, platform: 'win32', node: 'n@h', ready }).map((s) => s.action);
        assert.ok(actions.every((a) => a.do !== 'signal' && !(a.do === 'message' && a.orSignal)), JSON.stringify(actions));
      }
    }
  });

  it('taskkill by its full path, the pid as one argument', () => {
    assert.deepEqual(taskkill(7, 'C:\\WINDOWS'), { command: 'C:\\WINDOWS\\System32\\taskkill.exe', args: ['/PID', '7', '/T', '/F'] });
  });
});

describe('local worker: command line per OS', () => {
  it('Radish: node dist/radish.js worker with an IPC channel, arguments as an array (spaces kept, no shell)', () => {
    const spec = launchSpec({ kind: 'typescript', module: 'src/my tasks.ts', cwd: 'C:\\Users\\A B\\proj' },
      settings({ platform: 'win32', extensionPath: 'C:\\Users\\A B\\.vscode\\extensions\\radish', runtime: { command: 'C:\\Program Files\\Microsoft VS Code\\Code.exe', args: [] } }));
    assert.equal(spec.command, 'C:\\Program Files\\Microsoft VS Code\\Code.exe');
    assert.equal(spec.args[0], join('C:\\Users\\A B\\.vscode\\extensions\\radish', 'dist', 'radish.js'));
    assert.deepEqual(spec.args.slice(1), ['worker', '-A', 'src/my tasks.ts', '-Q', 'celery,high', '-c', '4', '-l', 'info', '-n', 'vscode-42@%h', '-E', '--result-extended']);
    assert.deepEqual(spec.stdio, ['ignore', 'pipe', 'pipe', 'ipc']);
    assert.equal(spec.shell, false);
    assert.equal(spec.windowsHide, true);
    assert.equal(spec.env.ELECTRON_RUN_AS_NODE, '1');
    assert.equal(spec.env.PATH, '/usr/bin');
  });

  it('Celery: python -m celery (never a celery.cmd shim); on Windows with the threads pool', () => {
    const plan = { kind: 'python', app: 'shop', cwd: '/p' } as const;
    const win = launchSpec(plan, settings({ platform: 'win32', runtime: { command: 'C:\\Python 311\\python.exe', args: [] } }));
    assert.equal(win.command, 'C:\\Python 311\\python.exe');
    assert.deepEqual(win.args, ['-m', 'celery', '-A', 'shop', 'worker', '-l', 'info', '-E', '-Q', 'celery,high', '-c', '4', '-P', 'threads', '-n', 'vscode-42@%h']);
    assert.deepEqual(win.stdio, ['ignore', 'pipe', 'pipe']);
    const linux = launchSpec(plan, settings({ platform: 'linux', runtime: { command: 'py', args: ['-3'] } }));
    assert.deepEqual(linux.args, ['-3', '-m', 'celery', '-A', 'shop', 'worker', '-l', 'info', '-E', '-Q', 'celery,high', '-c', '4', '-n', 'vscode-42@%h']);
    assert.equal(linux.env.PYTHONIOENCODING, 'utf-8');
    assert.equal(launchSpec(plan, settings({ env: { PYTHONIOENCODING: 'latin-1' } })).env.PYTHONIOENCODING, 'latin-1', 'a user\'s choice stays');
  });

  it('the ready line names the node as the worker expanded it (Radish and Celery 5.2.6)', () => {
    assert.deepEqual(readyLine('[2026-01-02 10:00:00,000: INFO/MainProcess] vscode-42@vm ready. queues: celery; concurrency: 4; tasks: tasks.add'), { node: 'vscode-42@vm' });
    assert.deepEqual(readyLine('[2026-12-05 10:09:51,299: INFO/MainProcess] exp@DESKTOP-7.local ready.'), { node: 'exp@DESKTOP-7.local' });
    assert.equal(readyLine('[2026-12-05 10:09:51,282: INFO/MainProcess] mingle: all alone'), undefined);
  });
});

describe('local worker: which Python', () => {
  it('Windows without a setting: python, then the py -3 launcher, then python3; elsewhere python3 then python; a setting alone', () => {
    assert.deepEqual(pythonCandidates('win32'), [{ command: 'python', args: [] }, { command: 'py', args: ['-3'] }, { command: 'python3', args: [] }]);
    assert.deepEqual(pythonCandidates('linux'), [{ command: 'python3', args: [] }, { command: 'python', args: [] }]);
    assert.deepEqual(pythonCandidates('win32', 'C:\\venvs\\shop env\\Scripts\\python.exe'), [{ command: 'C:\\venvs\\shop env\\Scripts\\python.exe', args: [] }]);
  });

  it('Windows lookup: PATHEXT order (python.exe before a python.bat shim); a bare name without extension is not run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'radish-pathext-'));
    const touch = (name: string) => { writeFileSync(join(dir, name), ''); chmodSync(join(dir, name), 0o755); };
    const env = { PATH: dir, PATHEXT: '.com;.exe;.bat;.cmd' };
    touch('python');
    assert.equal(findExecutable('python', env, '/', 'win32'), undefined, 'only an extensionless file');
    assert.equal(findExecutable('python', env, '/', 'linux'), join(dir, 'python'));
    touch('python.bat');
    assert.equal(findExecutable('python', env, '/', 'win32'), join(dir, 'python.bat'), 'pyenv-win\'s shim');
    touch('python.exe');
    assert.equal(findExecutable('python', env, '/', 'win32'), join(dir, 'python.exe'));
    assert.equal(findExecutable('python.bat', env, '/', 'win32'), join(dir, 'python.bat'), 'a name with an extension as it is');
    mkdirSync(join(dir, 'Scripts'));
    writeFileSync(join(dir, 'Scripts', 'python.exe'), '');
    chmodSync(join(dir, 'Scripts', 'python.exe'), 0o755);
    assert.equal(findExecutable('Scripts/python', { PATHEXT: env.PATHEXT }, dir, 'win32'), join(dir, 'Scripts', 'python.exe'), 'a relative path gets .exe too');
  });

  it('a .bat shim is asked through cmd.exe with every word quoted; a word cmd cannot carry is refused', () => {
    assert.equal(cmdLine(['C:\\Users\\A B\\.pyenv\\pyenv-win\\shims\\python.bat', '-c', 'import sys; print(sys.executable)']),
      '""C:\\Users\\A B\\.pyenv\\pyenv-win\\shims\\python.bat" "-c" "import sys; print(sys.executable)""');
    assert.throws(() => cmdLine(['say "hi"']), /cannot pass/);
  });

  it('the first candidate that runs wins, and is named by its absolute path (real interpreters on this machine)', async () => {
    const env = { PATH: process.env.PATH ?? '' };
    const i = await resolveInterpreter('python', [{ command: 'radish-no-such-python', args: [] }, { command: PY, args: [] }], env, ROOT);
    assert.equal(i.command, PY);
    assert.match(i.version ?? '', /^Python 3\./);
    assert.ok(i.executable, 'it said its sys.executable');
    // On Windows the worker starts the file the interpreter named (a .bat shim or py.exe not in between); elsewhere the command.
    assert.deepEqual(launchCommand(i, 'win32'), { command: i.executable, args: [] });
    assert.deepEqual(launchCommand(i, 'linux'), { command: PY, args: [] });
    const none = await resolveInterpreter('python', [{ command: 'radish-no-such-python', args: [] }, { command: 'radish-no-such-py', args: ['-3'] }], env, ROOT);
    assert.equal(interpreterLine(none), 'Interpreter: radish-no-such-python not found (not on PATH)');
    const launcher = await describeInterpreter('python', PY, env, ROOT, { args: ['-I'] });
    assert.match(interpreterLine(launcher), /^Interpreter: .* \(Python 3\.[\d.]+\)/, 'arguments before the question are passed');
  });
});

describe('local worker: the stop plan taken on a real radish worker (the Windows plan too)', function () {
  this.timeout(60_000);
  const h = workerHarness();
  let dir: string;
  const children: ChildProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'radish-stop-plan-'));
    writeFileSync(join(dir, 'tasks.ts'), `
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.nap', (ms: number) => new Promise((resolve) => setTimeout(() => resolve('rested'), ms)));
app.task('tasks.hang', { bind: true }, (task) => new Promise((resolve) => task.signal.addEventListener('abort', resolve)));
`);
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  /** Started as the supervisor starts it (launchSpec), with this machine's Node; resolves once it is ready. */
  async function start(platform: NodeJS.Platform) {
    const spec = launchSpec({ kind: 'typescript', module: join(dir, 'tasks.ts'), cwd: dir }, {
      platform, extensionPath: ROOT, runtime: { command: process.execPath, args: [] }, queues: 'celery', concurrency: 2,
      level: 'info', hostname: `plan-${children.length}@%h`, env: { ...process.env, RADISH_BROKER_URL: h.server.url },
    });
    const child = spawn(spec.command, spec.args, { cwd: dir, env: spec.env, stdio: spec.stdio, windowsHide: spec.windowsHide, shell: spec.shell });
    children.push(child);
    let log = '';
    for (const s of [child.stdout, child.stderr]) s?.on('data', (d: Buffer) => { log += d; });
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await until(() => readyLine(log.split('\n').find((l) => readyLine(l)) ?? '') !== undefined, () => `the worker to start; log:\n${log}`);
    return { child, log: () => log, exit };
  }

  /** Take `steps` with hooks that record what they were asked; taskkill (which cannot run here) is stood in for by SIGKILL. */
  function take(child: ChildProcess, steps: StopStep[]) {
    const ran: string[][] = [];
    const said: string[] = [];
    const done = runStopPlan(child, steps, {
      remoteShutdown: async (node) => { ran.push(['remote-shutdown', node]); },
      run: async (command, args) => { ran.push([command, ...args]); child.kill('SIGKILL'); return 0; },
      log: (level, line) => said.push(`${level}: ${line}`),
    });
    return { done, ran, said };
  }

  for (const platform of ['win32', 'linux'] as const) {
    it(`${platform} plan, warm: the running task finishes and the worker exits 0 (IPC, no signal, no kill)`, async () => {
      h.app.task('tasks.nap', () => undefined);
      const w = await start(platform);
      const r = await h.app.send('tasks.nap', [700]);
      await until(() => w.log().includes(`tasks.nap[${r.id}] received`), 'the task to arrive');
      const stop = take(w.child, stopPlan({ kind: 'typescript', platform, pid: w.child.pid!, graceMs: 20_000, ready: true }));
      await stop.done;
      assert.equal(await w.exit, 0, w.log());
      assert.equal((await h.stored(r.id))?.status, 'SUCCESS');
      assert.deepEqual(stop.ran, []);
      assert.deepEqual(stop.said, ['info: Stopping the worker: warm shutdown (running tasks finish)']);
    });
  }

  it('win32 plan, past the grace period: the cold request gives the running task\'s message back; no kill', async () => {
    h.app.task('tasks.hang', () => undefined);
    const w = await start('win32');
    const r = await h.app.send('tasks.hang');
    await until(() => w.log().includes(`tasks.hang[${r.id}] received`), 'the task to arrive');
    const stop = take(w.child, stopPlan({ kind: 'typescript', platform: 'win32', pid: w.child.pid!, graceMs: 400, ready: true }));
    await stop.done;
    assert.equal(await w.exit, 0, w.log());
    assert.match(w.log(), /Cold shutdown \(asked again\): aborting 1 running task/);
    const [back] = await h.redis.lrange('celery', 0, -1);
    assert.ok(back && decodeTaskMessage(back).redelivered);
    assert.deepEqual(stop.ran, [], 'taskkill was not needed');
    assert.match(stop.said[1]!, /^warn: Worker still running 0\.4 s after the stop began: cold shutdown/);
  });

  it('win32 plan on a process that does not listen: taskkill /PID <pid> /T /F when the hard deadline comes', async () => {
    // A Node process with an IPC channel and no listener: the requests are lost, as with a worker that is stuck.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    children.push(child);
    await new Promise((r) => child.once('spawn', r));
    const stop = take(child, stopPlan({ kind: 'typescript', platform: 'win32', pid: child.pid!, graceMs: 200, hardAfterMs: 200, ready: true, systemRoot: 'C:\\Windows' }));
    await stop.done;
    assert.deepEqual(stop.ran, [['C:\\Windows\\System32\\taskkill.exe', '/PID', String(child.pid), '/T', '/F']]);
  });

  it('POSIX plan: a worker whose IPC channel is closed still gets SIGTERM', async () => {
    const w = await start('linux');
    w.child.disconnect();
    // Disconnecting already asks the worker to stop warmly; the plan must not fail on the closed channel either.
    const stop = take(w.child, stopPlan({ kind: 'typescript', platform: 'linux', pid: w.child.pid!, graceMs: 20_000, ready: true }));
    await stop.done;
    assert.equal(await w.exit, 0, w.log());
    assert.ok(stop.said.some((l) => l.includes('Cannot ask the worker over its IPC channel (it is closed): sending SIGTERM')), stop.said.join('\n'));
  });

  it('a finished process needs no stop', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await new Promise((r) => child.once('exit', r));
    const stop = take(child, stopPlan({ kind: 'typescript', platform: 'win32', pid: child.pid!, graceMs: 10, ready: true }));
    await stop.done;
    assert.deepEqual([stop.ran, stop.said], [[], []]);
  });

  it('the message is the one runner/cli.ts obeys', () => {
    assert.deepEqual(shutdownMessage('cold'), { radish: 'shutdown', mode: 'cold' });
  });
});
