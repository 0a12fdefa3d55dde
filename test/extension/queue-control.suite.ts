/**
 * Runs inside a real VS Code extension host (code-server), driven by test/extension/queue-control-host.test.ts, on a
 * copy of examples/ts-tasks, against the Redis in REDIS_URL: Pause Queue on a queue's row (the row says paused, a
 * task sent waits), Resume Queue (it runs), and Drain and Stop on another worker's row.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DrainOutcome, PauseOutcome, ResumeOutcome } from '../../runner/index';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import type { Services } from '../../extension/services';
import type { QueueNode } from '../../extension/views/queues';
import type { WorkerNode } from '../../extension/views/workers';
import { activate, waitFor } from './helpers';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('queue control in the cockpit', function () {
  this.timeout(120_000);
  let s: Services;

  before(async () => {
    s = await activate();
    await vscode.commands.executeCommand('radish.startWorker');
    await waitFor(async () => (await s.workers.getChildren()).some((n) => n.kind === 'local' && n.details !== undefined), 'the local worker on the broker');
  });

  after(async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
  });

  async function queueRow(name: string): Promise<Extract<QueueNode, { kind: 'queue' }>> {
    const row = (await s.queues.getChildren()).find((n): n is Extract<QueueNode, { kind: 'queue' }> => n.kind === 'queue' && n.depth.queue === name);
    assert.ok(row, `a row for queue ${name}`);
    return row;
  }

  it('Pause Queue on the celery row: the row says paused, a task sent waits in it; Resume Queue: it runs', async () => {
    const before = s.queues.getTreeItem(await queueRow('celery'));
    assert.equal(before.contextValue, 'queue');

    const paused = await vscode.commands.executeCommand<PauseOutcome>('radish.pauseQueue', await queueRow('celery'));
    assert.deepEqual(paused?.radish, [s.supervisor.nodeName], 'the local worker confirmed it');
    const item = s.queues.getTreeItem(await queueRow('celery'));
    assert.equal(item.contextValue, 'queue.paused');
    assert.match(String(item.description), /^paused · 0 waiting$/);
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'debug-pause');
    assert.match(String(item.tooltip), /A Celery worker started after the pause consumes it/);

    const app = await s.connection.client();
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'tasks.add', args: [20, 22] });
    await delay(1500);
    assert.equal((await queueRow('celery')).depth.total, 1, 'the task waits in the paused queue');
    assert.equal(await (await app.asyncResult(id)).state(), 'PENDING');

    const resumed = await vscode.commands.executeCommand<ResumeOutcome>('radish.resumeQueue', await queueRow('celery'));
    assert.equal(resumed?.wasPaused, true);
    assert.equal(await (await app.asyncResult(id)).get({ timeout: 20_000 }), 42);
    assert.equal(s.queues.getTreeItem(await queueRow('celery')).contextValue, 'queue');
  });

  it('the paused queues cannot be read (their Redis is down): the Queues view still lists the queues, unmarked, with a note row', async () => {
    const app = await s.connection.client();
    // What an outage of the Redis beside RabbitMQ does to the paused queues' read; the depths come from the broker.
    const own = Object.getOwnPropertyDescriptor(app, 'sharedStore');
    Object.defineProperty(app, 'sharedStore', { configurable: true, value: async () => { throw new Error('connect ECONNREFUSED 127.0.0.1:6390'); } });
    let rows: QueueNode[];
    try {
      rows = await s.queues.getChildren();
    } finally {
      if (own) Object.defineProperty(app, 'sharedStore', own);
      else delete (app as { sharedStore?: unknown }).sharedStore;
    }
    const celery = rows.find((n) => n.kind === 'queue' && n.depth.queue === 'celery');
    assert.ok(celery, `the celery row is still listed: ${JSON.stringify(rows.map((n) => n.kind))}`);
    assert.equal(s.queues.getTreeItem(celery).contextValue, 'queue');
    const note = rows.find((n) => n.kind === 'note' && s.queues.getTreeItem(n).label === 'Paused queues unknown');
    assert.ok(note, 'a row says the paused queues are unknown');
    assert.match(String(s.queues.getTreeItem(note).tooltip), /ECONNREFUSED/);
  });

  it('Drain and Stop on another worker\'s row: it finishes its task and stops; a task sent after waits', async () => {
    const app = new Radish({ broker: process.env.REDIS_URL! });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    app.task('tasks.hold', async () => { await gate; return 'held'; });
    const other = new Worker(app, { hostname: 'drain@suite', queues: ['drainq'], logger: createLogger('warning', () => undefined) });
    await other.start();
    try {
      const running = await app.send('tasks.hold', [], {}, { queue: 'drainq' });
      await waitFor(() => other.stats.active === 1, 'the task to run');
      let row: WorkerNode | undefined;
      await waitFor(async () => {
        row = (await s.workers.getChildren()).find((n) => n.kind === 'worker' && n.details.hostname === 'drain@suite');
        return row !== undefined;
      }, 'its row in the Workers view');
      assert.equal(s.workers.getTreeItem(row!).contextValue, 'radishWorker+control', 'the row the Drain and Stop menu matches');
      const draining = vscode.commands.executeCommand<DrainOutcome>('radish.drainWorker', row, true);
      await delay(1500);
      const later = await app.send('tasks.hold', [], {}, { queue: 'drainq' });
      release();
      const outcome = await draining;
      assert.equal(outcome?.drained, true);
      assert.equal(outcome?.stopped, true);
      assert.equal(await running.get({ timeout: 10_000 }), 'held');
      assert.equal(await (await app.broker()).depths(['drainq']).then(([d]) => d?.total), 1, 'the task sent during the drain waits');
      assert.equal(await later.state(), 'PENDING');
      await waitFor(async () => !(await s.workers.getChildren()).some((n) => n.kind === 'worker' && n.details.hostname === 'drain@suite'), 'its row to go');
    } finally {
      release();
      await other.stop({ cold: true });
      await app.close();
    }
  });
});
