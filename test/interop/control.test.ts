/**
 * Remote control across languages, with Debian's Celery 5.2.6: Python's own `celery control` / `celery inspect` CLI
 * steering a Radish worker of the process pool (enable_events/disable_events as Flower sends them, `inspect active`
 * naming the child that runs a task, pool_grow), and `radish inspect` / `radish control` asking a Python Celery
 * worker, printed as Celery's CLI prints it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { Keys } from '../../runner/broker/keys';
import { decodeEventMessage, type CeleryEvent } from '../../runner/protocol/event';
import { celeryCli, type CeleryWorker, requireCelery, startCeleryWorker } from '../support/celery';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

const CLI = resolve(__dirname, '../../dist/radish.js');
const NODE = 'radish@test';

const TASKS = `
import { existsSync } from 'node:fs';
import { Radish } from 'radish';
export const app = new Radish();
// Runs until the file exists, then answers the pid of the process it ran in.
app.task('tasks.gate', { bind: true }, (task, path: string) => new Promise((resolve) => {
  const timer = setInterval(() => { if (existsSync(path)) { clearInterval(timer); resolve(process.pid); } }, 20);
  task.signal.addEventListener('abort', () => clearInterval(timer));
}));
`;

interface Run { code: number | null; stdout: string; stderr: string }

/** Echo what a CLI printed into the test output, so a reader sees what a user would. */
function show(label: string, run: Run): void {
  console.log(`      ${label} printed:\n${(run.stdout + run.stderr).trimEnd().replace(/^/gm, '        | ')}`);
}

