/**
 * Failures where the user is looking (issue 14, point 5): the status bar's failure count opens a list of the recent
 * failures with Open and Retry, instead of silently filtering the Tasks view (which may not even be shown); and a
 * filtered Tasks view says so, with a way to clear it. Driven through the real workbench (code-server + chromium) on
 * a copy of examples/ts-tasks, with the local worker started from the palette.
 */
import assert from 'node:assert/strict';
import { TaskFailedError } from '../../runner/protocol/result';
import {
  answerModal, clearNotifications, e2e, modalText, projectWorkbench, rowsOf, statusBar, TIMEOUT, viewMenuAction, type Page,
} from '../support/workbench';

/** The open quick pick's rows (label and description), once one matches `accept`. */
async function quickRows(page: Page, what: string, accept: (text: string) => boolean): Promise<string[]> {
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  return e2e.retry(`the quick pick to list ${what}`, TIMEOUT, async () => {
    const texts = await rows.evaluateAll((els) => els.map((el) => (el.textContent ?? '').trim()));
    return texts.some(accept) ? texts : undefined;
  });
}

describe('failures where the user looks (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('radish-e2e-failures');

  it('the status bar failure count lists the failures, with Open and Retry', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Radish: Start Worker');
    await statusBar(page, /Radish: running/, 60_000);
    const sent = await s.client.send('tasks.fail', ['seven']);
    await assert.rejects(sent.get({ timeout: 30_000 }), TaskFailedError);
    // The count, the same as the Failed view's, then a click on it.
    await statusBar(page, /\d+ active · 1 failed/);
    await page.locator('.part.statusbar .statusbar-item', { hasText: /\d+ active/ }).first().click({ timeout: TIMEOUT });
    await page.locator('.quick-input-widget .quick-input-title', { hasText: /Recent failures/ }).waitFor({ timeout: TIMEOUT });
    const short = sent.id.slice(0, 8);
    const rows = await quickRows(page, 'the failed tasks.fail', (t) => t.includes('tasks.fail') && t.includes(short));
    assert.ok(rows.some((t) => t.includes('ValueError')), `the exception is shown: ${JSON.stringify(rows)}`);
    await e2e.screenshot(page, 'radish-failures-pick');

    // Retry, from the row's button: a new task, announced as an enqueue is, linked to the failed one.
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: short }).first();
    await row.hover({ timeout: TIMEOUT });
    await row.locator('.action-label[aria-label="Retry"]').first().click({ timeout: TIMEOUT });
    const retried = await e2e.waitForNotification(page, new RegExp(`tasks\\.fail\\[[0-9a-f]{8}\\] \\(retry of ${short}\\) failed: ValueError`));
    const newShort = /tasks\.fail\[([0-9a-f]{8})\]/.exec(retried)![1]!;
    assert.notEqual(newShort, short, 'the retry is a new task');
    await clearNotifications(page);

    // Choosing a failure opens it.
    await page.locator('.part.statusbar .statusbar-item', { hasText: /\d+ active/ }).first().click({ timeout: TIMEOUT });
    await quickRows(page, 'the failed tasks.fail', (t) => t.includes(short));
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: short }).first().click({ timeout: TIMEOUT });
    await page.locator('.tabs-container .tab', { hasText: `tasks.fail` }).first().waitFor({ timeout: TIMEOUT });
    // The Tasks view was not filtered behind the user's back.
    await e2e.focusView(page, 'Tasks');
    await rowsOf(page, 'Tasks', 'no filter row', (r) => r.some((x) => x.label === 'Definitions in this workspace') && !r.some((x) => x.label.startsWith('Filtered')));
  });

  it('a filtered Tasks view says so, and one click clears the filter', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Radish: Filter Tasks...');
    await e2e.typeIntoQuickInput(page, 'state:FAILURE');
    const filtered = await rowsOf(page, 'Tasks', 'the filter row', (r) => r.some((x) => x.label === 'Filtered: state:FAILURE'));
    assert.ok(filtered.every((r) => !['SUCCESS', 'STARTED', 'RECEIVED'].some((s) => r.description.startsWith(s))), JSON.stringify(filtered));
    await e2e.screenshot(page, 'radish-tasks-filtered');
    await e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'Filtered: state:FAILURE' }).first().click({ timeout: TIMEOUT });
    await rowsOf(page, 'Tasks', 'the filter gone', (r) => r.length > 0 && !r.some((x) => x.label.startsWith('Filtered')));
  });

  it('counts what the Failed view lists, and clears when the failures are discarded', async () => {
    const { page } = s;
    // The retry of tasks.fail failed again: the failed attempt left the Failed view when it was retried, so one
    // failed task, in the view and in the status bar alike.
    const item = page.locator('.part.statusbar .statusbar-item', { hasText: /\d+ active/ }).first();
    await statusBar(page, /\d+ active · 1 failed/);
    assert.match(await item.getAttribute('class') ?? '', /warning-kind/, 'amber while there are failures');
    await e2e.focusView(page, 'Failed');
    await rowsOf(page, 'Failed', 'the retry that failed', (r) => r.length === 1 && r[0]?.label === 'tasks.fail');
    await viewMenuAction(page, 'Failed', 'Discard All Failed Tasks...');
    assert.match(await modalText(page), /Discard all 1 failed task\?/);
    await answerModal(page, 'Discard All');
    await statusBar(page, /\d+ active · 0 failed/);
    assert.doesNotMatch(await item.getAttribute('class') ?? '', /warning-kind/, 'no longer amber');
  });
});
