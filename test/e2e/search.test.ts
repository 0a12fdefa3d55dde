/**
 * Search inside tasks and bulk actions as a user works them (issue 18, "Search and bulk actions"), in the real
 * workbench (code-server in headless chromium) on a copy of examples/ts-tasks, against a private redis-server seeded
 * by a real worker with events on: orders that succeed, time out or are refused. The Failed view's filter is typed
 * into its quick input (`exc:Timeout`) and lists exactly those failures; Retry All Matching asks with the count and
 * the filter, retries them and says how many; the Tasks view's filter finds a task by its arguments (`args:order-42`);
 * its bulk actions take only what they can act on and have not yet, so running one again finds nothing left.
 * The views poll only every 10 minutes, so what changes on screen was changed by the action itself.
 * Screenshots go to test-results/radish-search-*.png.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Inspector } from '../../runner/inspector';
import { Monitor } from '../../runner/monitor/monitor';
import { parseQuery, searchFailures } from '../../runner/monitor/search';
import { Worker } from '../../runner/worker/worker';
import { activityBadge, answerModal, answerStep, clearNotifications, e2e, modalText, projectWorkbench, settledRowsOf, toastsSettled, viewMenuAction, type Row } from '../support/workbench';
import { until } from '../support/wait';

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}
class ValueError extends Error {
  override readonly name = 'ValueError';
}

/** Order numbers run, and their fate: n % 4 === 1 times out, n % 4 === 2 is refused, the rest succeed. */
// Few enough that a filtered view shows every row at the default height (a tree renders only the rows in view).
const ORDERS = [...Array.from({ length: 10 }, (_, n) => n), 42, 420, 421];
const fate = (n: number): 'ok' | 'timeout' | 'value' => (n % 4 === 1 ? 'timeout' : n % 4 === 2 ? 'value' : 'ok');

/** Run the orders through a Radish worker with events, recorded into the task history as the extension records them. */
async function seed(url: string): Promise<Map<number, string>> {
  const app = new Radish({ broker: url });
  app.task('orders.process', (order: string) => {
    const n = Number(order.slice('order-'.length));
    if (fate(n) === 'timeout') throw new TimeoutError(`order ${order} timed out`);
    if (fate(n) === 'value') throw new ValueError(`order ${order} is not valid`);
    return `done ${order}`;
  });
  const monitor = Monitor.forApp(app);
  const worker = new Worker(app, { hostname: 'seeder@e2e', events: true, concurrency: 10, logger: createLogger('error', () => undefined) });
  const ids = new Map<number, string>();
  try {
    await monitor.start();
    await worker.start();
    for (const n of ORDERS) ids.set(n, (await app.send('orders.process', [`order-${n}`])).id);
    await until(async () => {
      const records = await monitor.history.load([...ids.values()]);
      return records.length === ids.size && records.every((r) => r.state === 'SUCCESS' || r.state === 'FAILURE');
    }, 'the seeded tasks to finish in the history', 30_000, 50);
    const failing = ORDERS.filter((n) => fate(n) !== 'ok').length;
    await until(async () => (await (await app.broker()).deadLetterCount()) === failing, 'the failures to be dead-lettered', 10_000, 50);
  } finally {
    await worker.stop();
    await monitor.close();
    await app.close();
  }
  return ids;
}

/** How many failures match `query`, read by the runner beside the window. */
async function searchCount(client: Radish, query: string): Promise<number> {
  return (await searchFailures(new Inspector(client), parseQuery(query), { countAll: true })).matched;
}

