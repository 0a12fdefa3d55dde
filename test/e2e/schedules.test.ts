/**
 * The Schedules view as a user sees it in the real workbench (code-server + chromium) on a copy of examples/ts-tasks,
 * with a radish beat running on the suite's Redis: the schedule with its next run; right-click -> Pause turns the
 * row paused, Resume turns it back; the inline Run Now sends it and its notification says how it went.
 * Screenshot: test-results/radish-schedules.png.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { Beat } from '../../runner/beat/beat';
import { createLogger } from '../../runner/log';
import { clearNotifications, e2e, projectWorkbench, rowsOf, statusBar, toast, toastsSettled, type Row } from '../support/workbench';

const NAME = 'add-every-30s';

describe('Schedules view (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let app: Radish | undefined;
  let beat: Beat | undefined;
  const s = projectWorkbench('radish-e2e-schedules', {
    showRadish: true,
    // The example's own schedule, sent by a scheduler as `radish beat -A tasks.ts` runs it.
    beforeOpen: async (url) => {
      app = new Radish({ broker: url });
      app.schedule(NAME, { task: 'tasks.add', every: 30, args: [1, 2] });
      beat = new Beat(app, { logger: createLogger('critical') });
      await beat.start();
    },
    cleanup: async () => {
      await beat?.stop();
      await app?.close();
    },
  });
  const row = (rows: Row[]) => rows.find((r) => r.label === NAME);

  it('lists the schedule with its next run and timing', async () => {
    await e2e.focusView(s.page, 'Schedules');
    const rows = await rowsOf(s.page, 'Schedules', `${NAME} with its next run`, (r) => /^(in < 1 min|due now) · every 30 s$/.test(row(r)?.description ?? ''));
    assert.ok(row(rows));
  });

  it('right-click -> Pause Schedule: the row shows paused; Resume Schedule: its next run again', async () => {
    const { page } = s;
    await e2e.contextMenu(page, await e2e.treeRow(page, 'Schedules', NAME), 'Pause Schedule');
    await rowsOf(page, 'Schedules', `${NAME} paused`, (r) => row(r)?.description === 'paused · every 30 s');
    await toast(page, /Paused add-every-30s: radish beat skips its ticks until you resume it/);
    const store = (await s.client.sharedStore())!;
    assert.equal(await store.redis.hexists(store.keys.beatPaused, NAME), 1, 'paused in the shared store');

    await e2e.contextMenu(page, await e2e.treeRow(page, 'Schedules', NAME), 'Resume Schedule');
    await rowsOf(page, 'Schedules', `${NAME} active again`, (r) => /^in < 1 min · every 30 s$/.test(row(r)?.description ?? ''));
    await toast(page, /Resumed add-every-30s: its next run is counted from now/);
    assert.equal(await store.redis.hexists(store.keys.beatPaused, NAME), 0);
  });

  it('Run Schedule Now (inline) sends it; the notification says it succeeded', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Radish: Start Worker');
    await statusBar(page, /Radish: running/, 60_000);
    await clearNotifications(page);
    await e2e.focusView(page, 'Schedules');
    await e2e.rowAction(page, await e2e.treeRow(page, 'Schedules', NAME), 'Run Schedule Now');
    await toast(page, /tasks\.add\[[0-9a-f]{8}\] \(schedule add-every-30s, run now\) succeeded: 3/, 60_000);
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-schedules');
  });
});
