/**
 * Runs test/extension/schedules.suite.ts in a real VS Code host (code-server) on a copy of examples/ts-tasks, with the
 * Django example's settings.py beside it (django-shop/settings.py, for its CELERY_BEAT_SCHEDULE), against a private
 * redis-server where a real `radish beat -A tasks.ts` runs. Skipped, with the reason, when the host is not installed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startRedis, type TestRedis } from '../support/redis';
import { until } from '../support/wait';
import { copyExample, indent, requireHost, runSuite } from './host-run';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/radish.js');

describe('Schedules view in a real VS Code host (code-server)', function () {
  this.timeout(300_000);
  let redis: TestRedis | undefined;
  let beat: ChildProcess | undefined;
  let log = '';

  before(async function () {
    requireHost(this);
    redis = await startRedis();
  });
  after(async () => {
    if (beat && beat.exitCode === null) {
      const exited = new Promise((r) => beat!.once('close', r));
      beat.kill('SIGTERM');
      await exited;
    }
    await redis?.stop();
  });

  it('radish beat\'s schedule with next run, Pause/Resume, Run Now; the Django example\'s beat_schedule', async () => {
    const workspace = copyExample('ts-tasks');
    mkdirSync(join(workspace, 'django-shop'));
    copyFileSync(join(ROOT, 'examples/django-celery/shop/settings.py'), join(workspace, 'django-shop', 'settings.py'));
    // A schedule that ticks within the suite (the example's first tick comes 30 s after start), for Run Now to be
    // checked against a real last run.
    appendFileSync(join(workspace, 'tasks.ts'), "\napp.schedule('add-every-2s', { task: 'tasks.add', every: 2, args: [2, 3] });\n");
    beat = spawn(process.execPath, [CLI, 'beat', '-A', join(workspace, 'tasks.ts'), '--broker', redis!.url, '-l', 'info'], { cwd: workspace });
    beat.stderr!.on('data', (d: Buffer) => { log += d; });
    await until(() => /this scheduler is active/.test(log), () => `radish beat active; its log:\n${log}`, 15_000);
    const { code, output } = await runSuite('schedules', workspace, { REDIS_URL: redis!.url });
    console.log(indent(output));
    assert.equal(code, 0, `the host suite passed; radish beat's log:\n${log}`);
  });
});
