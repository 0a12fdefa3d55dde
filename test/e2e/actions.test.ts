/**
 * Icons and confirmations (issue 14, point 12), as a user sees them in the real workbench (code-server + chromium)
 * on a copy of examples/ts-tasks: the Workers view's stop-like actions look different from each other, Retry All
 * does not look like Start Worker, a task definition's inline action is an icon (not text squeezing the label),
 * and Terminate asks before it kills a running task.
 */
import assert from 'node:assert/strict';
import { e2e, projectWorkbench, rowsOf, statusBar, TIMEOUT, type Locator, type Page } from '../support/workbench';

/** The codicon of an action (`debug-stop`), from its element's classes. */
async function codicons(actions: Locator): Promise<{ label: string; icon: string; text: string }[]> {
  return actions.evaluateAll((els) => els.map((el) => ({
    label: el.getAttribute('aria-label') ?? '',
    icon: /codicon-([\w-]+)/.exec(el.className)?.[1] ?? '',
    text: (el.textContent ?? '').trim(),
  })));
}

/** A view's title-bar actions (shown while the pointer is over the view). */
async function titleActions(page: Page, view: string): Promise<{ label: string; icon: string; text: string }[]> {
  const pane = e2e.viewPane(page, view);
  await pane.hover({ timeout: TIMEOUT });
  const header = page.locator('.pane-header', { hasText: new RegExp(`^${view}`, 'i') }).first();
  return codicons(header.locator('.actions .action-label'));
}

/** A row's inline actions (shown while the pointer is over it). */
async function inlineActions(row: Locator): Promise<{ label: string; icon: string; text: string }[]> {
  await row.hover({ timeout: TIMEOUT });
  return codicons(row.locator('.actions .action-label'));
}

describe('icons and confirmations (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('radish-e2e-actions');

  it('gives different actions different icons, and definitions an icon, not text', async () => {
    const { page } = s;
    await page.locator('.part.activitybar .action-item .action-label[aria-label^="Radish"]').first().click({ timeout: TIMEOUT });
    // The title bars get their actions once the extension has activated (on startup finished), and draw them again
    // when its context keys arrive (Failed's `radish.failedFiltered`): wait for the action drawn with its icon (none
    // at all within the timeout fails, as before).
    const action = (view: string, label: string) => e2e.retry(`"${label}" in the ${view} title bar, with its icon`, TIMEOUT,
      async () => (await titleActions(page, view)).find((a) => a.label.startsWith(label) && a.icon !== ''));
    const start = await action('Workers', 'Start Worker');
    const retryAll = await action('Failed', 'Retry All');
    assert.ok(start?.icon && retryAll?.icon, `both have icons: ${JSON.stringify({ start, retryAll })}`);
    // Start Worker is a play triangle; Retry All must not be one too (run-all is two of them).
    const triangles = ['play', 'run', 'run-all', 'debug-start', 'debug-continue', 'run-above', 'run-below'];
    assert.ok(triangles.includes(start.icon), `Start Worker is a play triangle: ${start.icon}`);
    assert.ok(!triangles.includes(retryAll.icon), `Retry All does not look like Start Worker: ${retryAll.icon}`);

    // A definition's inline Enqueue: an icon, no text.
    await e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'Definitions in this workspace' }).click({ timeout: TIMEOUT });
    const definition = await e2e.treeRow(page, 'Tasks', 'tasks.add');
    const [enqueue] = await inlineActions(definition);
    assert.ok(enqueue?.icon, `the inline action has an icon: ${JSON.stringify(enqueue)}`);
    assert.equal(enqueue.text, '', 'and no text beside the label');
    await e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'Definitions in this workspace' }).click({ timeout: TIMEOUT });

    // The worker running a task: the title's Stop, the worker row's and the task row's actions all look different.
    await e2e.runCommand(page, 'Radish: Start Worker');
    await statusBar(page, /Radish: running/, 60_000);
    await s.client.send('tasks.slow', [60]);
    await page.locator('.pane-header', { hasText: /^Workers/i }).first().hover({ timeout: TIMEOUT });
    await rowsOf(page, 'Workers', 'the local worker running tasks.slow', (rows) => rows.some((r) => r.label === 'Local worker: running' && /1\/4 busy/.test(r.description)));
    const worker = await e2e.treeRow(page, 'Workers', 'Local worker: running');
    // The running task shows under its worker, unasked.
    const task = await e2e.treeRow(page, 'Workers', 'tasks.slow');
    const icons = [
      ...(await titleActions(page, 'Workers')).filter((a) => a.label.startsWith('Stop Worker')),
      ...(await inlineActions(worker)),
      ...(await inlineActions(task)),
    ];
    const byIcon = new Map<string, string[]>();
    for (const a of icons) byIcon.set(a.icon, [...(byIcon.get(a.icon) ?? []), a.label]);
    const shared = [...byIcon].filter(([, labels]) => new Set(labels.map((l) => l.replace(/ \(.*$/, ''))).size > 1);
    assert.deepEqual(shared, [], `one icon, one meaning: ${JSON.stringify(icons)}`);
    await e2e.screenshot(page, 'radish-workers-actions');
  });

  it('asks before Terminate kills a running task; Cancel leaves it running', async () => {
    const { page } = s;
    const task = await e2e.treeRow(page, 'Workers', 'tasks.slow');
    await e2e.rowAction(page, task, 'Terminate Task');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: TIMEOUT });
    assert.match(await dialog.innerText(), /Terminate tasks\.slow\[[0-9a-f]{8}\]/);
    await e2e.screenshot(page, 'radish-terminate-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).first().click({ timeout: TIMEOUT });
    await dialog.waitFor({ state: 'detached', timeout: TIMEOUT });
    // Still running a while later.
    await new Promise((r) => setTimeout(r, 1500));
    await rowsOf(page, 'Workers', 'tasks.slow still running', (rows) => rows.some((r) => r.label === 'tasks.slow'));

    await e2e.rowAction(page, await e2e.treeRow(page, 'Workers', 'tasks.slow'), 'Terminate Task');
    await dialog.waitFor({ timeout: TIMEOUT });
    await dialog.locator('.monaco-button', { hasText: /^Terminate$/ }).first().click({ timeout: TIMEOUT });
    await rowsOf(page, 'Workers', 'tasks.slow gone', (rows) => rows.some((r) => r.label === 'Local worker: running') && !rows.some((r) => r.label === 'tasks.slow'));
  });
});
