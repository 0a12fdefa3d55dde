/**
 * `radish worker --debug` as a debugger meets it: the task process logs its inspector's address and takes no task
 * before a debugger attaches there; a breakpoint set by the TypeScript file's URL and line stops the task with its
 * arguments in scope (the loader keeps the lines of the source); while it is paused the worker's heartbeats go on,
 * and no time limit fails it; resumed, its result is stored. The debugger here is a small Chrome DevTools Protocol
 * client (Node's WebSocket), the protocol VS Code's JavaScript debugger speaks.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

const CLI = resolve(__dirname, '../../dist/radish.js');

const TASKS = `import { Radish } from '@radish-queue/radish';
export const app = new Radish();

export const add = app.task('dbg.add', (x: number, y: number) => {
  const total: number = x + y;
  return total;
});
`;
/** 1-based line of \`const total\` in TASKS. */
const LINE = 5;

/** A CDP client in a child Node (Node 20 has WebSocket behind a flag): pause at the line, report, resume. */
const CLIENT = `
const [url, file, line] = process.argv.slice(1);
const ws = new WebSocket(url);
let id = 0;
const pending = new Map();
const call = (method, params = {}) => new Promise((res) => { const n = ++id; pending.set(n, res); ws.send(JSON.stringify({ id: n, method, params })); });
ws.onmessage = async (e) => {
  const msg = JSON.parse(e.data);
  if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg.result ?? msg.error); pending.delete(msg.id); return; }
  if (msg.method === 'Debugger.paused') {
    const frame = msg.params.callFrames[0];
    const local = frame.scopeChain.find((s) => s.type === 'local');
    const props = await call('Runtime.getProperties', { objectId: local.object.objectId, ownProperties: true });
    const vars = Object.fromEntries(props.result.map((p) => [p.name, p.value?.value]));
    console.log(JSON.stringify({ paused: { line: frame.location.lineNumber + 1, url: frame.url, vars } }));
    setTimeout(async () => { await call('Debugger.resume'); console.log(JSON.stringify({ resumed: true })); ws.close(); }, Number(process.env.HOLD_MS));
  }
};
ws.onopen = async () => {
  await call('Runtime.enable');
  await call('Debugger.enable');
  const bp = await call('Debugger.setBreakpointByUrl', { lineNumber: Number(line) - 1, urlRegex: file.replace(/[.*+?^$()|[\\]\\\\]/g, '\\\\$&') + '$' });
  console.log(JSON.stringify({ breakpoint: bp.breakpointId ? 'set' : bp }));
  await call('Runtime.runIfWaitingForDebugger');
};
`;

describe('worker --debug: a task process that waits for a debugger, and a task paused at a breakpoint', function () {
  this.timeout(60_000);
  const h = redisHarness();
  let dir: string;
  let worker: ChildProcess | undefined;
  let client: ChildProcess | undefined;
  let app: Radish | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'radish-debug-'));
    writeFileSync(join(dir, 'tasks.ts'), TASKS);
  });
  afterEach(async () => {
    client?.kill('SIGKILL');
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGKILL');
      await exited;
    }
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs where to attach, runs nothing before a debugger attaches, and stops at the breakpoint with the args in scope', async () => {
    let log = '';
    worker = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-Q', 'dbg', '--debug', '--time-limit', '1', '--broker', h.server.url, '-l', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    worker.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    await until(() => /waits for a debugger at ws:\/\//.test(log), 'the debugger address in the log', 20_000);
    assert.match(log, /Debug mode: tasks run one at a time in a task process that waits for a debugger; no time limits/);
    assert.doesNotMatch(log, / ready\./, 'not ready (taking tasks) before a debugger attaches');
    const url = /waits for a debugger at (ws:\/\/\S+)/.exec(log)![1]!;

    app = new Radish({ broker: h.server.url });
    const sent = await app.send('dbg.add', [2, 3], {}, { queue: 'dbg' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await (await app.backend()).get(sent.id), null, 'nothing ran before the debugger attached');

    let out = '';
    client = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', CLIENT, url, join(dir, 'tasks.ts').split('\\').join('/'), String(LINE)], {
      stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HOLD_MS: '3000' },
    });
    client.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    await until(() => out.includes('"paused"'), 'the task paused at the breakpoint', 20_000);
    const paused = (JSON.parse(out.split('\n').find((l) => l.includes('"paused"'))!) as { paused: { line: number; url: string; vars: Record<string, unknown> } }).paused;
    assert.equal(paused.line, LINE, `paused at ${paused.url}:${paused.line}`);
    assert.deepEqual({ x: paused.vars.x, y: paused.vars.y }, { x: 2, y: 3 });

    // Paused for 3 s, three times the --time-limit the debug mode turned off: the task is not failed, and the worker
    // still heartbeats meanwhile (its presence is refreshed).
    const heartbeat = async () => JSON.parse((await h.redis.get((await h.redis.keys('radish.worker.*'))[0]!)) ?? '{}') as { heartbeat?: number };
    const before = (await heartbeat()).heartbeat ?? 0;
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(((await heartbeat()).heartbeat ?? 0) > before, 'heartbeats went on while the task was paused');
    assert.equal(await sent.get({ timeout: 10_000 }), 5);
    assert.match(log, /Task dbg\.add\[[^\]]+\] succeeded/);
    assert.equal(readFileSync(join(dir, 'tasks.ts'), 'utf8'), TASKS);
  });
});
