/**
 * The Metrics view in the real workbench (code-server + chromium) on a copy of examples/ts-tasks: two Radish workers
 * run a mix of tasks against the suite's redis-server and write the metrics history; the hour before is replayed
 * through the same writer (runner/worker/metrics-history.ts) on a fake clock, so the charts have an hour to draw.
 * The user opens Metrics from the Queues view's title, sees the charts drawn with their legends and the totals of
 * what ran, switches the range and the task, and the screenshot goes to test-results/radish-metrics.png and
 * media/screenshots/metrics.png (the README's).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Radish } from '../../runner/app';
import { Keys } from '../../runner/broker/keys';
import { createLogger } from '../../runner/log';
import { HISTORY_TTL_SEC, queueField, SAMPLER_FIELD } from '../../runner/metrics/history-buckets';
import { minuteOf } from '../../runner/metrics/history-buckets';
import { SETTLE_MS } from '../../runner/metrics/history-reader';
import { MetricsHistoryWriter, type WorkerEventSource } from '../../runner/worker/metrics-history';
import type { TaskMessage } from '../../runner/protocol/message';
import { Worker } from '../../runner/worker/worker';
import { delay, prng, until } from '../support/wait';
import { taskPage, type FrameLocator } from '../support/webview';
import { e2e, projectWorkbench, ROOT, TIMEOUT, type Page } from '../support/workbench';

/** Minutes of history replayed before now (fewer than the hour the view first reads: see replayLastHour). */
const REPLAY_MINUTES = 56;

/** A `<select>` in the webview, as Playwright drives it. */
type SelectLocator = FrameLocator & { selectOption(value: string, options?: { timeout?: number }): Promise<string[]> };

interface Totals {
  ran: number;
  failed: number;
  /** Runs per task name. */
  byTask: Map<string, number>;
  /** The last minute written (the view shows it once it has ended). */
  lastMinute: number;
}

function count(totals: Totals, task: string, n = 1): void {
  totals.byTask.set(task, (totals.byTask.get(task) ?? 0) + n);
}

/**
 * The hour before now, replayed through the workers' writer on a fake clock: a day-shaped load of quick adds, slower
 * e-mails and thumbnails, a few failures and retries, one write per minute; and a queue sample per minute.
 */
async function replayLastHour(redisUrl: string, totals: Totals): Promise<void> {
  const app = new Radish({ broker: redisUrl });
  try {
    const store = await app.requireSharedStore('the replay');
    const random = prng(18);
    // Fewer than 60 minutes: the hour the view reads still holds them all when it reads minutes later (it waits for
    // the last of them to end, and shows whole minutes only). Up to the minute after the one under way, so the charts
    // run on into the live run's minute (this one or the next) without a quiet or a thin minute at their right edge.
    let now = (minuteOf(Date.now()) - REPLAY_MINUTES + 2) * 60_000;
    const events = new EventEmitter();
    const writer = new MetricsHistoryWriter({
      store, broker: await app.broker(), hostname: 'replay@e2e', queues: () => ['celery'], logger: createLogger('error', () => undefined), intervalSec: 3600, now: () => now,
    });
    writer.attach(events as unknown as WorkerEventSource);
    let id = 0;
    const runOne = (task: string, queue: string, runtimeSec: number, outcome: 'ok' | 'fail' | 'retry') => {
      const tid = `replay-${id++}`;
      events.emit('task-received', tid, { name: task, routingKey: queue, exchange: '' } as TaskMessage);
      events.emit('task-started', tid);
      if (outcome === 'ok') {
        events.emit('task-succeeded', tid, null, runtimeSec);
      } else {
        const started = now;
        now += runtimeSec * 1000;
        events.emit(outcome === 'fail' ? 'task-failed' : 'task-retried', tid, { type: 'Error', message: 'replayed' });
        now = started;
      }
      totals.ran++;
      if (outcome === 'fail') totals.failed++;
      count(totals, task);
    };
    const keys = new Keys();
    for (let m = 0; m < REPLAY_MINUTES; m++) {
      const load = 0.6 + 0.4 * Math.sin(m / 9) + 0.15 * random();
      for (let i = 0; i < Math.round(160 * load); i++) runOne('tasks.add', 'celery', 0.002 + random() * 0.01, 'ok');
      for (let i = 0; i < Math.round(35 * load); i++) runOne('emails.send', 'celery', 0.15 + random() ** 2 * 0.9, random() < 0.03 ? 'retry' : 'ok');
      for (let i = 0; i < Math.round(14 * load); i++) runOne('images.thumbnail', 'images', 0.8 + random() * 2.5, 'ok');
      if (random() < 0.35) for (let i = 0; i < 1 + Math.floor(random() * 3); i++) runOne('tasks.fail', 'celery', 0.004, 'fail');
      now += 59_000;
      await writer.flush();
      const depth = Math.max(0, Math.round(70 * (load - 0.55) + random() * 8));
      const key = keys.metricsQueues(minuteOf(now));
      await store.redis.multi()
        .hset(key, queueField('depth', 'celery'), depth, queueField('age', 'celery'), depth ? (depth / 6 + random() * 3).toFixed(1) : 0,
          queueField('depth', 'images'), Math.round(depth / 3), queueField('age', 'images'), depth ? (depth / 2 + random() * 5).toFixed(1) : 0)
        .expire(key, HISTORY_TTL_SEC)
        .exec();
      now += 1000;
    }
    await writer.stop();
    totals.lastMinute = Math.max(totals.lastMinute, minuteOf(now) - 1);
  } finally {
    await app.close();
  }
}

