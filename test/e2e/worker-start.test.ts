/**
 * A worker that cannot start, as a user meets it in the real workbench (code-server in headless chromium): the
 * toast names the real cause and offers the next step. A task module whose import is missing (the cause at error
 * level in the log, and a link to the import's line), an empty folder (no task module: create one, or say where it
 * is), an untrusted folder (no Start Worker offered; invoked anyway, the refusal offers Manage Workspace Trust).
 * Screenshots go to test-results/worker-start-*.png. Skipped, with the reason, when the VS Code host is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  clearNotifications, clickToastButton, e2e, projectWorkbench, statusBar, TIMEOUT, toast, toastButtons, toastsSettled,
  type Page,
} from '../support/workbench';

/** The line number and column the editor's status bar shows for the cursor ("Ln 9, Col 1"). */
async function cursor(page: Page): Promise<string> {
  return statusBar(page, /Ln \d+, Col \d+/);
}

/** The text the panel's editor (the Output panel) shows, once it contains `contains`. */
async function panelText(page: Page, contains: string): Promise<string> {
  const lines = page.locator('.part.panel .monaco-editor .view-lines').first();
  return e2e.retry(`the panel to show ${contains}`, TIMEOUT, async () => {
    // Monaco renders spaces as no-break spaces.
    const text = (await lines.innerText()).replace(/\u00a0/g, ' ');
    return text.includes(contains) ? text : undefined;
  });
}

/** The title of the active editor tab. */
async function activeTab(page: Page, title: string | RegExp): Promise<void> {
  await page.locator('.part.editor .tab.active', { hasText: title }).first().waitFor({ timeout: TIMEOUT });
}

