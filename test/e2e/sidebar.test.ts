/**
 * The sidebar at VS Code's default width (never resized here), as a user first meets it in the real workbench
 * (code-server + chromium): a row shows its state first (icon and a short label) and leaves the detail to the
 * description and tooltip, so the state is never cut off, hovered (inline actions take room) or not; the worker's
 * log names the interpreter it really runs (absolute path and version); Terminate changes the task's row at once,
 * not at the next poll; the connection-error welcome view shows all its buttons. On a copy of examples/django-celery
 * (a Celery worker, Python task names) and of examples/ts-tasks. Screenshots: test-results/radish-sidebar-*.png.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  answerModal, clearNotifications, e2e, projectWorkbench, rowsOf, statusBar, TIMEOUT, type Locator, type Page,
} from '../support/workbench';

const CELERY_PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

/** A tree row as drawn: what it says, and what of it a user can read (the row clips the rest, ending in "…"). */
interface DrawnRow {
  label: string;
  description: string;
  /** The label is drawn whole, not cut by the row's edge (nor by the inline actions of a hovered row). */
  labelWhole: boolean;
  /** The label and description as far as they are readable, joined by a space. */
  readable: string;
}

/**
 * The rows of `view` as drawn now. A character counts as readable when it ends left of the clipping edge of the
 * row's label (less the width of the ellipsis the row draws there when it cuts something).
 */
async function drawnRows(page: Page, view: string): Promise<DrawnRow[]> {
  return e2e.viewPane(page, view).locator('.monaco-list-row').evaluateAll((els) => els.map((el) => {
    // Browser side: the DOM, untyped here (the project has no DOM lib).
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const row = el as any;
    const doc = (globalThis as any).document;
    const container = row.querySelector('.monaco-icon-label-container');
    const edge: number = container ? container.getBoundingClientRect().right : Infinity;
    const measure = (part: any): { text: string; right: number[] } => {
      const text: string = part?.textContent ?? '';
      const right: number[] = [];
      const walker = part ? doc.createTreeWalker(part, 4 /* NodeFilter.SHOW_TEXT */) : undefined;
      const range = doc.createRange();
      for (let node = walker?.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.textContent.length; i++) {
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          right.push(range.getBoundingClientRect().right);
        }
      }
      return { text, right };
    };
    const name = measure(row.querySelector('.label-name'));
    const description = measure(row.querySelector('.label-description'));
    const cut = [...name.right, ...description.right].some((r) => r > edge + 0.5);
    const limit = edge + 0.5 - (cut ? 12 : 0);
    const shown = (m: { text: string; right: number[] }) => [...m.text].filter((_, i) => (m.right[i] ?? Infinity) <= limit).join('');
    return {
      label: name.text.trim(),
      description: description.text.trim(),
      labelWhole: name.right.every((r) => r <= limit),
      readable: `${shown(name)} ${shown(description)}`.trim(),
    };
  }));
}

/** The drawn row of `view` that `pick` chooses, once there is one. */
async function drawnRow(page: Page, view: string, what: string, pick: (row: DrawnRow) => boolean): Promise<DrawnRow> {
  return e2e.retry(`view "${view}" to show ${what}`, TIMEOUT, async () => (await drawnRows(page, view)).find(pick));
}

/** The row element of `view` whose label is `label`. */
function rowElement(page: Page, view: string, label: string): Locator {
  return e2e.viewPane(page, view).locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) }) }).first();
}

/** Asserts a row's state word is readable and its label whole, with the pointer away and then over it. */
async function assertStateReadable(page: Page, view: string, label: string, state: RegExp): Promise<void> {
  await page.mouse.move(900, 400);
  const still = await drawnRow(page, view, `the row "${label}"`, (r) => r.label === label);
  assert.ok(still.labelWhole, `"${label}" is drawn whole: ${JSON.stringify(still)}`);
  assert.match(still.readable, state, `the state is readable: ${JSON.stringify(still)}`);
  await rowElement(page, view, label).hover({ timeout: TIMEOUT });
  const hovered = await drawnRow(page, view, `the row "${label}" hovered`, (r) => r.label === label);
  assert.ok(hovered.labelWhole, `"${label}" hovered (its inline actions showing) is drawn whole: ${JSON.stringify(hovered)}`);
  assert.match(hovered.readable, state, `hovered, the state is readable: ${JSON.stringify(hovered)}`);
  await page.mouse.move(900, 400);
}

