/**
 * The task view (issue 14: "a task view worth opening", and point 4: retries that say what they did), in the real
 * workbench (code-server + chromium) on a copy of examples/ts-tasks: a failed task opened from the Failed view shows
 * its timeline, args, exception and the user's frame as a link (runner frames folded); Retry with Edited Args
 * validates the JSON inline, sends a new task announced as Enqueue is, and links the two attempts both ways; a
 * running task's view updates by itself; the Python call is one click from the clipboard.
 */
import assert from 'node:assert/strict';
import { TaskFailedError } from '../../runner/index';
import { clearNotifications, clickToastButton, e2e, projectWorkbench, rowsOf, settledRowsOf, statusBar, TIMEOUT, toast, type Page } from '../support/workbench';
import { taskPage } from '../support/webview';

/** The task view's text once it matches `expected`. */
async function viewText(page: Page, expected: RegExp, timeout = TIMEOUT): Promise<string> {
  const main = taskPage(page).locator('main#task');
  let last = '';
  return e2e.retry(`the task view to show ${expected}`, timeout, async () => {
    last = await main.innerText({ timeout: 2000 }).catch(() => '');
    return expected.test(last) ? last : undefined;
  }).catch((err: Error) => { throw new Error(`${err.message}; it shows:\n${last}`); });
}

/** Where a row is clicked: on its label, left of the inline actions that show at its right end on hover. */
const ON_LABEL = { x: 60, y: 10 };

async function activeTab(page: Page, label: RegExp): Promise<void> {
  await page.locator('.tabs-container .tab.active', { hasText: label }).first().waitFor({ timeout: TIMEOUT });
}