describe('Starting the worker: what a user sees when it cannot start (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('worker-start', { open: false });

  it('a missing import in the task module: the toast names it, the log has it at error level, Open goes to the import', async () => {
    let importLine = 0;
    const page = await s.openWorkspace({
      beforeOpen: async (_url, workspace) => {
        const tasksPath = join(workspace, 'tasks.ts');
        const lines = readFileSync(tasksPath, 'utf8').split('\n');
        const radishImport = lines.findIndex((l) => l.startsWith('import { Radish'));
        assert.ok(radishImport > 0, 'the example imports radish');
        // Used, so the import is not elided as a type-only one.
        lines.splice(radishImport + 1, 0, "import { helper } from './helpers';");
        lines.push('export const usesHelper = helper;', '');
        writeFileSync(tasksPath, lines.join('\n'));
        importLine = radishImport + 2;
      },
    });
    await e2e.runCommand(page, 'Radish: Start Worker');
    const failed = await toast(page, /Cannot find module '\.\/helpers'/, 60_000);
    const text = await failed.locator('.notification-list-item-message').innerText();
    assert.equal(text.trim(), `Radish worker cannot start: Cannot find module './helpers' (imported from tasks.ts:${importLine})`);
    assert.deepEqual(await toastButtons(failed), ['Show Log', `Open tasks.ts:${importLine}`]);
    await toastsSettled(page);
    await e2e.screenshot(page, 'worker-start-missing-import');

    await clickToastButton(failed, 'Show Log');
    // The Output panel shows the worker's channel with the cause in it.
    const shown = await panelText(page, "Cannot find module './helpers'");
    assert.match(shown, /Starting: .*radish\.js worker -A tasks\.ts/, 'the worker\'s own channel');
    assert.doesNotMatch(shown, /cannot find task module/);
    const log = e2e.readOutputLog(s.wb, 'Radish Worker');
    assert.match(log, new RegExp(`\\[error\\] radish: Cannot find module '\\./helpers' \\(imported from tasks\\.ts:${importLine}\\)`), `the cause at error level:\n${log}`);
    assert.match(log, /\[error\] Worker exited before it was ready \(exit code 1\)/, `the exit at error level:\n${log}`);
    assert.doesNotMatch(log, /\[(warning|info)\] radish: Cannot find module/);
    await e2e.screenshot(page, 'worker-start-missing-import-log');

    // Again, and this time the link: the editor opens the importing file at the import.
    await clearNotifications(page);
    await e2e.runCommand(page, 'Radish: Start Worker');
    const again = await toast(page, /Cannot find module '\.\/helpers'/, 60_000);
    await clickToastButton(again, `Open tasks.ts:${importLine}`);
    await activeTab(page, /^\s*tasks\.ts/);
    assert.match(await cursor(page), new RegExp(`^Ln ${importLine}, Col \\d+`));
    await page.locator('.part.editor .monaco-editor .view-line', { hasText: "import { helper } from './helpers';" }).first().waitFor({ timeout: TIMEOUT });
    await e2e.screenshot(page, 'worker-start-missing-import-open');
  });

  it('an empty folder: the toast says so in plain text, and Create tasks.ts gives a task module the worker runs', async () => {
    const page = await s.openWorkspace({ example: false });

    await e2e.runCommand(page, 'Radish: Start Worker');
    const none = await toast(page, /No task module/, 60_000);
    const text = (await none.locator('.notification-list-item-message').innerText()).trim();
    assert.doesNotMatch(text, /`/, `no markdown backticks: ${text}`);
    assert.deepEqual(await toastButtons(none), ['Create tasks.ts', 'Open Settings']);
    await toastsSettled(page);
    await e2e.screenshot(page, 'worker-start-empty-folder');

    // Open Settings lands on the setting that names the task module.
    await clickToastButton(none, 'Open Settings');
    await page.locator('.settings-editor .setting-item-contents', { hasText: /Worker: App/ }).first().waitFor({ timeout: TIMEOUT });
    await e2e.screenshot(page, 'worker-start-empty-folder-settings');

    await e2e.runCommand(page, 'Radish: Start Worker');
    const again = await toast(page, /No task module/, 60_000);
    await clickToastButton(again, 'Create tasks.ts');
    await activeTab(page, /^\s*tasks\.ts/);
    assert.ok(existsSync(join(s.workspace, 'tasks.ts')), 'tasks.ts written into the folder');
    const created = await toast(page, /Created tasks\.ts/);
    assert.deepEqual(await toastButtons(created), ['Start Worker']);
    await toastsSettled(page);
    await e2e.screenshot(page, 'worker-start-empty-folder-created');
    await clickToastButton(created, 'Start Worker');
    assert.match(await statusBar(page, /Radish: running/, 60_000), /Radish: running/);
    await e2e.runCommand(page, 'Radish: Stop Worker');
    await statusBar(page, /Radish: stopped/, 30_000);
  });

  it('an untrusted folder: no Start Worker in the Workers view; from the palette the refusal offers Manage Workspace Trust', async () => {
    const page = await s.openWorkspace({
      userSettings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'never' },
    });

    const pane = await e2e.focusView(page, 'Workers');
    // The extension is up (its row is there), so the title bar shows what it offers.
    await e2e.treeRow(page, 'Workers', 'Local worker: stopped', { timeout: 60_000 });
    const header = pane.locator('.pane-header');
    await header.hover({ timeout: TIMEOUT });
    // The view's other title action is there (so the title bar has rendered); Start Worker is not.
    await header.locator('.actions .action-label[aria-label^="Show Worker Log"]').first().waitFor({ timeout: TIMEOUT });
    assert.equal(await header.locator('.actions .action-label[aria-label^="Start Worker"]').count(), 0, 'Start Worker is not offered');
    await e2e.screenshot(page, 'worker-start-untrusted-view');

    await e2e.runCommand(page, 'Radish: Start Worker');
    const refused = await toast(page, /not trusted/, 60_000);
    assert.deepEqual(await toastButtons(refused), ['Manage Workspace Trust']);
    await toastsSettled(page);
    await e2e.screenshot(page, 'worker-start-untrusted-refusal');
    await clickToastButton(refused, 'Manage Workspace Trust');
    await activeTab(page, /Workspace Trust/);
    await e2e.screenshot(page, 'worker-start-untrusted-manage');

    // Trusted from there, the Workers view offers Start Worker again.
    await page.locator('.workspace-trust-editor .monaco-button', { hasText: /^\s*Trust\s*$/ }).first().click({ timeout: TIMEOUT });
    await e2e.retry('Start Worker in the Workers view once trusted', TIMEOUT, async () => {
      await header.hover({ timeout: TIMEOUT });
      return (await header.locator('.actions .action-label[aria-label^="Start Worker"]').count()) === 1 || undefined;
    });
  });
});
