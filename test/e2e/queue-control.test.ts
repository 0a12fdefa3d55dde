/**
 * Queue control as a user does it in the real workbench (code-server + chromium) on a copy of examples/ts-tasks:
 * right-click the celery queue -> Pause Queue, the row says paused and a task sent waits in it; Resume Queue, it
 * runs. Right-click another worker -> Drain and Stop Worker..., confirmed, and it goes.
 * Screenshots: test-results/radish-queue-paused.png, test-results/radish-worker-drained.png.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { answerModal, e2e, projectWorkbench, rowsOf, statusBar, toast, toastsSettled, type Row } from '../support/workbench';

const DRAINED = 'drain@e2e';

describe('queue control (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  let app: Radish | undefined;
  let other: Worker | undefined;
  const s = projectWorkbench('radish-e2e-queue-control', {
    showRadish: true,
    // Another worker on the broker, on a queue of its own, for Drain and Stop.
    beforeOpen: async (url) => {
      app = new Radish({ broker: url });
      other = new Worker(app, { hostname: DRAINED, queues: ['drainq'], logger: createLogger('critical') });
      await other.start();
    },
    cleanup: async () => {
      await other?.stop({ cold: true });
      await app?.close();
    },
  });
  const celery = (rows: Row[]) => rows.find((r) => r.label === 'celery');

  it('right-click a queue -> Pause Queue: the row shows paused, a task sent waits; Resume Queue: it runs', async () => {
    const { page } = s;
    await e2e.runCommand(page, 'Radish: Start Worker');
    await statusBar(page, /Radish: running/, 60_000);
    await e2e.focusView(page, 'Queues');
    await rowsOf(page, 'Queues', 'the celery queue', (r) => celery(r)?.description === '0 waiting');
    await e2e.contextMenu(page, await e2e.treeRow(page, 'Queues', 'celery'), 'Pause Queue');
    await toast(page, /paused queue celery: its messages wait in it/);
    await rowsOf(page, 'Queues', 'celery paused', (r) => celery(r)?.description === 'paused · 0 waiting');

    const sent = await s.client.send('tasks.add', [2, 3]);
    await rowsOf(page, 'Queues', 'the task waiting in the paused queue', (r) => celery(r)?.description === 'paused · 1 waiting');
    assert.equal(await sent.state(), 'PENDING');
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-queue-paused');

    await e2e.contextMenu(page, await e2e.treeRow(page, 'Queues', 'celery'), 'Resume Queue');
    await toast(page, /resumed queue celery: its workers take from it again/);
    assert.equal(await sent.get({ timeout: 20_000 }), 5);
    await rowsOf(page, 'Queues', 'celery running again', (r) => celery(r)?.description === '0 waiting');
  });

  it('right-click a worker -> Drain and Stop Worker...: after the confirmation it drains, stops, and its row goes', async () => {
    const { page } = s;
    await e2e.focusView(page, 'Workers');
    await e2e.contextMenu(page, await e2e.treeRow(page, 'Workers', DRAINED), 'Drain and Stop Worker...');
    await answerModal(page, 'Drain and Stop');
    await toast(page, new RegExp(`${DRAINED} finished what it held and stopped`), 60_000);
    await rowsOf(page, 'Workers', `${DRAINED} gone`, (r) => !r.some((row) => row.label === DRAINED));
    await toastsSettled(page);
    await e2e.screenshot(page, 'radish-worker-drained');
  });
});
