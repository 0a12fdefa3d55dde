/**
 * The extension as a user meets it: the real workbench (code-server in headless chromium) on a copy of
 * examples/ts-tasks, against a private redis-server seeded with waiting messages and a failed task. Opens the
 * Radish sidebar, starts the worker from the palette, enqueues `tasks.add` through the quick input, reads the
 * result notification and the worker's log in the Output panel, and stops the worker. Screenshots go to
 * test-results/radish-*.png. Skipped, with the reason, when the VS Code host is not installed.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import {
  answerStep, clearNotifications, e2e, projectWorkbench, rowsOf, showRadish, statusBar, TIMEOUT, toastsSettled,
} from '../support/workbench';

class ValueError extends Error {
  override readonly name = 'ValueError';
}

/** Three `reports.build` calls waiting in `reports` (no worker consumes it) and one failed `tasks.fail`. */
async function seed(url: string): Promise<{ failedId: string }> {
  const app = new Radish({ broker: url });
  const lines: string[] = [];
  const worker = new Worker(app, { hostname: 'seeder@e2e', logger: createLogger('info', (l) => lines.push(l)) });
  try {
    app.task('tasks.fail', (value: string) => { throw new ValueError(`invalid literal for int(): ${JSON.stringify(value)}`); });
    for (const kind of ['daily', 'weekly', 'monthly']) await app.send('reports.build', [kind], {}, { queue: 'reports' });
    await worker.start();
    const failed = once(worker, 'task-failed', { signal: AbortSignal.timeout(15_000) });
    const result = await app.send('tasks.fail', ['seven']);
    // Emitted once the FAILURE is stored and the message is in the dead-letter list.
    const [id] = (await failed) as [string];
    assert.equal(id, result.id, `the seeded failure (worker log:\n${lines.join('\n')})`);
    return { failedId: id };
  } finally {
    await worker.stop();
    await app.close();
  }
}

