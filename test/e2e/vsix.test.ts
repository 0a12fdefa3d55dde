/**
 * The packaged extension, as a user installs it: `npm run package`'s VSIX, installed with
 * `code-server --install-extension` into a fresh extensions folder, loaded by a workbench with no development
 * extension at all, activated from the palette and working (the Queues view lists the test Redis's queue).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { Radish } from '../../runner/app';
import * as e2e from '../support/vscode-host/e2e';
import { startRedis, type TestRedis } from '../support/redis';

const ROOT = resolve(__dirname, '../..');

/** The parts of host.js (plain JS, no types of its own) this test uses. */
interface Host {
  findHost(): { codeServer: string } | null;
  startCodeServer(options: { workspace?: string; settings?: Record<string, unknown> }): Promise<{
    runDir: string; url(): string; stop(): Promise<void>;
  }>;
  launchChromium(runDir: string): Promise<BrowserContext>;
}
const host = require('../support/vscode-host/host.js') as Host;

describe('the VSIX (npm run package) installs and activates in code-server', function () {
  this.timeout(300_000);
  let redis: TestRedis;

  before(async function () {
    if (!host.findHost()) {
      console.log('      skipped: VS Code host not installed (run setup.sh)');
      this.skip();
    }
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  it('packages, installs, activates and shows the queues', async () => {
    const out = mkdtempSync(join(tmpdir(), 'radish-vsix-'));
    const vsix = join(out, 'radish.vsix');
    execFileSync(process.execPath, [join(ROOT, 'node_modules/@vscode/vsce/vsce'), 'package', '--out', vsix], { cwd: ROOT, stdio: 'pipe' });
    console.log(`      VSIX: ${(statSync(vsix).size / 1024 / 1024).toFixed(2)} MB`);

    const app = new Radish({ broker: redis.url });
    await app.send('tasks.add', [1, 2], {}, { queue: 'from-the-vsix' });
    await app.close();

    const server = await host.startCodeServer({ settings: { 'radish.redisUrl': redis.url } });
    let browser: BrowserContext | undefined;
    try {
      // The server's own extensions folder: installed before the workbench (and its extension host) starts.
      execFileSync(host.findHost()!.codeServer, ['--extensions-dir', join(server.runDir, 'extensions'), '--install-extension', vsix],
        { env: { ...process.env, XDG_CONFIG_HOME: join(server.runDir, 'xdg-config'), XDG_DATA_HOME: join(server.runDir, 'xdg-data') }, stdio: 'pipe' });
      browser = await host.launchChromium(server.runDir);
      const page = browser.pages()[0] ?? await browser.newPage();
      await page.goto(server.url());
      await e2e.runCommand(page, 'Radish: Refresh', { timeout: 90_000 });
      await e2e.focusView(page, 'Queues', { timeout: 60_000 });
      const rows = await e2e.treeRows(page, 'Queues', { min: 1, timeout: 60_000 });
      assert.ok(rows.some((r) => r.includes('from-the-vsix')), `Queues view lists the queue: ${JSON.stringify(rows)}`);
      await e2e.screenshot(page, 'radish-vsix-installed');
    } finally {
      await browser?.close();
      await server.stop();
    }
  });
});
