/**
 * From the command palette (issue 14, point 13), in the real workbench (code-server + chromium) on a copy of
 * examples/ts-tasks: a task command run without a row picks from the recent tasks instead of asking for a raw id;
 * Set Broker URL asks where to save it instead of writing the project's committed settings unasked; Start Local
 * redis-server says the server is tied to the window, and it is gone once the window closes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { answers } from '../support/net';
import { freePort } from '../support/redis';
import { answerStep, e2e, projectWorkbench, rowsOf, statusBar, TIMEOUT, type Page } from '../support/workbench';

/** The quick input's title, once it is one that matches `expected` (the previous step's may still show a moment). */
async function quickTitle(page: Page, expected: RegExp): Promise<string> {
  const title = page.locator('.quick-input-widget .quick-input-title', { hasText: expected }).first();
  await title.waitFor({ timeout: TIMEOUT });
  return (await title.innerText()).trim();
}

describe('from the command palette (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('radish-e2e-palette');

  it('proposes the queue the project routes a task to', async () => {
    const { page } = s;
    // examples/ts-tasks: new Radish({ routes: { 'reports.*': 'reports' } }), once its sources are scanned.
    await e2e.focusView(page, 'Tasks');
    await rowsOf(page, 'Tasks', 'the definitions found', (rows) => rows.some((r) => r.label === 'Definitions in this workspace' && Number(r.description) >= 5));
    await e2e.runCommand(page, 'Radish: Enqueue Task...');
    await e2e.pickQuickItem(page, 'reports.build');
    await answerStep(page, /Enqueue reports\.build \(2\/4\): args/, '["daily"]');
    await answerStep(page, /Enqueue reports\.build \(3\/4\): kwargs/);
    assert.equal(await answerStep(page, /Enqueue reports\.build \(4\/4\): queue, priority, countdown/), 'reports 0 0');
    await e2e.retry('reports.build waiting in reports', TIMEOUT, async () =>
      ((await (await s.client.broker()).depths(['reports']))[0]?.total === 1 ? true : undefined));
  });

  it('picks a recent task for a task command instead of asking for its id', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Radish: Start Worker');
    await statusBar(page, /Radish: running/, 60_000);
    const sent = await s.client.send('tasks.add', [2, 3]);
    assert.equal(await sent.get({ timeout: 30_000 }), 5);
    await e2e.runCommand(page, 'Radish: Copy as CLI Command');
    assert.match(await quickTitle(page, /which task/), /Copy as CLI Command: which task/);
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: sent.id.slice(0, 8) }).first();
    await row.waitFor({ timeout: TIMEOUT });
    assert.match(await row.innerText(), /tasks\.add/);
    await e2e.screenshot(page, 'radish-pick-task');
    await row.click({ timeout: TIMEOUT });
    await statusBar(page, /copied npx radish call tasks\.add --args '\[2,3\]'/);
  });

  it('asks where to save the broker URL, and leaves the project settings alone for the user settings', async () => {
    const { page } = s;
    const before = readFileSync(s.settingsFile, 'utf8');
    await e2e.runCommand(page, 'Radish: Set Broker URL...');
    await e2e.typeIntoQuickInput(page, s.redis.url);
    assert.match(await quickTitle(page, /where\?/), /Save the broker URL where/);
    await e2e.pickQuickItem(page, 'User Settings');
    await e2e.waitForNotification(page, /broker URL saved in your user settings/);
    assert.equal(readFileSync(s.settingsFile, 'utf8'), before, 'the project settings are untouched');
  });

  it('starts a local redis-server tied to the window, and says so', async () => {
    const { page } = s;
    const port = await freePort();
    // As a user does it: the URL first (into the workspace settings), then the server.
    await e2e.runCommand(page, 'Radish: Set Broker URL...');
    await e2e.typeIntoQuickInput(page, `redis://127.0.0.1:${port}/0`);
    await e2e.pickQuickItem(page, 'Workspace Settings');
    await e2e.waitForNotification(page, /broker URL saved in the workspace settings/);
    assert.match(readFileSync(s.settingsFile, 'utf8'), new RegExp(`127\\.0\\.0\\.1:${port}`));
    await e2e.runCommand(page, 'Radish: Start Local Redis Server');
    const message = await e2e.waitForNotification(page, new RegExp(`started redis-server on 127\\.0\\.0\\.1:${port}`));
    assert.match(message, /stops when this window closes/);
    assert.equal(await answers(port), true);
    await s.closeWorkbench();
    await e2e.retry(`redis-server on ${port} to stop with the window`, 15_000, async () => ((await answers(port)) ? undefined : true));
  });
});