describe('Radish in the workbench (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let failedId = '';
  const s = projectWorkbench('radish-e2e', { beforeOpen: async (url) => { ({ failedId } = await seed(url)); } });

  it('shows queues and failures, runs a worker, enqueues a task and shows its result and log', async () => {
    const started = Date.now();
    const step = (what: string) => console.log(`      ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${what}`);

    const { page } = s;
    step('workbench open, Radish commands registered');

    // The Radish container, from its activity-bar icon.
    await showRadish(page);
    const queues = await rowsOf(page, 'Queues', 'reports with 3 waiting', (rows) => rows.some((r) => r.label === 'reports' && r.description === '3 waiting'));
    assert.ok(queues.some((r) => r.label === 'celery'), `the default queue is listed too: ${JSON.stringify(queues)}`);
    const failed = await rowsOf(page, 'Failed', 'the failed tasks.fail', (rows) => rows.some((r) => r.label === 'tasks.fail'));
    const failure = failed.find((r) => r.label === 'tasks.fail')!;
    assert.match(failure.description, /^ValueError · \d+[smhd] ago$/, 'what went wrong, in a word, and when');
    assert.equal(failed.length, 1, `one failed task: ${JSON.stringify(failed)}`);
    // The Tasks view lists the definitions once the extension has scanned the workspace's sources.
    await rowsOf(page, 'Tasks', 'the definitions found', (rows) => rows.some((r) => r.label === 'Definitions in this workspace' && Number(r.description) >= 5));
    await e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'Definitions in this workspace' }).click({ timeout: TIMEOUT });
    await rowsOf(page, 'Tasks', 'tasks.add found in tasks.ts', (rows) => rows.some((r) => r.label === 'tasks.add' && /^tasks\.ts:\d+$/.test(r.description)));
    // Folded again, so the recent tasks below it are on screen (a list only renders the rows in view).
    await e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'Definitions in this workspace' }).click({ timeout: TIMEOUT });
    await e2e.screenshot(page, 'radish-sidebar');
    step('sidebar: reports 3 waiting, tasks.fail failed');

    await e2e.runCommand(page, 'Radish: Start Worker');
    assert.match(await statusBar(page, /Radish: running/, 60_000), /Radish: running/);
    const workers = await rowsOf(page, 'Workers', 'the local worker running and online',
      (rows) => rows.some((r) => r.label === 'Local worker: running' && /^pid \d+ · 0\/4 busy · \d+ processed · \d+ failed · tasks\.ts$/.test(r.description)));
    step(`worker running: ${workers.map((r) => `${r.label} (${r.description})`).join('; ')}`);

    await e2e.runCommand(page, 'Radish: Enqueue Task...');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Radish: Enqueue Task (1/4): task' }).waitFor({ timeout: TIMEOUT });
    await e2e.pickQuickItem(page, 'tasks.add');
    assert.equal(await answerStep(page, /Enqueue tasks\.add \(2\/4\): args/, '[2, 3]'), '[]', 'no args remembered yet');
    assert.equal(await answerStep(page, /Enqueue tasks\.add \(3\/4\): kwargs/), '{}');
    assert.equal(await answerStep(page, /Enqueue tasks\.add \(4\/4\): queue, priority, countdown/), 'celery 0 0');
    const message = await e2e.waitForNotification(page, /tasks\.add\[[0-9a-f]{8}\] succeeded: 5/, { timeout: 60_000 });
    const short = /tasks\.add\[([0-9a-f]{8})\]/.exec(message)?.[1];
    assert.ok(short, `a short task id in "${message}"`);
    // What the notification says is what the result backend holds, under the one id that starts so.
    const stored = await (await s.client.backend()).redis!.keys(`celery-task-meta-${short}*`);
    assert.equal(stored.length, 1, `one result for ${short}: ${JSON.stringify(stored)}`);
    const id = stored[0]!.slice('celery-task-meta-'.length);
    assert.equal(await (await s.client.asyncResult(id)).get({ timeout: 5000 }), 5);
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-enqueue');
    step(`notification: ${message}`);

    // The task in the Tasks view, from the worker's events, and the status bar's activity item.
    const tasks = await rowsOf(page, 'Tasks', 'tasks.add succeeded in the history',
      (rows) => rows.some((r) => r.label === 'tasks.add' && /^SUCCESS · [\d.]+ m?s · vscode-\d+@\S+ · \d+s ago$/.test(r.description)), 30_000);
    step(`Tasks view: ${tasks.filter((r) => r.label === 'tasks.add').map((r) => r.description).join('; ')}`);
    assert.match(await statusBar(page, /\d+ active · \d+ failed/), /0 active · 1 failed/, 'the seeded failure, as the Failed view counts it');
    await e2e.screenshot(page, 'radish-tasks');

    await clearNotifications(page);
    const shown = await e2e.outputText(page, 'Radish Worker', { contains: `Task tasks.add[${id}] succeeded`, timeout: 60_000 });
    assert.match(shown, new RegExp(`Task tasks\\.add\\[${id}\\] received`));
    await e2e.screenshot(page, 'radish-worker-log');
    const log = e2e.readOutputLog(s.wb, 'Radish Worker');
    assert.match(log, /Starting: .*radish\.js worker -A tasks\.ts -Q celery/, 'the launch line');
    assert.match(log, new RegExp(`Task tasks\\.add\\[${id}\\] succeeded in \\d+\\.\\d+s: 5`));
    step('Output "Radish Worker" shows the task');

    await e2e.runCommand(page, 'Radish: Stop Worker');
    await statusBar(page, /Radish: stopped/, 30_000);
    await rowsOf(page, 'Workers', 'the local worker stopped and gone from Redis',
      (rows) => rows.some((r) => r.label === 'Local worker: stopped'));
    assert.match(e2e.readOutputLog(s.wb, 'Radish Worker'), /Worker stopped \((exit code 0|signal SIGTERM)\)/);
    // The seeded state is untouched: nobody consumed `reports`, nobody retried the failure.
    const broker = await s.client.broker();
    assert.equal((await broker.depths(['reports']))[0]?.total, 3);
    assert.ok((await broker.deadLetters(0, 10)).some((s) => s.includes(failedId)));
    step('worker stopped');
  });
});
