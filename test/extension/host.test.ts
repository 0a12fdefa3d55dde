/**
 * Runs the extension-host suites (test/extension/*.suite.ts, built into out/test/extension) inside a real VS Code
 * host (code-server 4.100.3 + headless chromium, installed by setup.sh), each on a copy of an example project,
 * against a private redis-server. Skipped, with the reason, when the host is not installed.
 */
import assert from 'node:assert/strict';
import { requireCelery } from '../support/celery';
import { startRedis, type TestRedis } from '../support/redis';
import { copyExample, indent, requireHost, runSuite } from './host-run';

describe('extension in a real VS Code host (code-server)', function () {
  this.timeout(300_000);
  let redis: TestRedis;

  before(async function () {
    requireHost(this);
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  let tsWorkspace: string | undefined;

  it('TypeScript project: worker, active tasks, terminate, Tasks history, enqueue, Failed view, retry, purge, stop', async () => {
    tsWorkspace = copyExample('ts-tasks');
    const { code, output } = await runSuite('ts-project', tsWorkspace, { REDIS_URL: redis.url });
    console.log(indent(output));
    assert.equal(code, 0, 'the host suite passed');
  });

  it('TypeScript project after a window reload (a new host): the Tasks history is still there', async function () {
    if (!tsWorkspace) this.skip();
    const { code, output } = await runSuite('ts-reload', tsWorkspace!, { REDIS_URL: redis.url });
    console.log(indent(output));
    assert.equal(code, 0, 'the host suite passed');
  });

  it('Django + Celery project: the same, with a real Celery worker', async function () {
    requireCelery(this);
    const { code, output } = await runSuite('django-project', copyExample('django-celery'), { REDIS_URL: redis.url });
    console.log(indent(output));
    assert.equal(code, 0, 'the host suite passed');
  });
});
