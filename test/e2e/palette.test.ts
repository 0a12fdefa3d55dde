/**
 * From the command palette (issue 14, point 13), in the real workbench (code-server + chromium) on a copy of
 * examples/ts-tasks: a task command run without a row picks from the recent tasks instead of asking for a raw id;
 * Set Redis URL asks where to save it instead of writing the project's committed settings unasked; Start Local
 * redis-server says the server is tied to the window, and it is gone once the window closes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Radish } from '../../runner/app';
import { answers } from '../support/net';
import { freePort, startRedis, type TestRedis } from '../support/redis';
import { copyExample, e2e, statusBar, TIMEOUT, type Page, type Workbench } from '../support/workbench';

/** The open quick pick's title, once it shows. */
async function quickTitle(page: Page): Promise<string> {
  const title = page.locator('.quick-input-widget .quick-input-title');
  await title.first().waitFor({ timeout: TIMEOUT });
  return (await title.first().innerText()).trim();
}

describe('from the command palette (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let redis: TestRedis | undefined;
  let workspace: string | undefined;
  let wb: Workbench | undefined;
  let client: Radish | undefined;
  let settingsFile = '';

  before(async function () {
    if (!e2e.hostInstalled()) {
      console.log('      skipped: VS Code host not installed (run setup.sh)');
      this.skip();
    }
    redis = await startRedis();
    workspace = copyExample('ts-tasks');
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    settingsFile = join(workspace, '.vscode', 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ 'radish.redisUrl': redis.url }, null, 2));
    client = new Radish({ broker: redis.url });
    wb = await e2e.openWorkbench({ workspace });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      const shot = await e2e.screenshot(wb.page, 'radish-e2e-palette-failure').catch(() => undefined);
      if (shot) console.log(`      screenshot of the failure: ${shot}`);
    }
  });

  after(async () => {
    await wb?.close();
    await client?.close();
    await redis?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('picks a recent task for a task command instead of asking for its id', async () => {
    const { page } = wb!;
    await e2e.runCommand(page, 'Radish: Start Worker');
    await statusBar(page, /Radish: running/, 60_000);
    const sent = await client!.send('tasks.add', [2, 3]);
    assert.equal(await sent.get({ timeout: 30_000 }), 5);
    await e2e.runCommand(page, 'Radish: Copy as radish call');
    assert.match(await quickTitle(page), /Copy as radish call: which task/);
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: sent.id.slice(0, 8) }).first();
    await row.waitFor({ timeout: TIMEOUT });
    assert.match(await row.innerText(), /tasks\.add/);
    await e2e.screenshot(page, 'radish-pick-task');
    await row.click({ timeout: TIMEOUT });
    await statusBar(page, /copied npx radish call tasks\.add --args '\[2,3\]'/);
  });

  it('asks where to save the Redis URL, and leaves the project settings alone for the user settings', async () => {
    const { page } = wb!;
    const before = readFileSync(settingsFile, 'utf8');
    await e2e.runCommand(page, 'Radish: Set Redis URL...');
    await e2e.typeIntoQuickInput(page, redis!.url);
    assert.match(await quickTitle(page), /Save the Redis URL where/);
    await e2e.pickQuickItem(page, 'User Settings');
    await e2e.waitForNotification(page, /Redis URL saved in your user settings/);
    assert.equal(readFileSync(settingsFile, 'utf8'), before, 'the project settings are untouched');
  });

  it('starts a local redis-server tied to the window, and says so', async () => {
    const { page } = wb!;
    const port = await freePort();
    writeFileSync(settingsFile, JSON.stringify({ 'radish.redisUrl': `redis://127.0.0.1:${port}/0` }, null, 2));
    await e2e.runCommand(page, 'Radish: Start Local redis-server');
    const message = await e2e.waitForNotification(page, new RegExp(`started redis-server on 127\\.0\\.0\\.1:${port}`));
    assert.match(message, /stops when this window closes/);
    assert.equal(await answers(port), true);
    await wb!.close();
    wb = undefined;
    await e2e.retry(`redis-server on ${port} to stop with the window`, 15_000, async () => ((await answers(port)) ? undefined : true));
  });
});
