/**
 * The Python twin of palette.test.ts's "proposes the queue the project routes a task to", in the real workbench
 * (code-server + chromium) on a copy of examples/django-celery: the Enqueue flow proposes the queue the project's
 * Celery `CELERY_TASK_ROUTES` (Django settings, read with namespace 'CELERY') sends a Python task to, and follows the
 * settings when they change on disk or go. The copy routes `orders.tasks.build_*` (a glob, as Celery projects write them);
 * the example itself does not, so its own Celery worker (on `celery`) keeps running every orders task.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answerStep, e2e, projectWorkbench, rowsOf, TIMEOUT, type Page } from '../support/workbench';

const TASK = 'orders.tasks.build_invoice';
const STEP_4 = /Enqueue orders\.tasks\.build_invoice \(4\/4\): queue, priority, countdown/;

/** Routes `orders.tasks.build_*` in the copy's Django settings: the first entry of its CELERY_TASK_ROUTES. */
function routeBuildTasks(workspace: string, route: string): void {
  const file = join(workspace, 'shop/settings.py');
  const text = readFileSync(file, 'utf8').replace(/CELERY_TASK_ROUTES = \{\n(?: {4}'orders\.tasks\.build_\*': .*\n)?/, `CELERY_TASK_ROUTES = {\n    'orders.tasks.build_*': ${route},\n`);
  assert.match(text, /'orders\.tasks\.build_\*'/, 'the example still has CELERY_TASK_ROUTES');
  writeFileSync(file, text);
}

/** Steps 1 to 3 of the Enqueue flow for build_invoice, then what step 4 proposes (the widget left open). */
async function proposedOptions(page: Page): Promise<string> {
  await e2e.runCommand(page, 'Radish: Enqueue Task...');
  await e2e.pickQuickItem(page, TASK);
  await answerStep(page, /Enqueue orders\.tasks\.build_invoice \(2\/4\): args/, '[1, 0]');
  await answerStep(page, /Enqueue orders\.tasks\.build_invoice \(3\/4\): kwargs/);
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: STEP_4 }).waitFor({ timeout: TIMEOUT });
  return e2e.retry('the proposed queue', TIMEOUT, async () => (await widget.locator('input.input').evaluateAll((els) => els.map((el) => el.value ?? '')))[0]);
}

describe('Python task routes in the Enqueue flow (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const s = projectWorkbench('radish-e2e-python-routes', {
    example: 'django-celery',
    beforeOpen: async () => routeBuildTasks(s.workspace, "{'queue': 'invoices', 'priority': 3}"),
  });

  it('proposes the queue and priority the Django settings route a Python task to', async () => {
    const { page } = s;
    await e2e.focusView(page, 'Tasks');
    await rowsOf(page, 'Tasks', 'the definitions found', (rows) => rows.some((r) => r.label === 'Definitions in this workspace' && Number(r.description) >= 6));
    assert.equal(await proposedOptions(page), 'invoices 3 0');
    await page.locator('.quick-input-widget input.input').press('Enter');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: STEP_4 }).waitFor({ state: 'hidden', timeout: TIMEOUT });
    await e2e.retry(`${TASK} waiting in invoices`, TIMEOUT, async () =>
      ((await (await s.client.broker()).depths(['invoices']))[0]?.total === 1 ? true : undefined));
  });

  /** The file watcher's event comes when it comes: asks until the flow proposes `expected`. */
  async function untilProposed(expected: string): Promise<void> {
    const { page } = s;
    await e2e.retry(`"${expected}" proposed`, 60_000, async () => {
      try {
        return (await proposedOptions(page)) === expected ? true : undefined;
      } finally {
        await page.keyboard.press('Escape');
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: TIMEOUT });
      }
    });
  }

  it('follows the settings when they change on disk', async () => {
    routeBuildTasks(s.workspace, "'slow-lane'");
    await untilProposed('slow-lane 0 0');
  });

  it('proposes the default queue again once the settings are gone', async () => {
    rmSync(join(s.workspace, 'shop/settings.py'));
    await untilProposed('celery 0 0');
  });
});
