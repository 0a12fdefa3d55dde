/**
 * First run (issue 14): the "Get Started with Radish" walkthrough in the real workbench (code-server + chromium) on a
 * copy of examples/ts-tasks: its four steps are listed, and each is checked off when the user has done it (the
 * worker started from the step's own button, a task enqueued, a failure retried).
 */
import assert from 'node:assert/strict';
import { TaskFailedError } from '../../runner/protocol/result';
import { answerStep, e2e, projectWorkbench, statusBar, TIMEOUT, type Page } from '../support/workbench';

const STEPS = ['Connect to Redis', 'Start the worker', 'Enqueue a task', 'See a failure and retry it'];

/** The walkthrough's step titles that show as done (their icon is the workbench's "step checked" one). */
async function doneSteps(page: Page): Promise<string[]> {
  return page.locator('.gettingStartedSlideDetails .getting-started-step').evaluateAll((els) => els
    .filter((el) => el.querySelector('.codicon-getting-started-step-checked') !== null)
    .map((el) => (el.querySelector('.step-title')?.textContent ?? '').trim()));
}

async function waitDone(page: Page, title: string): Promise<void> {
  await e2e.retry(`step "${title}" checked off`, 60_000, async () => ((await doneSteps(page)).includes(title) ? true : undefined));
}

/** Back to the walkthrough's tab (commands and quick inputs may have moved the focus). */
async function showWalkthrough(page: Page): Promise<void> {
  await page.locator('.tabs-container .tab', { hasText: /Welcome|Walkthrough/ }).first().click({ timeout: TIMEOUT });
}

describe('the walkthrough (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('radish-e2e-walkthrough');

  it('lists its steps and checks each off as the user does it', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Welcome: Open Walkthrough...');
    await e2e.pickQuickItem(page, 'Get Started with Radish');
    const titles = page.locator('.gettingStartedSlideDetails .getting-started-step .step-title');
    await titles.first().waitFor({ timeout: TIMEOUT });
    assert.deepEqual(await titles.evaluateAll((els) => els.map((el) => (el.textContent ?? '').trim())), STEPS);
    assert.deepEqual(await doneSteps(page), [], 'nothing done yet');
    await e2e.screenshot(page, 'radish-walkthrough');

    // The worker, from the step's own button: connecting comes with it.
    await page.locator('.gettingStartedSlideDetails .getting-started-step', { hasText: 'Start the worker' }).first().click({ timeout: TIMEOUT });
    await page.locator('.gettingStartedSlideDetails .getting-started-step a, .gettingStartedSlideDetails .getting-started-step .button-link', { hasText: 'Start Worker' }).first().click({ timeout: TIMEOUT });
    await statusBar(page, /Radish: running/, 60_000);
    await showWalkthrough(page);
    await waitDone(page, 'Start the worker');
    await waitDone(page, 'Connect to Redis');

    // A task, through the palette as the step says.
    await e2e.runCommand(page, 'Radish: Enqueue Task...');
    await e2e.pickQuickItem(page, 'tasks.add');
    await answerStep(page, /Enqueue tasks\.add \(2\/4\): args/, '[1, 2]');
    await answerStep(page, /Enqueue tasks\.add \(3\/4\): kwargs/);
    await answerStep(page, /Enqueue tasks\.add \(4\/4\): queue, priority, countdown/);
    await e2e.waitForNotification(page, /tasks\.add\[[0-9a-f-]+\] succeeded: 3/, { timeout: 60_000 });
    await showWalkthrough(page);
    await waitDone(page, 'Enqueue a task');

    // A failure, retried from the list of recent failures.
    const failing = await s.client.send('tasks.fail', ['x']);
    await assert.rejects(failing.get({ timeout: 30_000 }), TaskFailedError);
    await e2e.runCommand(page, 'Radish: Show Recent Failures');
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: failing.id.slice(0, 8) }).first();
    await row.hover({ timeout: TIMEOUT });
    await row.locator('.action-label[aria-label="Retry"]').first().click({ timeout: TIMEOUT });
    await e2e.waitForNotification(page, /tasks\.fail\[[0-9a-f]{8}\] \(retry of [0-9a-f]{8}\)/);
    await showWalkthrough(page);
    await waitDone(page, 'See a failure and retry it');
    await e2e.screenshot(page, 'radish-walkthrough-done');
  });
});
