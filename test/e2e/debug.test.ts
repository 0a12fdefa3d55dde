/**
 * The text of the editor line the debugger is paused on (under the top-stack-frame decoration), by its letters: read
 * in the editor that holds the decoration, by the decoration's and the lines' offsets in that editor, and read again
 * until the line is drawn (the decoration can come a frame before the line's text, or while the editor scrolls).
 */
async function pausedLine(page: Page, expected: string): Promise<string> {
  const marker = page.locator('.monaco-editor .debug-top-stack-frame-line').first();
  await marker.waitFor({ timeout: 60_000 });
  let seen = '';
  await e2e.retry(`the paused line to read ${expected}`, 15_000, async () => {
    seen = await marker.evaluateAll((els) => {
      const el = els[0]!;
      const editor = el.closest('.monaco-editor');
      const top = el.getBoundingClientRect().y;
      const lines = Array.from(editor?.querySelectorAll('.view-line') ?? []).map((l) => ({ y: l.getBoundingClientRect().y, text: l.textContent ?? '' }));
      return lines.find((l) => Math.abs(l.y - top) < 3)?.text ?? '';
    }).catch(() => '');
    // (The editor renders the line in spans with its own spacing characters: compared by its letters.)
    seen = seen.replace(/[^A-Za-z]/g, '');
    return seen === expected ? true : undefined;
  }).catch(() => undefined);
  return seen;
}

/**
 * Debug a task as a user does it, in the real workbench (code-server + chromium, with VS Code's built-in JavaScript
 * debugger): a breakpoint toggled with F9 on a line of a task in examples/ts-tasks, a click on the task's "Debug"
 * CodeLens, its args typed; the debugger stops on that line, the Variables view shows the args, the Workers view
 * says the local worker is debugging; Continue (F5), and the result's notification comes. The screenshot of the
 * paused debugger is the README's (test-results/radish-debug-paused.png).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskPage } from '../support/webview';
import { clickEditorText, e2e, openFile, projectWorkbench, rowsOf, showRadish, TIMEOUT, type Page } from '../support/workbench';

describe('debug a task from its CodeLens (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('radish-debug', { showRadish: true });

  it('stops at the breakpoint in the task with its args, and Continue delivers the result', async () => {
    const page: Page = s.page;
    await openFile(page, 'tasks.ts');
    // The lenses first: they push the lines down as they come, and a click before them would land above its line.
    const lens = page.locator('.contentWidgets .codelens-decoration a[title*="images.thumbnail"]', { hasText: /Debug/ }).first();
    await lens.waitFor({ timeout: TIMEOUT });
    // A breakpoint on a line of images.thumbnail, as a user sets one: the cursor there, F9.
    await clickEditorText(page, 'const height = Math.round');
    await page.keyboard.press('F9');
    await page.locator('.monaco-editor .codicon-debug-breakpoint').first().waitFor({ timeout: TIMEOUT });
    const line = readFileSync(join(s.workspace, 'tasks.ts'), 'utf8').split('\n').findIndex((l) => l.includes('const height = Math.round')) + 1;
    assert.match(await page.locator('.part.statusbar').innerText(), new RegExp(`Ln ${line},`), 'the cursor (and the breakpoint) on the line');
    await lens.click();
    // No args were used for images.thumbnail yet and it has a required parameter: it asks, as Enqueue does.
    await page.locator('.quick-input-widget .quick-input-title', { hasText: /images\.thumbnail.*args/ }).first().waitFor({ timeout: 60_000 });
    await e2e.typeIntoQuickInput(page, '["https://example.com/cat.jpg", 64]');

    // Paused on the line: the debug toolbar, the line marked as the top stack frame, the args in Variables.
    await page.locator('.debug-toolbar').waitFor({ timeout: 60_000 });
    assert.equal(await pausedLine(page, 'constheightMathroundwidth'), 'constheightMathroundwidth');
    const variables = e2e.viewPane(page, 'Variables');
    // The args are the function's locals (the Block scope above them holds `height`): expand Local.
    await variables.locator('.monaco-list-row', { hasText: /^Local$/ }).first().click({ timeout: TIMEOUT });
    await e2e.retry('the args in the Variables view', TIMEOUT, async () => {
      const text = await variables.innerText().catch(() => '');
      return /url\s*=\s*'https:\/\/example\.com\/cat/.test(text) && /width\s*=\s*64\b/.test(text) ? true : undefined;
    });
    await page.locator('.debug-toolbar').hover({ timeout: TIMEOUT });
    await e2e.screenshot(page, 'radish-debug-paused');
    await showRadish(page);
    await rowsOf(page, 'Workers', 'the local worker debugging', (rows) => rows.some((r) => r.label === 'Local worker: debugging'));

    await page.keyboard.press('F5');
    await e2e.waitForNotification(page, /images\.thumbnail.*succeeded/, { timeout: 60_000 });
    await page.locator('.monaco-editor .debug-top-stack-frame-line').first().waitFor({ state: 'detached', timeout: TIMEOUT });
  });

  it('Debug in a failed task\'s view sends it again, linked, into the worker under the debugger', async () => {
    const page: Page = s.page;
    const failed = await s.client.send('tasks.fail', ['seven']);
    await failed.get({ timeout: 30_000 }).catch(() => undefined);
    await showRadish(page);
    const row = await e2e.treeRow(page, 'Failed', 'tasks.fail');
    await row.click({ timeout: TIMEOUT, position: { x: 60, y: 10 } });
    const view = taskPage(page);
    await view.locator('button', { hasText: /^Debug$/ }).first().click({ timeout: 60_000 });
    // Sent again as a new task linked to this one, to the worker still under the debugger (no breakpoint in
    // tasks.fail: it fails again).
    await e2e.retry('the task view to say it was retried', 60_000, async () => (/Retried as tasks\.fail\[/.test(await view.locator('main#task').innerText({ timeout: 2000 }).catch(() => '')) ? true : undefined));
    await rowsOf(page, 'Workers', 'the local worker still debugging', (rows) => rows.some((r) => r.label === 'Local worker: debugging'));
  });
});
