/**
 * The extension's Windows stop plan for a Celery worker, taken for real on Debian's Celery 5.2.6: the worker is
 * started with the Windows command line (`python -m celery ... -P threads -n vscode-...@%h`, launch.ts) and stopped
 * through Celery's own remote control (`shutdown` to the node name its ready line gave), which is what Windows uses
 * since it has no SIGTERM. Only taskkill, which cannot run here, is stood in for (by SIGKILL to the process group).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { Control } from '../../runner/control';
import { launchSpec, readyLine } from '../../extension/worker/launch';
import { runStopPlan, stopPlan } from '../../extension/worker/stop';
import { requireCelery } from '../support/celery';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

const PY = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
const CWD = resolve(__dirname);

describe('local worker: the Windows stop plan on a real Celery 5.2.6 worker', function () {
  this.timeout(90_000);
  before(function () {
    requireCelery(this);
  });
  const h = redisHarness();
  let app: Radish;
  let control: Control;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    app = new Radish({ broker: h.server.url });
    control = await Control.forApp(app);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
    await control.close();
    await app.close();
  });

  async function start() {
    const spec = launchSpec({ kind: 'python', app: 'celery_app', cwd: CWD }, {
      platform: 'win32', extensionPath: '/unused', runtime: { command: PY, args: [] }, queues: 'celery', concurrency: 2,
      level: 'info', hostname: `vscode-${process.pid}-${children.length}@%h`,
      env: { ...process.env, RADISH_TEST_BROKER: h.server.url },
    });
    assert.deepEqual(spec.args.slice(spec.args.indexOf('-P'), spec.args.indexOf('-P') + 2), ['-P', 'threads']);
    // Its own process group, so that the stand-in for taskkill /T can kill the tree.
    const child = spawn(spec.command, spec.args, { cwd: CWD, env: spec.env, stdio: spec.stdio, windowsHide: true, shell: false, detached: true });
    children.push(child);
    let log = '';
    for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (d: string) => { log += d; });
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let node: string | undefined;
    await until(() => {
      node = log.split('\n').map(readyLine).find((r) => r?.node)?.node;
      return node !== undefined;
    }, () => `celery to be ready; log:\n${log}`, 30_000);
    return { child, node: node!, log: () => log, exit };
  }

  function take(child: ChildProcess, node: string, graceMs: number) {
    const ran: string[][] = [];
    const said: string[] = [];
    const done = runStopPlan(child, stopPlan({ kind: 'python', platform: 'win32', pid: child.pid!, node, graceMs, ready: true }), {
      // What the supervisor does: the extension's Control client, no reply awaited (Celery sends none).
      remoteShutdown: async (n) => { await control.broadcast('shutdown', {}, { destination: [n], reply: false }); },
      run: async (command, args) => { ran.push([command, ...args]); process.kill(-child.pid!, 'SIGKILL'); return 0; },
      log: (level, line) => said.push(`${level}: ${line}`),
    });
    return { done, ran, said };
  }

  it('remote-control shutdown: the running task finishes, the worker exits 0, no kill', async () => {
    const w = await start();
    assert.match(w.node, new RegExp(`^vscode-${process.pid}-0@\\S+$`), 'the node name as Celery expanded %h');
    const r = await app.send('tasks.sleep', [1.5]);
    await until(() => w.log().includes(`tasks.sleep[${r.id}] received`), () => `the task to arrive; log:\n${w.log()}`);
    const asked = Date.now();
    const stop = take(w.child, w.node, 20_000);
    await stop.done;
    assert.equal(await w.exit, 0, w.log());
    assert.ok(Date.now() - asked < 15_000, `stopped ${Date.now() - asked} ms after the request`);
    assert.match(w.log(), /Got shutdown from remote/);
    assert.equal(await r.get({ timeout: 5000 }), 1.5, 'the running task finished before the exit');
    assert.deepEqual(stop.ran, []);
    assert.deepEqual(stop.said, [`info: Stopping the worker: warm shutdown (remote control shutdown to ${w.node}; running tasks finish)`]);
  });

  it('a task that outlasts the grace period: taskkill /T /F on the worker\'s pid', async () => {
    const w = await start();
    const r = await app.send('tasks.sleep', [60]);
    await until(() => w.log().includes(`tasks.sleep[${r.id}] received`), 'the task to arrive');
    const stop = take(w.child, w.node, 1500);
    await stop.done;
    assert.match(w.log(), /Got shutdown from remote/, 'the warm request was heard first');
    assert.deepEqual(stop.ran, [['C:\\Windows\\System32\\taskkill.exe', '/PID', String(w.child.pid), '/T', '/F']]);
    assert.match(stop.said[1]!, /^warn: Worker still running 1\.5 s after the stop began: killing it and its child processes \(taskkill \/T \/F\)/);
  });
});