describe('remote control between Radish and Celery 5.2.6', function () {
  this.timeout(120_000);
  let app: Radish;

  before(function () {
    requireCelery(this);
  });
  const h = redisHarness();
  beforeEach(() => {
    app = new Radish({ broker: h.server.url });
    app.task('tasks.gate', () => undefined);
  });
  afterEach(async () => app.close());

  describe('Python\'s `celery` CLI against a Radish worker (-P process, started without -E)', () => {
    let worker: ChildProcess | undefined;
    let log = '';

    beforeEach(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'radish-interop-control-'));
      writeFileSync(join(dir, 'tasks.ts'), TASKS);
      log = '';
      worker = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-P', 'process', '-c', '2', '-n', NODE],
        { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: ['ignore', 'ignore', 'pipe'] });
      worker.stderr!.on('data', (d: Buffer) => { log += d; });
      await until(() => log.includes('ready.'), () => `the worker to start; log:\n${log}`, 20_000);
    });
    afterEach(() => {
      worker?.kill('SIGKILL');
      worker = undefined;
    });

    async function celery(...args: string[]): Promise<Run> {
      const run = await celeryCli(h.server.url, [...args, '-d', NODE, '-t', '5']);
      show(`celery ${args.join(' ')}`, run);
      assert.equal(run.code, 0, run.stderr);
      return run;
    }

    it('`celery control enable_events` turns its events on (a monitor sees them), `disable_events` off', async () => {
      const sub = new Redis(h.server.url);
      const events: CeleryEvent[] = [];
      sub.on('pmessage', (_p: string, _c: string, text: string) => events.push(...decodeEventMessage(text).events));
      await sub.psubscribe(new Keys().eventPattern());
      try {
        const enabled = await celery('control', 'enable_events');
        assert.equal(enabled.stdout, `->  ${NODE}: OK\n        task events enabled\n`);
        await until(() => events.some((e) => e.type === 'worker-online' && e.hostname === NODE), 'worker-online from the Radish worker');
        const gate = join(mkdtempSync(join(tmpdir(), 'radish-gate-')), 'open');
        writeFileSync(gate, '');
        const r = await app.send('tasks.gate', [gate]);
        await r.get({ timeout: 10_000 });
        await until(() => events.some((e) => e.type === 'task-succeeded' && e.uuid === r.id), 'the task\'s events');
        const again = await celery('control', 'enable_events');
        assert.equal(again.stdout, `->  ${NODE}: OK\n        task events already enabled\n`);
        const disabled = await celery('control', 'disable_events');
        assert.equal(disabled.stdout, `->  ${NODE}: OK\n        task events disabled\n`);
        await until(() => events.some((e) => e.type === 'worker-offline' && e.hostname === NODE), 'worker-offline');
      } finally {
        sub.disconnect();
      }
    });

    it('`celery inspect active` names the pool child running the task; `celery control pool_grow` forks another', async () => {
      const gate = join(mkdtempSync(join(tmpdir(), 'radish-gate-')), 'open');
      const r = await app.send('tasks.gate', [gate]);
      let active: Record<string, { id: string; worker_pid: number | null }[]> = {};
      await until(async () => {
        active = JSON.parse((await celeryCli(h.server.url, ['inspect', 'active', '-d', NODE, '-t', '5', '-j'])).stdout) as typeof active;
        return active[NODE]?.[0]?.worker_pid != null;
      }, 'the task to run in a child');
      const pid = active[NODE]![0]!.worker_pid!;
      assert.equal(active[NODE]![0]!.id, r.id);
      assert.notEqual(pid, worker!.pid, 'a child, not the worker process');
      const text = await celery('inspect', 'active');
      assert.match(text.stdout, new RegExp(`^->  ${NODE}: OK\n {4}\\* \\{'id': '${r.id}', 'name': 'tasks\\.gate',.*'worker_pid': ${pid}\\}\n\n1 node online\\.\n$`));
      const stats = JSON.parse((await celery('inspect', 'stats', '-j')).stdout) as Record<string, { pool: { processes: number[] } }>;
      assert.ok(stats[NODE]!.pool.processes.includes(pid), 'one of the pool\'s processes');

      const grown = await celery('control', 'pool_grow', '1');
      assert.equal(grown.stdout, `->  ${NODE}: OK\n        pool will grow\n`);
      await until(async () => {
        const now = JSON.parse((await celeryCli(h.server.url, ['inspect', 'stats', '-d', NODE, '-t', '5', '-j'])).stdout) as Record<string, { pool: { 'max-concurrency': number; processes: number[] } }>;
        return now[NODE]!.pool['max-concurrency'] === 3 && now[NODE]!.pool.processes.length === 3;
      }, 'three children');
      writeFileSync(gate, '');
      assert.equal(await r.get({ timeout: 10_000 }), pid, 'the task ran where inspect said');
    });
  });

  describe('`radish inspect` / `radish control` against a Python Celery worker', () => {
    let celeryWorker: CeleryWorker | undefined;

    before(async () => {
      celeryWorker = await startCeleryWorker(h.server.url, { queues: ['py'], hostname: 'py1@%h' });
    });
    after(async () => celeryWorker?.stop());

    function radish(...args: string[]): Promise<Run> {
      return new Promise((done) => {
        const child = spawn(process.execPath, [CLI, ...args, '-d', celeryWorker!.hostname, '-t', '5'], { env: { ...process.env, RADISH_BROKER_URL: h.server.url } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => { stdout += d; });
        child.stderr.on('data', (d: Buffer) => { stderr += d; });
        child.on('close', (code) => {
          const run = { code, stdout, stderr };
          show(`radish ${args.join(' ')}`, run);
          done(run);
        });
      });
    }

    it('inspect stats prints the node and its stats dict', async () => {
      const run = await radish('inspect', 'stats');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^->  ${celeryWorker!.hostname}: OK\n {4}\\{\n`));
      assert.match(run.stdout, /^ {8}"prefetch_count": 4,$/m);
      assert.match(run.stdout, /^ {12}"max-concurrency": 1,$/m);
      assert.match(run.stdout, new RegExp(`^ {8}"pid": ${celeryWorker!.pid},$`, 'm'));
      assert.match(run.stdout, /\n1 node online\.\n$/);
    });

    it('inspect registered and active_queues print exactly what `celery inspect` prints', async () => {
      for (const method of ['registered', 'active_queues']) {
        const ours = await radish('inspect', method);
        assert.equal(ours.code, 0, ours.stderr);
        const theirs = await celeryCli(h.server.url, ['inspect', method, '-d', celeryWorker!.hostname, '-t', '5']);
        assert.equal(ours.stdout, theirs.stdout, `radish inspect ${method} prints as celery inspect ${method}`);
      }
      const registered = await radish('inspect', 'registered');
      assert.match(registered.stdout, /^ {4}\* tasks\.add$/m);
      const queues = await radish('inspect', 'active_queues');
      assert.match(queues.stdout, /^ {4}\* \{'name': 'py', 'exchange': \{'name': 'py', 'type': 'direct',/m);
    });

    it('control enable_events / disable_events get Celery\'s own replies', async () => {
      const enabled = await radish('control', 'enable_events', '--json');
      assert.deepEqual(JSON.parse(enabled.stdout), { [celeryWorker!.hostname]: { ok: 'task events enabled' } });
      const disabled = await radish('control', 'disable_events', '--json');
      assert.deepEqual(JSON.parse(disabled.stdout), { [celeryWorker!.hostname]: { ok: 'task events disabled' } });
    });
  });
});