/** Shows the Radish sidebar (its activity-bar icon toggles it: clicked while shown, it would hide it). */
async function openRadish(page: Page): Promise<void> {
  if (!(await e2e.viewPane(page, 'Workers').isVisible())) {
    await page.locator('.part.activitybar .action-item .action-label[aria-label^="Radish"]').first().click({ timeout: TIMEOUT });
  }
  await page.mouse.move(900, 400);
}

/** The local worker's row in the Workers view (whatever state it is in). */
function localWorker(rows: { label: string }[]): { label: string; description: string } | undefined {
  return (rows as DrawnRow[]).find((r) => /^Local worker: /.test(r.label));
}

/** Opens the Tasks view's "Definitions in this workspace" group, once the sources are scanned. */
async function expandDefinitions(page: Page, count: number): Promise<void> {
  await rowsOf(page, 'Tasks', 'the definitions found', (rows) => rows.some((r) => r.label === 'Definitions in this workspace' && Number(r.description) >= count));
  const group = e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'Definitions in this workspace' }).first();
  if ((await group.getAttribute('aria-expanded')) !== 'true') await group.click({ timeout: TIMEOUT });
}

describe('the sidebar at its default width (UI, code-server + chromium)', function () {
  this.timeout(300_000);

  describe('a Django + Celery project (examples/django-celery)', () => {
    const s = projectWorkbench('radish-e2e-sidebar-django', {
      example: 'django-celery',
      settings: {
        'radish.worker.kind': 'python', 'radish.worker.app': 'shop', 'radish.worker.queues': ['celery'],
        'radish.python.interpreter': CELERY_PYTHON,
      },
    });

    it('shows the stopped local worker\'s state, and every Python task definition by a name drawn whole', async () => {
      const { page } = s;
      await openRadish(page);
      await rowsOf(page, 'Workers', 'the local worker', (rows) => localWorker(rows) !== undefined);
      await assertStateReadable(page, 'Workers', 'Local worker: stopped', /\bstopped\b/);

      await expandDefinitions(page, 6);
      // The six tasks of orders/tasks.py, each row telling which task it is without being cut.
      const defs = await e2e.retry('the six Python definitions', TIMEOUT, async () => {
        const rows = (await drawnRows(page, 'Tasks')).filter((r) => /^orders\/tasks\.py:\d+$/.test(r.description));
        return rows.length === 6 ? rows : undefined;
      });
      for (const name of ['send_confirmation', 'orders.charge', 'order_total', 'build_invoice', 'fail_loudly', 'add_in_typescript']) {
        const row = defs.find((r) => r.label === name);
        assert.ok(row, `a row for ${name}: ${JSON.stringify(defs)}`);
        assert.ok(row.labelWhole, `${name} is drawn whole: ${JSON.stringify(row)}`);
        await rowElement(page, 'Tasks', name).hover({ timeout: TIMEOUT });
        const hovered = (await drawnRows(page, 'Tasks')).find((r) => r.label === name);
        assert.ok(hovered?.labelWhole, `${name} hovered (its inline Enqueue showing) is drawn whole: ${JSON.stringify(hovered)}`);
      }
      await page.mouse.move(900, 400);
      await e2e.screenshot(page, 'radish-sidebar-python-definitions');
    });

    it('logs the interpreter it runs by its absolute path and version; running, the worker row and a task row show their state', async () => {
      const { page } = s;
      // What the configured interpreter says it is (a symlink or a venv's python keeps its own path here).
      const [executable, version] = execFileSync(CELERY_PYTHON, ['-c', 'import sys; print(sys.executable); print(sys.version.split()[0])'], { encoding: 'utf8' }).trim().split('\n');
      await e2e.runCommand(page, 'Radish: Start Worker');
      await statusBar(page, /Radish: running/, 90_000);
      const log = e2e.readOutputLog(s.wb, 'Radish Worker');
      const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assert.match(log, new RegExp(`Interpreter: ${escape(executable!)} \\(Python ${escape(version!)}\\)`), 'the interpreter and its version');
      assert.match(log, new RegExp(`Starting: ${escape(CELERY_PYTHON)} -m celery -A shop worker`), 'the launch line names the executable by its path');
      console.log(`      ${/Interpreter: .*/.exec(log)?.[0]}`);
      // In the Output panel too: its filter keeps the launch lines on screen (the panel draws only the lines in view).
      await e2e.outputText(page, 'Radish Worker', { contains: ' ready.' });
      const filter = page.locator('.part.panel .viewpane-filter input').first();
      await filter.fill('Interpreter: ');
      const shown = await e2e.outputText(page, 'Radish Worker', { contains: 'Interpreter: ' });
      assert.match(shown, new RegExp(`Interpreter: ${escape(executable!)} \\(Python ${escape(version!)}\\)`), 'in the Output panel');
      await e2e.screenshot(page, 'radish-sidebar-python-log');
      await filter.fill('');
      await e2e.runCommand(page, 'View: Hide Panel');

      await openRadish(page);
      await rowsOf(page, 'Workers', 'the local worker running', (rows) => localWorker(rows)?.label === 'Local worker: running');
      await assertStateReadable(page, 'Workers', 'Local worker: running', /\brunning\b/);

      // A Python task run by the Celery worker: its row in the Tasks view shows its state whole.
      const result = await s.client.send('orders.tasks.send_confirmation', [42, 'ada@example.com']);
      assert.deepEqual(await result.get({ timeout: 60_000 }), { order_id: 42, email: 'ada@example.com', status: 'sent' });
      await expandDefinitions(page, 6);
      await e2e.viewPane(page, 'Tasks').locator('.monaco-list-row', { hasText: 'Definitions in this workspace' }).first().click({ timeout: TIMEOUT });
      await rowsOf(page, 'Tasks', 'send_confirmation succeeded', (rows) => rows.some((r) => /^SUCCESS\b/.test(r.description)), 60_000);
      const record = await drawnRow(page, 'Tasks', 'the SUCCESS row', (r) => /^SUCCESS\b/.test(r.description));
      await assertStateReadable(page, 'Tasks', record.label, /\bSUCCESS\b/);
      await e2e.screenshot(page, 'radish-sidebar-python-running');

      await e2e.runCommand(page, 'Radish: Stop Worker');
      await statusBar(page, /Radish: stopped/, 60_000);
      await rowsOf(page, 'Workers', 'the local worker stopped', (rows) => localWorker(rows)?.label === 'Local worker: stopped');
    });
  });

  describe('a TypeScript project (examples/ts-tasks), polling once in 10 minutes', () => {
    const s = projectWorkbench('radish-e2e-sidebar-ts', {
      // Polling this rare: a row that changes within the test changed because of what the user did, not a poll.
      // Node from PATH, as a user who sets it to `node` gets it: the log must say which one that is.
      settings: { 'radish.refreshInterval': 600, 'radish.nodePath': 'node' },
    });

    it('logs the Node.js it runs by its absolute path and version, and shows the worker\'s state', async () => {
      const { page } = s;
      const [executable, version] = execFileSync('node', ['-p', 'process.execPath + "\\n" + process.version'], { encoding: 'utf8' }).trim().split('\n');
      await openRadish(page);
      await e2e.runCommand(page, 'Radish: Start Worker');
      await statusBar(page, /Radish: running/, 60_000);
      const log = e2e.readOutputLog(s.wb, 'Radish Worker');
      assert.match(log, new RegExp(`Interpreter: ${executable!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(Node\\.js ${version!.replace(/\./g, '\\.')}\\)`), 'node and its version');
      console.log(`      ${/Interpreter: .*/.exec(log)?.[0]}`);
      await rowsOf(page, 'Workers', 'the local worker running', (rows) => localWorker(rows)?.label === 'Local worker: running', 60_000);
      await assertStateReadable(page, 'Workers', 'Local worker: running', /\brunning\b/);
      await e2e.screenshot(page, 'radish-sidebar-worker-running');
    });

    it('Terminate changes the task\'s row at once (before the command has its answer), and the row goes without a poll', async () => {
      const { page } = s;
      const sent = await s.client.send('tasks.slow', [120]);
      // Polling is off in effect: refresh the view by hand until the task shows under the worker.
      const row = await e2e.retry('tasks.slow under the local worker', 60_000, async () => {
        const found = rowElement(page, 'Workers', 'tasks.slow');
        if (await found.isVisible()) return found;
        await e2e.viewAction(page, 'Workers', 'Refresh');
        await new Promise((r) => setTimeout(r, 1000));
        return undefined;
      });
      await rowsOf(page, 'Workers', 'tasks.slow running', (rows) => rows.some((r) => r.label === 'tasks.slow' && /^running\b/.test(r.description)));
      await e2e.rowAction(page, row, 'Terminate Task');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: TIMEOUT });
      assert.match(await dialog.innerText(), /Terminate tasks\.slow\[[0-9a-f]{8}\]/);

      // From before the click on, every change of the task's row is recorded in the page as it is drawn (no sampling
      // gap): its state word ("running", "terminating", or gone), and whether the status bar says "terminated" yet,
      // which it does once the workers answered the terminate (the command's end).
      await page.evaluate(() => {
        const w = globalThis as any;
        const doc = w.document;
        const pane = [...doc.querySelectorAll('.pane')].find((p: any) => p.querySelector('.pane-header[aria-label^="Workers "]'));
        const changes: { state: string; answered: boolean }[] = [];
        const record = () => {
          const row = [...(pane?.querySelectorAll('.monaco-list-row') ?? [])]
            .find((el: any) => (el.querySelector('.label-name')?.textContent ?? '').trim() === 'tasks.slow');
          const state = row ? String(row.querySelector('.label-description')?.textContent ?? '').trim().split(/\s/)[0] ?? '' : '(gone)';
          const answered = [...doc.querySelectorAll('.part.statusbar .statusbar-item')].some((item: any) => /terminated/.test(item.textContent ?? ''));
          const last = changes[changes.length - 1];
          if (!last || last.state !== state || last.answered !== answered) changes.push({ state, answered });
        };
        record();
        const observer = new w.MutationObserver(record);
        observer.observe(doc.querySelector('.monaco-workbench'), { subtree: true, childList: true, characterData: true });
        w.radishRowChanges = { changes, stop: () => observer.disconnect() };
      }, undefined);
      await answerModal(page, 'Terminate');
      // The marked row, on screen (best effort: it is there for about a second).
      if (await rowElement(page, 'Workers', 'tasks.slow').filter({ hasText: 'terminating' }).waitFor({ timeout: 2000 }).then(() => true, () => false)) {
        await e2e.screenshot(page, 'radish-sidebar-terminating');
      }
      // The worker confirms: the row goes, with no poll to come for minutes.
      await rowsOf(page, 'Workers', 'tasks.slow gone', (rows) => localWorker(rows) !== undefined && !rows.some((r) => r.label === 'tasks.slow'), 15_000);
      await statusBar(page, /terminated/);
      const changes = await page.evaluate(() => {
        const recorded = (globalThis as any).radishRowChanges;
        recorded.stop();
        return recorded.changes as { state: string; answered: boolean }[];
      }, undefined);
      assert.equal(changes[0]?.state, 'running', `running before the click: ${JSON.stringify(changes)}`);
      const next = changes.find((c) => c.state !== 'running');
      // At once: before the workers' answer, the row says so.
      assert.deepEqual(next, { state: 'terminating', answered: false }, `the first change after the click: ${JSON.stringify(changes)}`);
      assert.equal(changes.filter((c) => c.state === 'running').length, 1, `never running again: ${JSON.stringify(changes)}`);
      await assert.rejects(sent.get({ timeout: 20_000 }), (err: Error) => err.name === 'TaskRevokedError');
    });

    it('shows every button of the connection-error welcome view whole', async () => {
      const { page } = s;
      await e2e.runCommand(page, 'Radish: Stop Worker');
      await statusBar(page, /Radish: stopped/, 60_000);
      await clearNotifications(page).catch(() => undefined);
      const settings = JSON.parse(readFileSync(s.settingsFile, 'utf8')) as Record<string, unknown>;
      writeFileSync(s.settingsFile, JSON.stringify({ ...settings, 'radish.redisUrl': 'redis://127.0.0.1:1/0' }, null, 2));
      await openRadish(page);
      const buttons = e2e.viewPane(page, 'Queues').locator('.welcome-view .monaco-button');
      await buttons.first().waitFor({ timeout: 60_000 });
      const drawn = await e2e.viewPane(page, 'Queues').evaluateAll((els) => els.map((el) => {
        const pane = el as any;
        const body = pane.querySelector('.pane-body').getBoundingClientRect();
        return [...pane.querySelectorAll('.welcome-view .monaco-button')].map((b: any) => {
          const r = b.getBoundingClientRect();
          return {
            text: String(b.textContent ?? '').trim(),
            inside: r.top >= body.top - 0.5 && r.bottom <= body.bottom + 0.5 && r.left >= body.left - 0.5 && r.right <= body.right + 0.5,
            textWhole: b.scrollWidth <= b.clientWidth,
          };
        });
      }));
      const all = drawn[0] ?? [];
      await e2e.screenshot(page, 'radish-sidebar-welcome');
      assert.equal(all.length, 3, `three buttons: ${JSON.stringify(all)}`);
      for (const b of all) assert.ok(b.inside && b.textWhole, `"${b.text}" is shown whole in the Queues view: ${JSON.stringify(all)}`);
    });
  });
});
