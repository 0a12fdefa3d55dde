/**
 * The editor entries as a user meets them (issue 14, points 1 and 7), in the real workbench (code-server +
 * chromium): the context menu's Radish entry is there on the FIRST right-click inside a task function (TS and
 * Python) and acts on the task under the click; outside any task (in a file with tasks) it offers this file's
 * tasks; the CodeLens "Enqueue" asks for args when none were used before for a task with required parameters,
 * says in its tooltip what it will send, and sends the remembered args the next time.
 *
 * A worker in this process (the runner's Worker, registering `tasks.add`) serves the private redis-server, so
 * the test reads exactly what the extension sent. Screenshots go to test-results/radish-editor-*.png.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import {
  clearNotifications, clickEditorText, e2e, openFile, projectWorkbench, TIMEOUT, toastsSettled, type Page,
} from '../support/workbench';

/** The entry of the editor context menu that starts Radish's enqueue flow. */
const ENTRY = /^Enqueue with args\.\.\.$/i;
const TS_TASKS = ['tasks.add', 'emails.send', 'images.thumbnail', 'reports.build', 'tasks.fail', 'tasks.flaky', 'tasks.slow', 'tasks.urgent'];

/** Right-clicks once on `snippet` and returns the labels of the context menu that opens. */
async function rightClickMenu(page: Page, snippet: string): Promise<string[]> {
  await clickEditorText(page, snippet, { button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.waitFor({ timeout: TIMEOUT });
  const labels = menu.locator('.action-item .action-label');
  // The menu is built whole before it shows; read it once it has items.
  return e2e.retry('the context menu items', TIMEOUT, async () => {
    const texts = await labels.evaluateAll((els) => els.map((el) => (el.textContent ?? '').trim()).filter((t) => t !== ''));
    return texts.length ? texts : undefined;
  });
}

/** Chooses the Radish entry of the open context menu. */
async function chooseEntry(page: Page): Promise<void> {
  const menu = page.locator('.context-view .monaco-menu');
  const entry = menu.locator('.action-item').filter({ has: page.locator('.action-label', { hasText: ENTRY }) }).first();
  // The menu ignores a click that comes too soon after it opened; it closes once it runs the action.
  await e2e.retry('the Radish entry to run', TIMEOUT, async () => {
    if (await menu.isVisible()) await entry.click({ timeout: 2000 });
    return menu.waitFor({ state: 'hidden', timeout: 1000 }).then(() => true, () => undefined);
  });
}

/** The title of the quick input, once it matches `title`. */
async function quickTitle(page: Page, title: RegExp, timeout = TIMEOUT): Promise<string> {
  const el = page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first();
  await el.waitFor({ timeout });
  return (await el.innerText()).trim();
}

/** Labels of the open quick pick's rows, once there are `count`. */
async function quickLabels(page: Page, count: number): Promise<string[]> {
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  return e2e.retry(`${count} rows in the quick pick`, TIMEOUT, async () => {
    const labels = await rows.evaluateAll((els) => els.map((el) => (el.querySelector('.label-name')?.textContent ?? '').trim()));
    return labels.length >= count ? labels : undefined;
  });
}

async function escapeQuickInput(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: TIMEOUT });
}

/** The "Enqueue" CodeLens of `task` (not "Enqueue with args..."), found by its tooltip naming the task. */
function enqueueLens(page: Page, task: string) {
  return page.locator(`.contentWidgets .codelens-decoration a[title*="${task} "]`, { hasText: /^\s*Enqueue\s*$/ }).first();
}