describe('the task view (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('radish-e2e-task-view', { showRadish: true, settings: { 'radish.refreshInterval': 600 } });

  before(async function () {
    if (!e2e.hostInstalled()) return;
    await e2e.runCommand(s.page, 'Radish: Start Worker');
    await statusBar(s.page, /Radish: running/, 60_000);
  });

  it('shows a failed task: timeline, args, the exception with the user\'s frame linked and runner frames folded', async () => {
    const { page } = s;
    const sent = await s.client.send('tasks.fail', ['seven']);
    await assert.rejects(sent.get({ timeout: 30_000 }), TaskFailedError);
    const short = sent.id.slice(0, 8);
    await e2e.viewAction(page, 'Failed', 'Refresh');
    await settledRowsOf(page, 'Failed', 'the failed task', (r) => r.some((x) => x.label === 'tasks.fail'));
    await e2e.viewPane(page, 'Failed').locator('.monaco-list-row', { hasText: 'tasks.fail' }).first().click({ timeout: TIMEOUT, position: ON_LABEL });
    await activeTab(page, new RegExp(`tasks\\.fail\\[${short}\\]`));
    const text = await viewText(page, /dead-lettered/);
    assert.match(text, /tasks\.fail\s+FAILURE/);
    assert.ok(text.includes(sent.id), 'the full id');
    assert.match(text, /ValueError: invalid literal for int\(\): "seven"/);
    for (const step of [/received by /, /started on /, /failed: ValueError/, /dead-lettered: failed: ValueError/]) assert.match(text, step);
    assert.match(text, /Args\s+\[\s+"seven"\s+\]\s+from the stored result/);
    const view = taskPage(page);
    const frame = view.locator('a.frame', { hasText: 'tasks.ts:49' });
    assert.equal(await frame.count(), 1, 'the frame in tasks.ts is a link');
    assert.ok(await view.locator('details.runner-frames').count() >= 1, 'runner frames are folded');
    assert.equal(await view.locator('button', { hasText: /^Revoke$/ }).isDisabled(), true, 'a finished task cannot be revoked');
    await e2e.screenshot(page, 'radish-task-view-failed');

    // The Python call, one click away.
    await view.locator('button', { hasText: 'Copy as Python send_task' }).click({ timeout: TIMEOUT });
    await page.locator('.part.statusbar', { hasText: `copied app.send_task('tasks.fail', args=['seven'], kwargs={}, queue='celery')` }).first().waitFor({ timeout: TIMEOUT });

    // The frame opens the task module at the line that threw.
    await frame.click({ timeout: TIMEOUT });
    await activeTab(page, /^tasks\.ts/);
    await page.locator('.part.statusbar .statusbar-item', { hasText: /Ln 49, Col \d+/ }).first().waitFor({ timeout: TIMEOUT });

    // The same task from the Tasks view (on screen in the sidebar: clicked as it is, no palette in between) is the
    // same tab, not a second one with the same title.
    await settledRowsOf(page, 'Tasks', 'the failed task', (r) => r.some((x) => x.label === 'tasks.fail'));
    await e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'tasks.fail' }).first().click({ timeout: TIMEOUT, position: ON_LABEL });
    await activeTab(page, new RegExp(`tasks\\.fail\\[${short}\\]`));
    assert.equal(await page.locator('.tabs-container .tab', { hasText: `tasks.fail[${short}]` }).count(), 1, 'one tab per task');
    await viewText(page, /dead-lettered/);
  });

  it('Retry with Edited Args: checks the JSON as it is typed, sends a new task, announces it and links both attempts', async () => {
    const { page } = s;
    const sent = await s.client.send('tasks.add', [1], { bogus: 1 });
    await assert.rejects(sent.get({ timeout: 30_000 }), /unexpected keyword argument 'bogus'/);
    const short = sent.id.slice(0, 8);
    await e2e.viewAction(page, 'Failed', 'Refresh');
    await settledRowsOf(page, 'Failed', 'the failed tasks.add', (r) => r.some((x) => x.label === 'tasks.add'));
    await e2e.viewPane(page, 'Failed').locator('.monaco-list-row', { hasText: 'tasks.add' }).first().click({ timeout: TIMEOUT, position: ON_LABEL });
    await activeTab(page, new RegExp(`tasks\\.add\\[${short}\\]`));
    await viewText(page, /TypeError/);
    const view = taskPage(page);
    await view.locator('button', { hasText: 'Retry with Edited Args' }).click({ timeout: TIMEOUT });
    const args = view.locator('textarea#edit-args');
    const kwargs = view.locator('textarea#edit-kwargs');
    const go = view.locator('button', { hasText: 'Retry with These Args' });
    await args.fill('[1, 2');
    await view.locator('.validation', { hasText: /args: not valid JSON/ }).waitFor({ timeout: TIMEOUT });
    assert.equal(await go.isDisabled(), true, 'no retry with invalid JSON');
    await args.fill('{"x": 1}');
    await view.locator('.validation', { hasText: 'args must be a JSON array' }).waitFor({ timeout: TIMEOUT });
    await args.fill('[1, 2]');
    await kwargs.fill('{}');
    await e2e.retry('the retry button to be enabled', 5000, async () => ((await go.isDisabled()) ? undefined : true));
    await e2e.screenshot(page, 'radish-task-view-edit-args');
    await go.click({ timeout: TIMEOUT });

    // Announced as an enqueue is: the new task's short id, what it is a retry of, then its result.
    const done = await toast(page, new RegExp(`tasks\\.add\\[[0-9a-f]{8}\\] \\(edited retry of ${short}\\) succeeded: 3`), 30_000);
    const newShort = /tasks\.add\[([0-9a-f]{8})\]/.exec(await done.innerText())![1]!;
    assert.notEqual(newShort, short, 'a new task');
    // The earlier attempt stays as it was, and says what it was retried as (updated in place).
    const old = await viewText(page, new RegExp(`Retried as tasks\\.add\\[${newShort}\\]\\s+SUCCESS`));
    assert.match(old, /tasks\.add\s+FAILURE/);
    // Gone from the Failed view: it was dealt with.
    await rowsOf(page, 'Failed', 'tasks.add gone', (r) => !r.some((x) => x.label === 'tasks.add'));
    await e2e.screenshot(page, 'radish-task-view-retried');

    // The notification's Open shows the new attempt, which links back to the failed one.
    await clickToastButton(done, 'Open');
    await activeTab(page, new RegExp(`tasks\\.add\\[${newShort}\\]`));
    const fresh = await viewText(page, new RegExp(`Retry of tasks\\.add\\[${short}\\]\\s+FAILURE`));
    assert.match(fresh, /tasks\.add\s+SUCCESS/);
    assert.match(fresh, /Result\s+3\s+from the stored result/);
    assert.match(fresh, /Args\s+\[\s+1,\s+2\s+\]/);
    await clearNotifications(page);

    // The link goes back to the earlier attempt's tab.
    await taskPage(page).locator('a.task-link', { hasText: `tasks.add[${short}]` }).click({ timeout: TIMEOUT });
    await activeTab(page, new RegExp(`tasks\\.add\\[${short}\\]`));
  });

  it('follows a running task live, from STARTED to SUCCESS, without a click', async () => {
    const { page } = s;
    const sent = await s.client.send('tasks.slow', [6]);
    const short = sent.id.slice(0, 8);
    let seen: unknown;
    await rowsOf(page, 'Tasks', 'the running tasks.slow', (r) => {
      seen = r;
      return r.some((x) => x.label === 'tasks.slow' && /^(RECEIVED|STARTED)/.test(x.description));
    }).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(seen)}`); });
    await e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'tasks.slow' }).first().click({ timeout: TIMEOUT, position: ON_LABEL });
    await activeTab(page, new RegExp(`tasks\\.slow\\[${short}\\]`));
    const running = await viewText(page, /tasks\.slow\s+STARTED/);
    assert.match(running, /live/);
    assert.equal(await taskPage(page).locator('button', { hasText: /^Revoke$/ }).isDisabled(), false, 'a running task can be revoked');
    const finished = await viewText(page, /tasks\.slow\s+SUCCESS/, 20_000);
    assert.match(finished, /succeeded in 6\.\d+ s/);
    assert.match(finished, /Result\s+"waited 6 s"\s+from the stored result/);
  });
});
