/**
 * The Failed view as a user works it (issue 14, point 3), in the real workbench (code-server in headless chromium)
 * on a copy of examples/ts-tasks, against a private redis-server seeded with failures of both kinds: Radish ones
 * (in the dead-letter list AND stored as a FAILURE result) and Celery ones (only a stored FAILURE result, with or
 * without `result_extended`). One failed task is one row and one badge count; Discard removes it in one go and says
 * so; Retry All acts on what is listed and reports what it did; Discard All asks first, with the count. The views
 * poll only every 10 minutes here, so whatever changes on screen was changed by the action itself.
 * Screenshots go to test-results/radish-failed-*.png.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import {
  activityBadge, answerModal, clearNotifications, e2e, modalText, projectWorkbench, settledRowsOf, toastsSettled, viewMenuAction,
  type Page, type Row,
} from '../support/workbench';

class ValueError extends Error {
  override readonly name = 'ValueError';
}

/** Fail `tasks.fail(value)` on a Radish worker: dead-lettered, with its FAILURE result stored. Returns its id. */
async function radishFailure(url: string, name: string, value: string): Promise<string> {
  const app = new Radish({ broker: url });
  const lines: string[] = [];
  const worker = new Worker(app, { hostname: 'seeder@e2e', logger: createLogger('info', (l) => lines.push(l)) });
  try {
    app.task(name, (v: string) => { throw new ValueError(`cannot use ${JSON.stringify(v)}`); });
    await worker.start();
    const failed = once(worker, 'task-failed', { signal: AbortSignal.timeout(15_000) });
    const sent = await app.send(name, [value]);
    // Emitted once the FAILURE is stored and the message is in the dead-letter list.
    const [id] = (await failed) as [string];
    assert.equal(id, sent.id, `the seeded failure (worker log:\n${lines.join('\n')})`);
    assert.equal((await (await app.backend()).get(id))?.status, 'FAILURE');
    return id;
  } finally {
    await worker.stop();
    await app.close();
  }
}

/** A failure as a Celery worker leaves it: only a stored FAILURE result, with its name and args when `extended`. */
async function celeryFailure(client: Radish, name: string | undefined, args: unknown[]): Promise<string> {
  const id = randomUUID();
  await (await client.backend()).store({
    taskId: id, state: 'FAILURE',
    result: { exc_type: 'ValueError', exc_message: [`not now: ${JSON.stringify(args)}`], exc_module: 'builtins' },
    traceback: 'Traceback (most recent call last):\n  File "orders/tasks.py", line 9, in flaky\nValueError: not now',
    extended: name ? { name, args, kwargs: {}, worker: 'celery@py', retries: 0, queue: 'celery' } : null,
  });
  return id;
}

const short = (id: string) => id.slice(0, 8);