describe('editor entries: context menu and CodeLens (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let app: Radish | undefined;
  let worker: Worker | undefined;
  /** What `tasks.add` received, call by call. */
  const calls: unknown[][] = [];
  const s = projectWorkbench('radish-editor', {
    open: false,
    cleanup: async () => {
      await worker?.stop();
      await app?.close();
    },
  });

  before(async () => {
    app = new Radish({ broker: s.redis.url });
    app.task('tasks.add', (...args: unknown[]) => {
      calls.push(args);
      return (args[0] as number) + (args[1] as number);
    });
    worker = new Worker(app, { hostname: 'editor@e2e', logger: createLogger('error', () => undefined) });
    await worker.start();
  });

  afterEach(async () => {
    // A menu or quick input left open by a failed step would swallow the next test's clicks.
    const wb = s.current;
    if (wb) {
      for (const open of ['.context-view .monaco-menu', '.quick-input-widget']) {
        if (await wb.page.locator(open).isVisible()) await wb.page.keyboard.press('Escape');
      }
    }
  });

  describe('TypeScript (examples/ts-tasks)', () => {
    let page: Page;
    before(async () => {
      page = await s.openWorkspace({ example: 'ts-tasks' });
      await openFile(page, 'tasks.ts');
    });

    it('the first right-click inside a task function has the Radish entry, and it enqueues that task', async () => {
      // The cursor is put outside any task first, by a click in the comment above the app.
      await clickEditorText(page, 'reports get a queue of their own');
      const labels = await rightClickMenu(page, 'x + y');
      await e2e.screenshot(page, 'radish-editor-menu-in-task');
      assert.ok(labels.some((l) => ENTRY.test(l)), `the first right-click in tasks.add shows the Radish entry: ${JSON.stringify(labels)}`);
      await chooseEntry(page);
      await quickTitle(page, /Enqueue tasks\.add \(2\/4\): args/);
      await escapeQuickInput(page);

      // A second task, straight from the first: the entry acts on the task under the click, not the last one.
      const again = await rightClickMenu(page, 'await sleep(200)');
      assert.ok(again.some((l) => ENTRY.test(l)), `right-click in emails.send: ${JSON.stringify(again)}`);
      await chooseEntry(page);
      await quickTitle(page, /Enqueue emails\.send \(2\/4\): args/);
      await escapeQuickInput(page);
    });

    it('a right-click outside any task offers the tasks of this file', async () => {
      await clickEditorText(page, 'x + y');
      const labels = await rightClickMenu(page, "Errors named like Python's builtins");
      assert.ok(labels.some((l) => ENTRY.test(l)), `the entry outside a task, in a file with tasks: ${JSON.stringify(labels)}`);
      await chooseEntry(page);
      await quickTitle(page, /Enqueue Task \(1\/4\): task/);
      const picked = await quickLabels(page, TS_TASKS.length);
      await e2e.screenshot(page, 'radish-editor-menu-outside');
      assert.deepEqual([...picked].sort(), [...TS_TASKS].sort(), 'exactly the tasks of tasks.ts');
      await e2e.pickQuickItem(page, 'reports.build');
      await quickTitle(page, /Enqueue reports\.build \(2\/4\): args/);
      await escapeQuickInput(page);
    });

    it('CodeLens "Enqueue" asks for args the first time, then sends the remembered ones (its tooltip says which)', async () => {
      const lens = enqueueLens(page, 'tasks.add');
      await lens.waitFor({ timeout: TIMEOUT });
      const tooltip = (await lens.getAttribute('title')) ?? '';
      await lens.click();
      // No args were used for tasks.add yet and it has required parameters: it asks instead of sending [].
      await quickTitle(page, /Enqueue tasks\.add.*args/, 10_000).catch((err: Error) => {
        throw new Error(`${err.message}; tasks.add received ${JSON.stringify(calls)}`);
      });
      assert.match(tooltip, /tasks\.add asks for args first/, 'the tooltip before any args');
      // Too few args get a warning as they are typed (not an error: the user may mean it).
      await e2e.typeIntoQuickInput(page, '[2]', { submit: false });
      await page.locator('.quick-input-widget .quick-input-message', { hasText: 'tasks.add takes (x, y): 2 required, 1 given' }).waitFor({ timeout: TIMEOUT });
      await e2e.screenshot(page, 'radish-editor-codelens-asks');
      assert.equal(calls.length, 0, `nothing sent before the args are given: ${JSON.stringify(calls)}`);
      await e2e.typeIntoQuickInput(page, '[2, 3]');
      await e2e.waitForNotification(page, /tasks\.add.*succeeded: 5/, { timeout: 60_000 });
      assert.deepEqual(calls, [[2, 3]], 'the worker got the args typed');

      // Remembered: the tooltip says what the next click sends, and the click sends it with no question.
      await e2e.retry('the tooltip to show the remembered args', TIMEOUT, async () =>
        /Send tasks\.add with \[2, ?3\]/.test((await lens.getAttribute('title')) ?? '') || undefined);
      await clearNotifications(page);
      await lens.click();
      await e2e.waitForNotification(page, /tasks\.add.*succeeded: 5/, { timeout: 60_000 });
      assert.equal(await page.locator('.quick-input-widget').isVisible(), false, 'no question the second time');
      assert.deepEqual(calls, [[2, 3], [2, 3]], 'the remembered args sent again');
      await toastsSettled(page);
      await e2e.screenshot(page, 'radish-editor-codelens-sent');
    });
  });

  describe('Python (examples/django-celery)', () => {
    let page: Page;
    before(async () => {
      page = await s.openWorkspace({ example: 'django-celery' });
      await openFile(page, 'orders/tasks.py');
    });

    it('the first right-click inside a Celery task function has the Radish entry, and it enqueues that task', async () => {
      await clickEditorText(page, 'Celery tasks of the orders app');
      const labels = await rightClickMenu(page, "logger.info('Confirming order");
      await e2e.screenshot(page, 'radish-editor-menu-python');
      assert.ok(labels.some((l) => ENTRY.test(l)), `the first right-click in send_confirmation: ${JSON.stringify(labels)}`);
      await chooseEntry(page);
      await quickTitle(page, /Enqueue orders\.tasks\.send_confirmation \(2\/4\): args/);
      await escapeQuickInput(page);
      // The workspace's tasks are indexed: the definition has its lenses, and the "Enqueue" one says it will ask.
      const lens = enqueueLens(page, 'orders.tasks.send_confirmation');
      await lens.waitFor({ timeout: TIMEOUT });
      assert.match((await lens.getAttribute('title')) ?? '', /^orders\.tasks\.send_confirmation asks for args first: \(order_id, email\)$/);
    });

    it('once the workspace is indexed, a file without tasks has no Radish entry and a file with tasks has it', async () => {
      await openFile(page, 'manage.py');
      // Until the first scan is done any Python file may hold tasks, so wait for the scan rather than assume it.
      const labels = await e2e.retry('the context menu of manage.py without the Radish entry', TIMEOUT, async () => {
        const shown = await rightClickMenu(page, 'execute_from_command_line(sys.argv)');
        await page.keyboard.press('Escape');
        await page.locator('.context-view .monaco-menu').waitFor({ state: 'hidden', timeout: TIMEOUT });
        return shown.some((l) => ENTRY.test(l)) ? undefined : shown;
      });
      assert.ok(labels.includes('Command Palette...'), `the editor's own menu: ${JSON.stringify(labels)}`);

      // Indexed, the entry follows the list of files with tasks: back in tasks.py, it is there on the first try.
      await openFile(page, 'orders/tasks.py');
      await clickEditorText(page, 'import time');
      const back = await rightClickMenu(page, 'attempt = self.request.retries + 1');
      assert.ok(back.some((l) => ENTRY.test(l)), `right-click in orders.charge: ${JSON.stringify(back)}`);
      await chooseEntry(page);
      await quickTitle(page, /Enqueue orders\.charge \(2\/4\): args/);
      await escapeQuickInput(page);
    });
  });
});
