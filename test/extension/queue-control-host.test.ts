/**
 * Runs test/extension/queue-control.suite.ts in a real VS Code host (code-server) on a copy of examples/ts-tasks,
 * against a private redis-server: Pause / Resume Queue on a queue's row and Drain and Stop on a worker's row.
 * Skipped, with the reason, when the host is not installed.
 */
import assert from 'node:assert/strict';
import { startRedis, type TestRedis } from '../support/redis';
import { copyExample, indent, requireHost, runSuite } from './host-run';

describe('queue control in a real VS Code host (code-server)', function () {
  this.timeout(300_000);
  let redis: TestRedis | undefined;

  before(async function () {
    requireHost(this);
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  it('Pause Queue, Resume Queue and Drain and Stop, from the views\' rows', async () => {
    const { code, output } = await runSuite('queue-control', copyExample('ts-tasks'), { REDIS_URL: redis!.url });
    console.log(indent(output));
    assert.equal(code, 0, 'the host suite passed');
  });
});