describe('the Failed view (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let server: Worker | undefined;
  /** The app the server worker runs: closed after it, or its connections would retry a stopped Redis for ever. */
  let serverApp: Radish | undefined;
  /** The seeded failures: Radish `tasks.fail` and `tasks.flaky`; Celery `tasks.flaky` with and without a name. */
  const ids = { fail: '', flaky: '', celery: '', bare: '' };
  const s = projectWorkbench('radish-failed-e2e', {
    userSettings: { 'radish.refreshInterval': 600 },
    showRadish: true,
    beforeOpen: async (url) => {
      ids.fail = await radishFailure(url, 'tasks.fail', 'seven');
      ids.flaky = await radishFailure(url, 'tasks.flaky', 'b');
      ids.celery = await celeryFailure(s.client, 'tasks.flaky', ['c']);
      ids.bare = await celeryFailure(s.client, undefined, ['d']);
    },
    cleanup: async () => {
      await server?.stop();
      await serverApp?.close();
    },
  });

  /** The Failed view's rows, once `accept` holds. */
  function failedRows(page: Page, what: string, accept: (rows: Row[]) => boolean): Promise<Row[]> {
    return settledRowsOf(page, 'Failed', what, accept, 10_000);
  }

  /** The Radish container's badge, once it is `expected` (undefined: no badge). */
  async function badgeIs(page: Page, expected: number | undefined): Promise<void> {
    await e2e.retry(`the Radish badge to be ${expected ?? 'gone'}`, 10_000, async () => ((await activityBadge(page, 'Radish')) === expected ? true : undefined))
      .catch(async (err: Error) => { throw new Error(`${err.message}; it shows ${await activityBadge(page, 'Radish')}`); });
  }

  it('lists one row per failed task and counts them in the badge; Discard removes one in one go and says so', async () => {
    const { page } = s;
    const rows = await failedRows(page, 'the four seeded failures', (r) => r.length >= 4);
    const labels = (list: Row[]) => list.map((r) => r.label).sort();
    assert.deepEqual(labels(rows), [ids.bare, 'tasks.fail', 'tasks.flaky', 'tasks.flaky'].sort(), `one row per failed task: ${JSON.stringify(rows)}`);
    await badgeIs(page, 4);
    await e2e.screenshot(page, 'radish-failed-listed');

    const row = e2e.viewPane(page, 'Failed').locator('.monaco-list-row', { hasText: 'tasks.fail' }).first();
    await e2e.contextMenu(page, row, 'Discard');
    const said = await e2e.waitForNotification(page, /Discarded tasks\.fail\[/);
    assert.match(said, new RegExp(`Discarded tasks\\.fail\\[${short(ids.fail)}\\]`));
    // Gone at once (no poll comes for 10 minutes), and not back as its stored FAILURE.
    const left = await failedRows(page, 'tasks.fail gone', (r) => !r.some((x) => x.label === 'tasks.fail'));
    assert.deepEqual(labels(left), [ids.bare, 'tasks.flaky', 'tasks.flaky'].sort());
    await badgeIs(page, 3);
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-failed-discarded');
    // Nothing of it is left in Redis: the dead-letter record and the stored FAILURE are both gone.
    const broker = await s.client.broker();
    assert.ok(!(await broker.deadLetters(0, 100)).some((s) => s.includes(ids.fail)), 'the dead-letter record is gone');
    assert.equal(await (await s.client.backend()).get(ids.fail), null, 'the stored FAILURE is gone');
    // A refresh shows the same.
    await e2e.viewAction(page, 'Failed', 'Refresh');
    await new Promise((r) => setTimeout(r, 1000));
    await failedRows(page, 'still three rows after a refresh', (r) => r.length === 3 && !r.some((x) => x.label === 'tasks.fail'));
    await badgeIs(page, 3);
    await clearNotifications(page);
  });

  it('Retry All retries what is listed (dead letters and retryable Celery failures) and reports what it did', async () => {
    const { page } = s;
    // A worker for the retried tasks: this time tasks.flaky succeeds.
    const app = (serverApp = new Radish({ broker: s.redis.url }));
    app.task('tasks.flaky', (v: string) => `done ${v}`);
    app.task('tasks.fail', (v: string) => { throw new ValueError(`cannot use ${JSON.stringify(v)}`); });
    server = new Worker(app, { hostname: 'server@e2e', logger: createLogger('error', () => undefined) });
    await server.start();

    await e2e.viewAction(page, 'Failed', 'Retry All');
    const said = await e2e.waitForNotification(page, /retried \d+ failed task/i);
    assert.match(said, /Retried 2 failed tasks; 1 could not be retried: .*result_extended/);
    assert.ok(said.includes(short(ids.bare)), `names the one it could not retry: ${said}`);
    const left = await failedRows(page, 'only the unretryable failure left', (r) => r.length === 1);
    assert.deepEqual(left.map((r) => r.label), [ids.bare]);
    await badgeIs(page, 1);
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-failed-retried-all');
    // Both ran again, as new tasks, and succeeded; the failed attempts are no longer stored as failures.
    const outcomes = async () => {
      const redis = (await s.client.backend()).redis!;
      const keys = await redis.keys('celery-task-meta-*');
      const metas = await Promise.all(keys.map(async (k) => JSON.parse((await redis.get(k)) ?? 'null') as { task_id: string; status: string; result: unknown }));
      return metas.filter((m) => m.status === 'SUCCESS').map((m) => m.result).sort();
    };
    await e2e.retry('both retries to succeed', 15_000, async () => (JSON.stringify(await outcomes()) === JSON.stringify(['done b', 'done c']) ? true : undefined));
    for (const id of [ids.flaky, ids.celery]) assert.equal(await (await s.client.backend()).get(id), null, `the failed attempt ${id} is not listed as failed any more`);
    await clearNotifications(page);
  });

  it('Discard All asks first with the count: Cancel keeps everything, Discard All removes every listed task', async () => {
    const { page } = s;
    // One more Radish failure (dead letter + result), beside the Celery one left.
    const sent = await s.client.send('tasks.fail', ['nine']);
    await assert.rejects(sent.get({ timeout: 15_000 }), /cannot use/);
    await e2e.retry('the new dead letter', 10_000, async () => ((await (await s.client.broker()).deadLetterCount()) === 1 ? true : undefined));
    await e2e.viewAction(page, 'Failed', 'Refresh');
    await failedRows(page, 'the two failed tasks', (r) => r.length === 2);
    await badgeIs(page, 2);

    await viewMenuAction(page, 'Failed', 'Discard All Failed Tasks...');
    assert.match(await modalText(page), /Discard all 2 failed tasks\?/);
    await e2e.screenshot(page, 'radish-failed-discard-all-confirm');
    await answerModal(page, 'Cancel');
    await new Promise((r) => setTimeout(r, 1000));
    await failedRows(page, 'both still listed', (r) => r.length === 2);
    assert.equal(await (await s.client.broker()).deadLetterCount(), 1);
    assert.equal((await (await s.client.backend()).get(ids.bare))?.status, 'FAILURE');

    await viewMenuAction(page, 'Failed', 'Discard All Failed Tasks...');
    await modalText(page);
    await answerModal(page, 'Discard All');
    await e2e.waitForNotification(page, /Discarded 2 failed tasks/);
    await page.locator('.pane', { hasText: 'No failed tasks' }).first().waitFor({ timeout: 10_000 });
    await badgeIs(page, undefined);
    assert.equal(await (await s.client.broker()).deadLetterCount(), 0);
    assert.equal(await (await s.client.backend()).get(ids.bare), null);
    assert.equal(await (await s.client.backend()).get(sent.id), null);
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-failed-discarded-all');
  });
});