/** The value of a totals tile (`tasks`, `failed`, `p95`...) once it reads `expected`. */
async function tile(page: Page, metric: string, expected: string | RegExp): Promise<string> {
  const value = taskPage(page).locator(`.tile[data-metric="${metric}"] .value`);
  let last = '';
  return e2e.retry(`the ${metric} tile to read ${expected}`, TIMEOUT, async () => {
    last = (await value.innerText({ timeout: 2000 }).catch(() => '')).trim();
    return (typeof expected === 'string' ? last === expected : expected.test(last)) ? last : undefined;
  }).catch((err: Error) => { throw new Error(`${err.message}; it reads "${last}"`); });
}

const n = (v: number) => v.toLocaleString('en-US');

describe('the Metrics view (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const totals: Totals = { ran: 0, failed: 0, byTask: new Map(), lastMinute: 0 };
  const apps: Radish[] = [];
  const s = projectWorkbench('radish-e2e-metrics', {
    showRadish: true,
    settings: { 'radish.refreshInterval': 600 },
    beforeOpen: (url) => replayLastHour(url, totals),
    cleanup: async () => { await Promise.all(apps.map((a) => a.close())); },
  });

  before(async function () {
    if (!e2e.hostInstalled()) return;
    // Two workers (each with its connection, as two processes) run a mix now and write it within a second.
    const workers = [0, 1].map((i) => {
      const app = new Radish({ broker: s.redis.url });
      app.task('tasks.add', (x: number, y: number) => x + y);
      app.task('emails.send', async (to: string) => { await delay(40); return `sent to ${to}`; });
      app.task('tasks.fail', (value: string) => { throw new RangeError(`invalid value ${value}`); });
      apps.push(app);
      return new Worker(app, { hostname: `metrics${i + 1}@e2e`, concurrency: 4, logger: createLogger('error', () => undefined), metricsHistory: { intervalSec: 1 } });
    });
    await Promise.all(workers.map((w) => w.start()));
    const sent = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => s.client.send('tasks.add', [i, 1])),
      ...Array.from({ length: 8 }, (_, i) => s.client.send('emails.send', [`user${i}@example.com`])),
      ...Array.from({ length: 3 }, (_, i) => s.client.send('tasks.fail', [`v${i}`])),
    ]);
    await Promise.all(sent.map((r) => r.get({ timeout: 20_000 }).catch(() => undefined)));
    // One of them samples the queues for this minute (the hour replayed wrote a sample per minute).
    const store = await s.client.requireSharedStore('the test');
    const sampled = async () => {
      for (const key of await store.redis.keys('radish.metrics.queues.*')) if (await store.redis.hexists(key, SAMPLER_FIELD)) return true;
      return false;
    };
    await until(sampled, 'a queue sample of this minute', 10_000);
    await Promise.all(workers.map((w) => w.stop()));
    // The view shows whole minutes only (the minute under way is not written yet): wait until the last written has ended.
    totals.lastMinute = Math.max(totals.lastMinute, minuteOf(Date.now()));
    await delay(Math.max(0, (totals.lastMinute + 1) * 60_000 + SETTLE_MS - Date.now()));
    totals.ran += 41;
    totals.failed += 3;
    count(totals, 'tasks.add', 30);
    count(totals, 'emails.send', 8);
    count(totals, 'tasks.fail', 3);
  });

  it('opens from the Queues view\'s title and draws the charts of what ran, with legends and totals', async () => {
    const { page } = s;
    await e2e.viewAction(page, 'Queues', 'Show Metrics');
    await page.locator('.tabs-container .tab.active', { hasText: 'Radish Metrics' }).first().waitFor({ timeout: TIMEOUT });
    const view = taskPage(page);
    await tile(page, 'tasks', n(totals.ran));
    await tile(page, 'failed', n(totals.failed));
    await tile(page, 'p95', /\d+(\.\d)? (ms|s)$/);
    for (const chart of ['throughput', 'failures', 'runtime', 'depth', 'age']) {
      await view.locator(`#chart-${chart} canvas`).first().waitFor({ timeout: TIMEOUT });
    }
    const legend = await view.locator('#chart-runtime .u-legend').innerText({ timeout: TIMEOUT });
    assert.match(legend, /p50/);
    assert.match(legend, /p95/);
    const queues = await view.locator('#chart-depth .u-legend').innerText({ timeout: TIMEOUT });
    assert.match(queues, /celery/);
    assert.match(queues, /images/);
    // The pickers offer every task and queue written.
    const tasks = await view.locator('select#task').innerText({ timeout: TIMEOUT });
    for (const name of totals.byTask.keys()) assert.ok(tasks.includes(name), `${name} in ${tasks}`);
  });

  it('switches the range and the task', async () => {
    const { page } = s;
    const view = taskPage(page);
    await view.locator('button.range', { hasText: '3 d' }).click({ timeout: TIMEOUT });
    await view.locator('button.range.on', { hasText: '3 d' }).waitFor({ timeout: TIMEOUT });
    await tile(page, 'tasks', n(totals.ran));
    await (view.locator('select#task') as SelectLocator).selectOption('tasks.fail', { timeout: TIMEOUT });
    await tile(page, 'tasks', n(totals.byTask.get('tasks.fail')!));
    await tile(page, 'failed', n(totals.byTask.get('tasks.fail')!));
    await (view.locator('select#task') as SelectLocator).selectOption('', { timeout: TIMEOUT });
    await view.locator('button.range', { hasText: '1 h' }).click({ timeout: TIMEOUT });
    await view.locator('button.range.on', { hasText: '1 h' }).waitFor({ timeout: TIMEOUT });
    await tile(page, 'tasks', n(totals.ran));
    // The status bar's tooltip says the last minutes in words.
    const item = page.locator('.part.statusbar .statusbar-item', { hasText: /Radish: / }).first();
    const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: 'Last 5 min' }).first();
    const said = await e2e.retry('the status bar tooltip with the last minutes', TIMEOUT, async () => {
      await page.mouse.move(700, 400);
      await item.hover({ timeout: 2000 });
      return hover.innerText({ timeout: 2000 }).catch(() => undefined);
    });
    assert.match(said, /Last 5 min: [\d,]+ tasks, [\d,]+ failed(, [\d,]+ retried)?, p95 [\d.]+ (ms|s); celery: \d+ waiting/);
    assert.match(said, /Open Metrics/);
    // Opened again from the palette: the same tab.
    await e2e.runCommand(page, 'Radish: Show Metrics');
    assert.equal(await page.locator('.tabs-container .tab', { hasText: 'Radish Metrics' }).count(), 1);
    await page.mouse.move(900, 120);
    await delay(500);
    const shot = await e2e.screenshot(page, 'radish-metrics');
    mkdirSync(join(ROOT, 'media', 'screenshots'), { recursive: true });
    copyFileSync(shot, join(ROOT, 'media', 'screenshots', 'metrics.png'));
  });
});
