/** The benchmark is not a test: this only checks that `npm run bench -- --quick` runs to the end. No timing asserted. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

describe('bench --quick', function () {
  this.timeout(180_000);

  it('runs and prints its table', () => {
    const run = spawnSync(process.execPath, [resolve(__dirname, '../../dist/bench.js'), '--quick'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^system\s+enqueue\/s\s+bulk\/s\s+drain\/s/m);
    assert.match(run.stdout, /^radish\s+[\d,]+\s+[\d,]+\s+[\d,]+/m);
  });
});
