/**
 * Runs the extension-host suites (test/extension/*.suite.ts, built into out/test/extension) inside a real VS Code
 * host (code-server 4.100.3 + headless chromium, installed by setup.sh), each on a copy of an example project,
 * against a private redis-server. Skipped, with the reason, when the host is not installed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requireCelery } from '../support/celery';
import { startRedis, type TestRedis } from '../support/redis';

const ROOT = resolve(__dirname, '../..');
const RUNNER = join(ROOT, 'test/support/vscode-host/run-ext-tests.js');
// host.js is plain JS (it runs outside the build); only findHost is needed here.
const { findHost } = require('../support/vscode-host/host.js') as { findHost: () => unknown };

function copyExample(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `radish-ws-${name}-`));
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true, filter: (src) => !/__pycache__|node_modules/.test(src) });
  return dir;
}

function runSuite(suite: string, workspace: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [RUNNER, '--dev', ROOT, '--tests', join(ROOT, 'out/test/extension', suite),
      '--workspace', workspace, '--timeout', '240000', '--shot', join(ROOT, 'test-results', `${suite}-host.png`)],
    { env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d; });
    child.stderr.on('data', (d: Buffer) => { output += d; });
    child.on('close', (code) => done({ code, output }));
  });
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
}

describe('extension in a real VS Code host (code-server)', function () {
  this.timeout(300_000);
  let redis: TestRedis;

  before(async function () {
    if (!findHost()) {
      console.log('      skipped: VS Code host not installed (run setup.sh, which installs code-server and chromium)');
      this.skip();
    }
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
