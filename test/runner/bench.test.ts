/**
 * The benchmark is not a test: this only checks that `npm run bench -- --quick` runs to the end and reports what it
 * should. No timing asserted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

describe('bench --quick', function () {
  this.timeout(180_000);

  it('runs and prints its table, each peer measured or skipped with a reason, and the targets', () => {
    const run = spawnSync(process.execPath, [resolve(__dirname, '../../dist/bench.js'), '--quick'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^system\s+enqueue\/s\s+bulk\/s\s+drain\/s\s+p50 ms\s+p99 ms$/m);
    assert.match(run.stdout, /^radish\s+[\d,]+\s+[\d,]+\s+[\d,]+/m);
    for (const peer of ['baseline', 'bullmq', 'bee-queue', 'celery-node', 'celery']) {
      const row = new RegExp(`^${peer}\\s+[\\d,]+\\s+`, 'm');
      const skipped = new RegExp(`^skipped ${peer}: \\S`, 'm');
      assert.ok(row.test(run.stdout) || skipped.test(run.stdout), `${peer}: neither a row nor a skip reason in\n${run.stdout}`);
    }
    assert.match(run.stdout, /^Radish \/ peer/m);
    assert.match(run.stdout, /^Radish worker memory/m);
    assert.match(run.stdout, /^Queues view/m);
    assert.match(run.stdout, /^Radish scaling: .*reduced matrix/m);
    assert.match(run.stdout, /^Radish vs targets$/m);
    const json = JSON.parse(readFileSync(resolve(__dirname, '../../test-results/bench.json'), 'utf8')) as {
      mode: string; targets: unknown[]; systems: Record<string, { runs: { cpu?: { total: number; redis: number } }[] }>;
    };
    assert.equal(json.mode, 'quick');
    assert.ok(json.targets.length > 0);
    if (process.platform === 'linux') {
      // Each drain's CPU is read from /proc: the machine's includes the worker's and Redis's, so it is the larger.
      assert.match(run.stdout, /^Drain CPU per task/m);
      assert.match(run.stdout, /^radish\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d,]+\s+\d+%$/m);
      const cpu = json.systems.radish!.runs[0]!.cpu!;
      assert.ok(cpu.redis > 0 && cpu.total > cpu.redis, JSON.stringify(cpu));
    }
  });
});
