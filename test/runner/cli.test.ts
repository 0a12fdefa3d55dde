/** The `radish` CLI as a user runs it (the built dist/radish.js), against a real redis-server. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { formatReply } from '../../runner/control-print';
import { requireCelery } from '../support/celery';
import { freePort, redisHarness } from '../support/redis';
import { until } from '../support/wait';

const CLI = resolve(__dirname, '../../dist/radish.js');

interface Run { code: number | null; stdout: string; stderr: string }

function radish(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return radishIn(undefined, args, env);
}

function radishIn(cwd: string | undefined, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** A task project outside the repo, with no node_modules: `import 'radish'` must still work. */
function taskProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'radish-cli-'));
  writeFileSync(join(dir, 'math.ts'), 'export const twice = (n: number): number => n * 2;\n');
  writeFileSync(join(dir, 'tasks.ts'), `
import { Radish } from 'radish';
import { twice } from './math';
interface Sum { total: number }
export const app = new Radish();
export const add = app.task('tasks.add', (x: number, y: number): number => x + y);
export const double = app.task('tasks.double', (n: number): Sum => ({ total: twice(n) }));
export const slow = app.task('tasks.slow', async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return 'slept'; });
`);
  return join(dir, 'tasks.ts');
}

/** Everything a child wrote to stderr so far, and a way to wait for a line in it. */
function watch(child: ChildProcess): { log: () => string; waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string> } {
  let seen = '';
  child.stderr?.on('data', (d: Buffer) => { seen += d; });
  const waitFor = async (pattern: RegExp, timeoutMs = 15_000) => {
    await until(() => pattern.test(seen), () => `${pattern}; output:\n${seen}`, timeoutMs, 20);
    return seen;
  };
  return { log: () => seen, waitFor };
}