describe('search inside tasks and bulk actions (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let ids = new Map<number, string>();
  const s = projectWorkbench('radish-search-e2e', {
    userSettings: { 'radish.refreshInterval': 600 },
    showRadish: true,
    beforeOpen: async (url) => {
      ids = await seed(url);
    },
  });

  const timeouts = () => ORDERS.filter((n) => fate(n) === 'timeout');
  const taskRows = (rows: Row[]) => rows.filter((r) => !r.label.startsWith('Filtered:'));

  it('the Failed view\'s filter, typed as a user types it, lists exactly the matching failures', async () => {
    const { page } = s;
    const failing = ORDERS.filter((n) => fate(n) !== 'ok').length;
    // The badge counts them all (the pane renders only the rows in view).
    await e2e.retry(`the Radish badge to count ${failing} failures`, 20_000, async () => ((await activityBadge(page, 'Radish')) === failing ? true : undefined));
    await e2e.viewAction(page, 'Failed', 'Filter Failed Tasks...');
    await answerStep(page, /Filter failed tasks/, 'exc:Timeout');
    const rows = await settledRowsOf(page, 'Failed', 'the timeouts only', (r) => r[0]?.label === 'Filtered: exc:Timeout' && taskRows(r).length === timeouts().length);
    assert.ok(taskRows(rows).every((r) => r.label === 'orders.process' && /^TimeoutError/.test(r.description)), JSON.stringify(rows));
    // The badge still counts every failure, and the filter row says so.
    assert.match(rows[0]!.description, new RegExp(`^${timeouts().length} of ${failing} failed · searched .* · click to clear`));
    await e2e.screenshot(page, 'radish-search-failed-filtered');
  });

  it('Retry All Matching asks with the count and the filter, retries exactly those and says how many', async () => {
    const { page } = s;
    const broker = await s.client.broker();
    const lettersBefore = await broker.deadLetterCount();
    await e2e.viewAction(page, 'Failed', 'Retry All Matching...');
    const question = await modalText(page);
    assert.match(question, new RegExp(`Retry ${timeouts().length} failed tasks matching "exc:Timeout"\\?`));
    await e2e.screenshot(page, 'radish-search-retry-confirm');
    await answerModal(page, 'Retry');
    const said = await e2e.waitForNotification(page, /Retried \d+ of \d+ matching/);
    assert.match(said, new RegExp(`Retried ${timeouts().length} of ${timeouts().length} matching\\.`));
    await settledRowsOf(page, 'Failed', 'no timeout left', (r) => r[0]?.label === 'Filtered: exc:Timeout' && r.some((x) => x.label.startsWith('No failed task matches')));
    assert.equal(await broker.deadLetterCount(), lettersBefore - timeouts().length, 'their dead letters went, no other');
    // No worker runs: the retries wait in the queue, as new tasks of the same orders.
    const waiting = (await broker.peek('celery', 0, 100)).map((m) => JSON.parse(Buffer.from((JSON.parse(m.raw) as { body: string }).body, 'base64').toString()) as [string[]]);
    assert.deepEqual(waiting.map(([args]) => args[0]).sort(), timeouts().map((n) => `order-${n}`).sort());
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-search-retried');
    await e2e.viewAction(page, 'Failed', 'Clear Failed Filter');
    await settledRowsOf(page, 'Failed', 'the other failures', (r) => r.length > 0 && r.every((x) => x.label === 'orders.process' && /^ValueError/.test(x.description)));
    await clearNotifications(page);
  });

  it('the Tasks view\'s filter finds tasks by their arguments (args:order-42)', async () => {
    const { page } = s;
    await e2e.viewAction(page, 'Tasks', 'Filter Tasks...');
    await answerStep(page, /Filter tasks/, 'args:order-42');
    const rows = await settledRowsOf(page, 'Tasks', 'the orders 42, 420 and 421', (r) => r[0]?.label === 'Filtered: args:order-42'
      && taskRows(r).filter((x) => x.label === 'orders.process').length === 3);
    const found = taskRows(rows).filter((x) => x.label === 'orders.process');
    // 42 was refused, 420 succeeded, 421 timed out (and its retry waits in the queue: its record stays as it was).
    assert.deepEqual(found.map((r) => r.description.split(' · ')[0]).sort(), [42, 420, 421].map((n) => (fate(n) === 'ok' ? 'SUCCESS' : 'FAILURE')).sort());
    assert.equal(ids.size, ORDERS.length);
    await e2e.screenshot(page, 'radish-search-tasks-args');
  });

  it('Retry All Matching in the Tasks view retries the matching tasks; Revoke All Matching revokes the unfinished ones', async () => {
    const { page } = s;
    const broker = await s.client.broker();
    const waitingBefore = (await broker.depths(['celery']))[0]!.total;
    // Only the finished tasks that did not succeed and were not retried yet: 42 (refused); not 420 (succeeded),
    // nor 421 (its timeout was retried from the Failed view).
    await viewMenuAction(page, 'Tasks', 'Retry All Matching Tasks...');
    assert.match(await modalText(page), /Retry 1 finished task matching "args:order-42"\?/);
    await answerModal(page, 'Retry');
    assert.match(await e2e.waitForNotification(page, /Retried \d+ of \d+ matching/), /Retried 1 of 1 matching\./);
    assert.equal((await broker.depths(['celery']))[0]!.total, waitingBefore + 1);
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-search-tasks-retried');
    await clearNotifications(page);
    // Run again: the rest, which is nothing (its copy is queued, the original retried).
    await viewMenuAction(page, 'Tasks', 'Retry All Matching Tasks...');
    await e2e.waitForNotification(page, /no finished task matches "args:order-42"/);
    assert.equal((await broker.depths(['celery']))[0]!.total, waitingBefore + 1);
    await clearNotifications(page);

    // A retry from a failure is a replay (no task-sent event): an app beside the editor sends two more orders that
    // match, announced, and no worker takes them. The view shows them without searching again (it reads what changed).
    const sender = new Radish({ broker: s.redis.url, sendEvents: true });
    try {
      await sender.send('orders.process', ['order-4200']);
      await sender.send('orders.process', ['order-4201']);
    } finally {
      await sender.close();
    }
    const sentRows = await settledRowsOf(page, 'Tasks', 'the new orders as sent', (r) => r.filter((x) => /^SENT/.test(x.description)).length === 2);
    const unfinished = sentRows.filter((x) => /^SENT/.test(x.description)).length;
    await viewMenuAction(page, 'Tasks', 'Revoke All Matching Tasks...');
    assert.match(await modalText(page), new RegExp(`Revoke ${unfinished} unfinished tasks? matching "args:order-42"\\?`));
    await e2e.screenshot(page, 'radish-search-revoke-confirm');
    await answerModal(page, 'Revoke');
    assert.match(await e2e.waitForNotification(page, /Revoked \d+ of \d+ matching/), new RegExp(`Revoked ${unfinished} of ${unfinished} matching\\.`));
    await clearNotifications(page);
    // They stay SENT in the history (no worker took them), but are revoked: run again, nothing is left to revoke.
    await viewMenuAction(page, 'Tasks', 'Revoke All Matching Tasks...');
    await e2e.waitForNotification(page, /no unfinished task matches "args:order-42"/);
    await clearNotifications(page);
  });

  it('Discard All Matching in the Failed view asks with the count, then removes exactly those', async () => {
    const { page } = s;
    const broker = await s.client.broker();
    const refused = await searchCount(s.client, 'exc:ValueError');
    assert.ok(refused > 0);
    await e2e.viewAction(page, 'Failed', 'Filter Failed Tasks...');
    await answerStep(page, /Filter failed tasks/, 'exc:ValueError');
    await settledRowsOf(page, 'Failed', 'the refused orders', (r) => r[0]?.label === 'Filtered: exc:ValueError' && taskRows(r).length === refused);
    const letters = await broker.deadLetterCount();
    await viewMenuAction(page, 'Failed', 'Discard All Matching...');
    assert.match(await modalText(page), new RegExp(`Discard ${refused} failed tasks? matching "exc:ValueError"\\?`));
    await answerModal(page, 'Discard');
    assert.match(await e2e.waitForNotification(page, /Discarded \d+ of \d+ matching/), new RegExp(`Discarded ${refused} of ${refused} matching\\.`));
    await settledRowsOf(page, 'Failed', 'none left', (r) => r.some((x) => x.label.startsWith('No failed task matches')));
    assert.equal(await broker.deadLetterCount(), letters - refused);
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-search-discarded');
  });
});
