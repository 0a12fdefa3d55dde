/**
 * Notifications (issue 14, point 11), in the real workbench (code-server + chromium) on a copy of examples/ts-tasks:
 * a worker that crashes says so in one readable line (not the raw tail of its log) with Restart and Show Log, and
 * "no worker is online" is information with a way to start one, not an error.
 */
import assert from 'node:assert/strict';
import {
  answerStep, clearNotifications, clickToastButton, e2e, projectWorkbench, rowsOf, statusBar, toast, toastButtons,
} from '../support/workbench';

describe('notifications (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('radish-e2e-notifications');

  it('says "no worker is online" as information, with Start Worker', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Radish: Grow Worker Pool');
    const item = await toast(page, /no worker is online/i);
    assert.equal(await item.locator('.codicon-error').count(), 0, 'not an error');
    assert.deepEqual(await toastButtons(item), ['Start Worker']);
    await clickToastButton(item, 'Start Worker');
    await statusBar(page, /Radish: running/, 60_000);
    await clearNotifications(page);
  });

  it('one notification per enqueue: progress while it runs, then its result in its place', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Radish: Enqueue Task...');
    await e2e.pickQuickItem(page, 'tasks.slow');
    await answerStep(page, /Enqueue tasks\.slow \(2\/4\): args/, '[3]');
    await answerStep(page, /Enqueue tasks\.slow \(3\/4\): kwargs/);
    await answerStep(page, /Enqueue tasks\.slow \(4\/4\): queue, priority, countdown/);
    const progress = await toast(page, /sent to celery, waiting for its result/);
    const short = /tasks\.slow\[([0-9a-f]{8})\]/.exec(await progress.innerText())?.[1];
    assert.ok(short, 'the task named with its short id');
    await e2e.screenshot(page, 'radish-enqueue-progress');
    await toast(page, new RegExp(`tasks\\.slow\\[${short}\\] succeeded`), 30_000);
    const shown = page.locator('.notifications-toasts .notification-toast', { hasText: short });
    await e2e.retry('the progress notification to give way to the result', 10_000, async () => ((await shown.count()) === 1 ? true : undefined));
    await clearNotifications(page);
  });

  it('warns when no live worker consumes the chosen queue, and adds it to the local worker in one click', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Radish: Enqueue Task...');
    await e2e.pickQuickItem(page, 'tasks.add');
    await answerStep(page, /Enqueue tasks\.add \(2\/4\): args/, '[20, 22]');
    await answerStep(page, /Enqueue tasks\.add \(3\/4\): kwargs/);
    await answerStep(page, /Enqueue tasks\.add \(4\/4\): queue, priority, countdown/, 'invoices 0 0');
    const warning = await toast(page, /no live worker consumes "invoices"/);
    assert.deepEqual(await toastButtons(warning), ['Add "invoices" to This Window\'s Worker']);
    await e2e.screenshot(page, 'radish-enqueue-no-consumer');
    await clickToastButton(warning, 'Add "invoices" to This Window\'s Worker');
    // The worker takes the queue and runs what waited there.
    await toast(page, /tasks\.add\[[0-9a-f]{8}\] succeeded: 42/, 30_000);
    await clearNotifications(page);
  });

  it('says a crash in one line, with Restart and Show Log', async () => {
    const { page } = s;
    await e2e.focusView(page, 'Workers');
    const rows = await rowsOf(page, 'Workers', 'the local worker with its pid', (r) => r.some((x) => x.label === 'Local worker: running' && /pid \d+/.test(x.description)));
    const pid = Number(/pid (\d+)/.exec(rows.find((x) => x.label === 'Local worker: running')!.description)![1]);
    process.kill(pid, 'SIGKILL');
    const item = await toast(page, /Radish worker crashed/);
    const text = (await item.locator('.notification-list-item-message').innerText()).trim();
    assert.match(text, /^Radish worker crashed \(signal SIGKILL\)\./);
    assert.doesNotMatch(text, /\d{4}-\d\d-\d\d|\[(info|warning|error)\]| \| /, `no raw log lines: ${text}`);
    assert.deepEqual(await toastButtons(item), ['Restart', 'Show Log']);
    await e2e.screenshot(page, 'radish-worker-crashed');
    await clickToastButton(item, 'Restart');
    await statusBar(page, /Radish: running/, 60_000);
  });
});