describe('cli', function () {
  const h = redisHarness();
  let env: Record<string, string>;

  before(() => {
    env = { RADISH_BROKER_URL: h.server.url };
  });

  describe('bad input: one clear line, non-zero exit, no stack trace', () => {
    const cases: [string, string[], number, RegExp][] = [
      ['invalid JSON args', ['call', 'tasks.add', '--args', '[2,'], 2, /^radish: error: --args is not valid JSON: .+\n$/],
      ['args not an array', ['call', 'tasks.add', '--args', '{"x": 1}'], 2, /--args must be a JSON array/],
      ['invalid kwargs', ['call', 'tasks.add', '--kwargs', '[1]'], 2, /--kwargs must be a JSON object/],
      ['unknown option', ['call', 'tasks.add', '--bogus'], 2, /^radish: error: Unknown option '--bogus'\n$/],
      ['priority out of range', ['call', 'tasks.add', '--priority', '12'], 2, /--priority must be an integer from 0 to 9/],
      ['unknown command', ['frobnicate'], 2, /unknown command "frobnicate"/],
      ['worker without a module', ['worker'], 2, /worker needs a task module/],
      ['missing task module', ['worker', '-A', '/nonexistent/tasks.ts'], 1, /cannot find task module \/nonexistent\/tasks\.ts/],
      ['purge without -f', ['purge', '-Q', 'celery'], 2, /add -f to confirm/],
    ];
    for (const [label, args, code, pattern] of cases) {
      it(label, async () => {
        const run = await radish(args, env);
        assert.equal(run.code, code, run.stderr);
        assert.match(run.stderr, pattern);
        assert.equal(run.stderr.trim().split('\n').length, 1, `one line, got:\n${run.stderr}`);
      });
    }

    it('an unreachable Redis', async () => {
      const run = await radish(['inspect', 'queues', '--broker', `redis://:pw@127.0.0.1:${await freePort()}/0`]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^radish: cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: connect ECONNREFUSED/);
      assert.equal(run.stderr.trim().split('\n').length, 1);
    });

    it('a missing import inside an existing task module: the import that failed and where, not "cannot find task module"', async () => {
      const tasks = taskProject();
      const dir = join(tasks, '..');
      // tasks.ts -> ./math (exists) -> ./helpers (does not): the failing import is math.ts's, on its line 2.
      writeFileSync(join(dir, 'math.ts'), "// doubling\nimport { half } from './helpers';\nexport const twice = (n: number): number => n * 2 + half;\n");
      const run = await radishIn(dir, ['worker', '-A', 'tasks.ts'], env);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr, "radish: Cannot find module './helpers' (imported from math.ts:2)\n");
    });

    it('a missing import in a task module given by an absolute path names the importing file by its absolute path', async () => {
      const tasks = taskProject();
      writeFileSync(tasks, "import { Radish } from 'radish';\n\nimport { x } from './helpers';\nexport const app = new Radish();\nexport const y = x;\n");
      const run = await radish(['worker', '-A', tasks], env);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr, `radish: Cannot find module './helpers' (imported from ${tasks}:3)\n`);
    });

    it('a missing task module says so, relative to where it was looked for', async () => {
      const dir = join(taskProject(), '..');
      const run = await radishIn(dir, ['worker', '-A', 'nope.ts'], env);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr, `radish: cannot find task module nope.ts (looked for ${join(dir, 'nope.ts')})\n`);
    });
  });

  it('--help and --version', async () => {
    const help = await radish(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /worker +-A MODULE/);
    assert.match((await radish(['--version'])).stdout, /^radish \d+\.\d+\.\d+\n$/);
  });

  it("inspect and control (revoke, add_consumer, shutdown) reach a running worker over pidbox, as Celery's own commands do; its name is its own", async () => {
    const tasks = taskProject();
    const worker = spawn(process.execPath, [CLI, 'worker', '-A', tasks, '-n', 'pidbox@test', '-l', 'info'], { env: { ...process.env, ...env } });
    const output = watch(worker);
    try {
      await output.waitFor(/ready\./);
      const twin = await radish(['worker', '-A', tasks, '-n', 'pidbox@test'], env);
      assert.equal(twin.code, 1);
      assert.match(twin.stderr, /^radish: a worker named pidbox@test is already running \(pid \d+ on this host, seen \d+ s ago\): give this one another name with -n/);
      const ping = await radish(['inspect', 'ping', '-d', 'pidbox@test'], env);
      assert.deepEqual([ping.code, ping.stdout], [0, '->  pidbox@test: OK\n        pong\n\n1 node online.\n'], ping.stderr);
      const nobody = await radish(['inspect', 'ping', '-d', 'nobody@test', '--timeout', '0.3'], env);
      assert.equal(nobody.code, 1);
      assert.match(nobody.stderr, /No nodes replied/);
      const sent = await radish(['call', 'tasks.slow', '--args', '[30000]'], env);
      const id = sent.stdout.trim();
      await output.waitFor(new RegExp(`tasks\\.slow\\[${id}\\] received`));
      const revoke = await radish(['control', 'revoke', id, '--terminate', '--signal', 'KILL'], env);
      assert.deepEqual([revoke.code, revoke.stdout], [0, `->  pidbox@test: OK\n        terminate: ${id}\n\n1 node online.\n`], revoke.stderr);
      const result = await radish(['result', id, '--wait', '5'], env);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^REVOKED ${id}: TaskRevokedError: terminated`));
      const revoked = await radish(['inspect', 'revoked', '--json'], env);
      assert.deepEqual(JSON.parse(revoked.stdout), { 'pidbox@test': [id] });
      const badSignal = await radish(['control', 'revoke', id, '--terminate', '--signal', 'SIGNOPE'], env);
      assert.equal(badSignal.code, 2);
      assert.match(badSignal.stderr, /unknown signal "SIGNOPE"/);
      const consumer = await radish(['control', 'add_consumer', 'extra', '-d', 'pidbox@test'], env);
      assert.deepEqual([consumer.code, consumer.stdout], [0, '->  pidbox@test: OK\n        add consumer extra\n\n1 node online.\n'], consumer.stderr);
      const usage = await radish(['control', 'rate_limit', 'tasks.add'], env);
      assert.deepEqual([usage.code, usage.stderr], [2, 'radish: error: usage: radish control rate_limit TASK RATE (e.g. 10/s; 0 turns it off)\n']);
      const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
      const shutdown = await radish(['control', 'shutdown', '-d', 'pidbox@test'], env);
      assert.equal(shutdown.code, 0, shutdown.stderr);
      assert.equal(await exited, 0, 'a remote shutdown stops the worker process warmly');
      assert.match(output.log(), /Warm shutdown/);
    } finally {
      worker.kill('SIGKILL');
    }
  });

  it('inspect METHOD [args] asks for every inspect method, prints as `celery inspect` does, and says when nobody answered', async () => {
    const tasks = taskProject();
    const worker = spawn(process.execPath, [CLI, 'worker', '-A', tasks, '-n', 'inspect@test', '-c', '3'], { env: { ...process.env, ...env } });
    const output = watch(worker);
    const node = ['-d', 'inspect@test', '-t', '5'];
    try {
      await output.waitFor(/ready\./);
      const registered = await radish(['inspect', 'registered', ...node], env);
      assert.deepEqual([registered.code, registered.stdout], [0, '->  inspect@test: OK\n    * tasks.add\n    * tasks.double\n    * tasks.slow\n\n1 node online.\n'], registered.stderr);
      const named = await radish(['inspect', 'registered', 'name', ...node], env);
      assert.match(named.stdout, /^ {4}\* tasks\.add \[name=tasks\.add\]$/m, 'extra words are the attributes, as in Celery\'s CLI');
      const id = (await radish(['call', 'tasks.slow', '--args', '[30000]'], env)).stdout.trim();
      await output.waitFor(new RegExp(`tasks\\.slow\\[${id}\\] received`));
      const active = JSON.parse((await radish(['inspect', 'active', '--json', ...node], env)).stdout) as Record<string, { id: string; worker_pid: number }[]>;
      assert.equal(active['inspect@test']?.[0]?.id, id);
      assert.equal(active['inspect@test']?.[0]?.worker_pid, worker.pid, 'the async pool runs tasks in the worker process');
      const activeText = await radish(['inspect', 'active', ...node], env);
      assert.match(activeText.stdout, new RegExp(`^ {4}\\* \\{'id': '${id}', 'name': 'tasks\\.slow', 'args': \\[30000\\],`, 'm'), 'each task as Python prints a dict');
      const query = await radish(['inspect', 'query_task', id, 'not-here', ...node], env);
      assert.match(query.stdout, new RegExp(`^ {8}"${id}": \\[\\n {12}"active",`, 'm'), query.stdout);
      const stats = await radish(['inspect', 'stats', ...node], env);
      assert.match(stats.stdout, /^ {8}"prefetch_count": 12,$/m, 'a dict as json.dumps(sort_keys=True, indent=4)');
      assert.match(stats.stdout, /^ {12}"max-concurrency": 3,$/m);
      const queues = await radish(['inspect', 'active_queues', ...node], env);
      assert.match(queues.stdout, /^ {4}\* \{'name': 'celery', 'exchange': \{'name': 'celery', 'type': 'direct',/m);
      const reserved = await radish(['inspect', 'reserved', ...node], env);
      assert.equal(reserved.stdout, '->  inspect@test: OK\n    - empty -\n\n1 node online.\n');
      const enabled = await radish(['control', 'enable_events', ...node], env);
      assert.deepEqual([enabled.code, enabled.stdout], [0, '->  inspect@test: OK\n        task events enabled\n\n1 node online.\n'], enabled.stderr);
      const disabled = await radish(['control', 'disable_events', '-j', ...node], env);
      assert.deepEqual(JSON.parse(disabled.stdout), { 'inspect@test': { ok: 'task events disabled' } });
      const nobody = await radish(['inspect', 'stats', '-d', 'nobody@test', '-t', '0.3'], env);
      assert.deepEqual([nobody.code, nobody.stdout], [1, '']);
      assert.equal(nobody.stderr, 'Error: No nodes replied within time constraint (0.3 s; asked nobody@test). Is a worker running on this broker?\n');
      const noIds = await radish(['inspect', 'query_task'], env);
      assert.deepEqual([noIds.code, noIds.stderr], [2, 'radish: error: query_task needs one or more task ids: radish inspect query_task ID...\n']);
      const unknown = await radish(['inspect', 'everything'], env);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown inspect command "everything" \(one of: queues, active, reserved, scheduled, stats, active_queues, revoked, ping/);
    } finally {
      worker.kill('SIGKILL');
    }
  });

  it('prints each node\'s reply byte for byte as Celery 5.2\'s CLI prints it (piped, so without colours)', function () {
    requireCelery(this);
    const replies: unknown[] = [
      { ok: 'pong' }, { error: 'No such command' }, [], ['tasks.add [rate_limit=10/s]', 'tasks.echo'],
      [{ id: 'a', args: [1, 'two', null, true, 2.5], kwargs: { 'k\'q': 'é\n' }, delivery_info: { redelivered: null } }],
      { total: { 'tasks.b': 2, 'tasks.a': 1 }, pid: 42, clock: '7', pool: { processes: [1, 2], writes: {} }, name: 'ünï"\\' },
      { ok: { nested: [1] } }, { ok: [] }, 'plain', 7, null, { 'id-1': ['active', { id: 'id-1' }] },
    ];
    const script = [
      'import json, sys', 'import click', 'from celery import Celery', 'from celery.bin.base import CLIContext', 'from celery.utils import text',
      'ctx = CLIContext(app=Celery(set_as_current=False), no_color=False, workdir=None)',
      'for value in json.loads(sys.stdin.read()):',
      '    status, body = ctx.pretty(value)',
      // _say_remote_command_reply: say_chat('->', f'{node}: {status}', text.indent(body, 4)); click strips colours when piped.
      "    print(json.dumps(click.unstyle(f\"{ctx.style('->', bold=True)}  w1@vm: {status}\\n{text.indent(body, 4)}\\n\")))",
    ].join('\n');
    const python = spawnSync(process.env.CELERY_PYTHON ?? '/usr/bin/python3', ['-c', script], { input: JSON.stringify(replies), encoding: 'utf8' });
    assert.equal(python.status, 0, python.stderr);
    const printed = python.stdout.trim().split('\n').map((line) => JSON.parse(line) as string);
    assert.equal(printed.length, replies.length);
    replies.forEach((reply, i) => assert.equal(formatReply('w1@vm', reply), printed[i], `reply ${JSON.stringify(reply)}`));
  });

  it('runs a worker on a TypeScript module that imports radish, calls it, and shuts down warmly on SIGTERM', async () => {
    const tasks = taskProject();
    const worker = spawn(process.execPath, [CLI, 'worker', '-A', tasks, '-Q', 'celery,extra', '-c', '2', '-n', 'cli@%h', '-l', 'info'], { env: { ...process.env, ...env } });
    const output = watch(worker);
    try {
      const banner = await output.waitFor(/ready\./);
      assert.match(banner, /cli@\S+ ready\. queues: celery, extra; concurrency: 2; tasks: tasks\.add, tasks\.double, tasks\.slow/);
      const add = await radish(['call', 'tasks.add', '--args', '[2, 3]', '--wait', '10'], env);
      assert.deepEqual([add.code, add.stdout], [0, '5\n']);
      const double = await radish(['call', 'tasks.double', '--kwargs', '{"n": 21}', '--queue', 'extra', '--wait', '10'], env);
      assert.deepEqual([double.code, double.stdout], [0, '{"total":42}\n']);
      const bad = await radish(['call', 'tasks.add', '--args', '[1]', '--kwargs', '{"q": 1}', '--wait', '10'], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^FAILURE [\w-]+: TypeError: tasks\.add\(\) got an unexpected keyword argument 'q'\n$/);
      const sent = await radish(['call', 'tasks.slow', '--args', '[1500]'], env);
      assert.match(sent.stdout, /^[0-9a-f-]{36}\n$/);
      await output.waitFor(/Task tasks\.slow\[.+\] received/);
      const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
      worker.kill('SIGTERM');
      const log = await output.waitFor(/succeeded in [\d.]+s: 'slept'/);
      assert.match(log, /Warm shutdown/);
      assert.equal(await exited, 0);
      const result = await radish(['result', sent.stdout.trim()], env);
      assert.match(result.stdout, /"status":"SUCCESS","result":"slept"/);
    } finally {
      worker.kill('SIGKILL');
    }
  });

  it('dlq: lists, shows, replays with edited args, and refuses to purge without -f', async () => {
    const app = new Radish({ broker: h.server.url });
    const msg = app.message({ name: 'tasks.add', args: [1], taskId: 'dead-1' });
    await h.redis.lpush('radish.dlq', JSON.stringify({ reason: "failed: TypeError('missing y')", queue: 'celery', worker: 'w@h', time: 1795500000, raw: msg.body, task_id: 'dead-1', task: 'tasks.add' }));
    const list = await radish(['dlq', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^\s+1 {2}2026-\d\d-\d\d \d\d:\d\d:\d\d {2}celery {6}tasks\.add\[dead-1\] {2}failed: TypeError\('missing y'\)$/m);
    const shown = JSON.parse((await radish(['dlq', 'show', '1'], env)).stdout) as { args: unknown[]; raw: string };
    assert.deepEqual(shown.args, [1]);
    assert.equal(shown.raw, msg.body, 'the original message, byte for byte');
    assert.equal((await radish(['dlq', 'purge'], env)).code, 2);
    assert.equal((await radish(['dlq', 'show', '7'], env)).code, 2);
    const replay = await radish(['dlq', 'replay', '1', '--args', '[1, 2]'], env);
    assert.equal(replay.stdout, 'Replayed tasks.add[dead-1] to celery.\n', replay.stderr);
    assert.equal(await h.redis.llen('radish.dlq'), 0);
    const queued = JSON.parse((await h.redis.lindex('celery', 0))!) as { body: string };
    assert.deepEqual(JSON.parse(Buffer.from(queued.body, 'base64').toString())[0], [1, 2]);
    await app.close();
  });

  it('inspect queues shows depths per priority, and purge empties them', async () => {
    for (const p of ['0', '0', '5', '9']) await radish(['call', 'tasks.add', '--args', '[1, 1]', '--queue', 'reports', '--priority', p], env);
    const table = await radish(['inspect', 'queues'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^reports\s+4\s+2\s+1\s+0\s+1$/m);
    const json = JSON.parse((await radish(['inspect', 'queues', '-Q', 'reports', '--json'], env)).stdout) as { queues: { total: number }[] };
    assert.equal(json.queues[0]!.total, 4);
    const purged = await radish(['purge', '-Q', 'reports', '-f'], env);
    assert.equal(purged.stdout, 'Purged 4 messages from 1 known task queue.\n');
    assert.equal(await h.redis.llen('reports'), 0);
  });
});
