/**
 * `npm run demo` as the README gives it to a new user (the built dist/demo.js): it runs to the end, and the priority
 * task it queues last finishes first. It starts its own throwaway redis-server and stops it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

describe('npm run demo', function () {
  this.timeout(60_000);

  it('runs to the end: priority 0 overtakes the queued priority 9 tasks, and every call gets its result', () => {
    const run = spawnSync(process.execPath, [resolve(__dirname, '../../dist/demo.js')], { encoding: 'utf8', timeout: 50_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const order = /^Completion order.*\n((?: +\d+\..*\n)+)/m.exec(run.stdout);
    assert.ok(order, `no completion order in:\n${run.stdout}`);
    const rows = order[1]!.trim().split('\n');
    assert.match(rows[0]!, /^1\. tasks\.urgent /);
    for (const row of rows) assert.match(row, /\+\d+\.\d\ds$/, `a completion time for every task: ${row}`);
    assert.match(run.stdout, /^Done in /m);
  });
});
