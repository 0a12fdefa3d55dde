/**
 * `radish worker` stopped over its IPC channel, as the VS Code extension stops its local worker on every OS (Windows
 * has no SIGTERM: `kill()` there is TerminateProcess): a warm request lets the running task finish, a cold one gives
 * its message back at once, a warm then a cold one behave as two SIGTERMs, and a parent that goes away stops the
 * worker warmly. The messages are built by the extension's own code (extension/worker/stop.ts).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeTaskMessage } from '../../runner/protocol/message';
import { shutdownMessage } from '../../extension/worker/stop';
import { until, workerHarness } from '../support/worker-harness';

const CLI = resolve(__dirname, '../../dist/radish.js');

const TASKS = `
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.nap', (ms: number) => new Promise((resolve) => setTimeout(() => resolve('rested'), ms)));
app.task('tasks.hang', { bind: true }, (task) => new Promise((resolve) => task.signal.addEventListener('abort', resolve)));
`;

interface Started { child: ChildProcess; log: () => string; exited: Promise<number | null> }

describe('CLI: shutdown over IPC (how the extension stops its worker on every OS)', function () {
  this.timeout(30_000);
  const h = workerHarness();
  let dir: string;
  let running: ChildProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'radish-ipc-'));
    writeFileSync(join(dir, 'tasks.ts'), TASKS);
  });
  afterEach(() => {
    if (running && running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
    running = undefined;
  });

  /** The CLI worker with an IPC channel (no signal is ever sent to it here), once it is ready. */
  async function startCli(): Promise<Started> {
    const child = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-n', 'ipc@test'],
      { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    running = child;
    let log = '';
    child.stderr!.on('data', (d: Buffer) => { log += d; });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await until(() => log.includes('ready.'), () => `the worker to start; log:\n${log}`);
    return { child, log: () => log, exited };
  }

  it('warm: the running task finishes, then the worker exits 0', async () => {
    h.app.task('tasks.nap', () => undefined);
    const w = await startCli();
    const r = await h.app.send('tasks.nap', [800]);
    await until(() => w.log().includes(`tasks.nap[${r.id}] received`), 'the task to arrive');
    w.child.send(shutdownMessage('warm'));
    await until(() => w.log().includes('Warm shutdown'), () => `the warm shutdown; log:\n${w.log()}`);
    assert.equal(await w.exited, 0, w.log());
    assert.equal((await h.stored(r.id))?.status, 'SUCCESS', 'the running task finished before the exit');
    assert.equal(await h.redis.llen('celery'), 0);
    assert.equal(await h.redis.hlen('unacked'), 0);
    assert.doesNotMatch(w.log(), /Cold shutdown/);
  });

  it('cold: the worker exits at once and the running task\'s message is back in its queue', async () => {
    h.app.task('tasks.hang', () => undefined);
    const w = await startCli();
    const r = await h.app.send('tasks.hang');
    await until(() => w.log().includes(`tasks.hang[${r.id}] received`), 'the task to arrive');
    const asked = Date.now();
    w.child.send(shutdownMessage('cold'));
    assert.equal(await w.exited, 0, w.log());
    assert.ok(Date.now() - asked < 5000, `exited ${Date.now() - asked} ms after the request`);
    assert.match(w.log(), /Cold shutdown \(MainProcess\)/);
    assert.match(w.log(), new RegExp(`tasks\\.hang\\[${r.id}\\] interrupted by a cold shutdown; its message was given back`));
    const [back] = await h.redis.lrange('celery', 0, -1);
    assert.ok(back && decodeTaskMessage(back).redelivered, 'the message is back in its queue, marked redelivered');
    assert.equal(await h.redis.hlen('unacked'), 0);
    assert.equal(await h.stored(r.id), null);
  });

  it('warm, then cold (the extension after its grace period): the second request turns the stop cold', async () => {
    h.app.task('tasks.hang', () => undefined);
    const w = await startCli();
    const r = await h.app.send('tasks.hang');
    await until(() => w.log().includes(`tasks.hang[${r.id}] received`), 'the task to arrive');
    w.child.send(shutdownMessage('warm'));
    await until(() => w.log().includes('Warm shutdown'), 'the warm shutdown');
    assert.equal(await h.redis.llen('celery'), 0, 'still running during the warm phase');
    w.child.send(shutdownMessage('cold'));
    assert.equal(await w.exited, 0, w.log());
    assert.match(w.log(), /Cold shutdown \(asked again\): aborting 1 running task/);
    assert.equal(await h.redis.llen('celery'), 1, 'the running task went back to its queue');
    assert.equal(await h.redis.hlen('unacked'), 0);
  });

  it('ignores messages that are not a shutdown request', async () => {
    const w = await startCli();
    w.child.send({ hello: 'world' });
    w.child.send({ radish: 'shutdown', mode: 'lukewarm' });
    w.child.send('shutdown');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(w.child.exitCode, null, 'still running');
    assert.doesNotMatch(w.log(), /shutdown/i);
    w.child.send(shutdownMessage('warm'));
    assert.equal(await w.exited, 0, w.log());
  });

  it('a parent that goes away (the IPC channel closes) stops the worker warmly', async () => {
    h.app.task('tasks.nap', () => undefined);
    const w = await startCli();
    const r = await h.app.send('tasks.nap', [500]);
    await until(() => w.log().includes(`tasks.nap[${r.id}] received`), 'the task to arrive');
    w.child.disconnect();
    assert.equal(await w.exited, 0, w.log());
    assert.match(w.log(), /Warm shutdown/);
    assert.equal((await h.stored(r.id))?.status, 'SUCCESS');
  });

  it('a request that comes before the worker is ready ends it at once (Stop clicked while it starts)', async () => {
    const child = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-n', 'ipc@test'],
      { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    running = child;
    let log = '';
    child.stderr!.on('data', (d: Buffer) => { log += d; });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.send(shutdownMessage('warm'));
    assert.equal(await exited, 0, log);
    assert.match(log, /Stopping before the worker was ready \(nothing taken yet\)/);
    assert.doesNotMatch(log, / ready\./);
  });

  it('a worker that cannot start still exits with its error (the channel does not hold it open)', async () => {
    writeFileSync(join(dir, 'broken.ts'), `import './no-such-helper';\n`);
    const child = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'broken.ts')],
      { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    running = child;
    let log = '';
    child.stderr!.on('data', (d: Buffer) => { log += d; });
    const code = await Promise.race([
      new Promise<number | null>((r) => child.once('exit', (c) => r(c))),
      new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000)),
    ]);
    assert.equal(code, 1, log);
    assert.match(log, /radish: Cannot find module '\.\/no-such-helper'/);
  });

  it('SIGTERM still works on a worker that has an IPC channel', async function () {
    if (process.platform === 'win32') this.skip();
    const w = await startCli();
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0, w.log());
    assert.match(w.log(), /Warm shutdown/);
  });
});
