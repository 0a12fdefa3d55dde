/**
 * Runs inside a real VS Code extension host (code-server), driven by test/extension/schedules-host.test.ts, on a copy
 * of examples/ts-tasks (with the Django example's settings.py beside it, in django-shop/, and a schedule add-every-2s
 * added to its tasks.ts) against a private redis-server (REDIS_URL) where a real `radish beat -A tasks.ts` runs. The Schedules view lists radish beat's
 * schedule with its next run; Pause and Resume change the row and the shared store; Run Now sends it (the local
 * worker runs it) without moving its last run; the Django example's CELERY_BEAT_SCHEDULE is listed, and Run Now
 * sends its task with its args.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { pauseSchedule } from '../../extension/commands/schedules/pauseSchedule';
import type { Services } from '../../extension/services';
import type { ScheduleNode } from '../../extension/views/schedules';
import { activate, waitFor } from './helpers';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What `run` resolves with, and the information messages shown meanwhile (recorded, not shown). */
async function informationDuring<T>(run: () => Thenable<T>): Promise<{ result: T; messages: string[] }> {
  const messages: string[] = [];
  const window = vscode.window as { showInformationMessage: (message: string) => Thenable<undefined> };
  const original = window.showInformationMessage;
  window.showInformationMessage = (message: string) => {
    messages.push(message);
    return Promise.resolve(undefined);
  };
  try {
    return { result: await run(), messages };
  } finally {
    window.showInformationMessage = original;
  }
}

type RadishRow = Extract<ScheduleNode, { kind: 'radish' }>;
type CeleryRow = Extract<ScheduleNode, { kind: 'celery' }>;

describe('Schedules view: radish beat and Celery beat', function () {
  this.timeout(60_000);
  let s: Services;

  const radishRow = async (name: string): Promise<RadishRow | undefined> =>
    (await s.schedules.getChildren()).find((n): n is RadishRow => n.kind === 'radish' && n.schedule.name === name);
  const celeryRow = async (name: string): Promise<CeleryRow | undefined> =>
    (await s.schedules.getChildren()).find((n): n is CeleryRow => n.kind === 'celery' && n.entry.name === name);
  const pausedInStore = async (name: string): Promise<boolean> => {
    const store = (await (await s.connection.client()).sharedStore())!;
    return (await store.redis.hexists(store.keys.beatPaused, name)) === 1;
  };

  before(async () => {
    s = await activate();
    await vscode.commands.executeCommand('radish.schedules.focus');
  });

  after(async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
  });

  it('lists the schedule radish beat published, with its next run, timing and the active beat', async () => {
    await waitFor(async () => (await radishRow('add-every-30s')) !== undefined, 'add-every-30s published by radish beat');
    const row = (await radishRow('add-every-30s'))!;
    assert.deepEqual([row.schedule.task, row.schedule.args, row.schedule.queue, row.schedule.every], ['tasks.add', [1, 2], 'celery', 30]);
    assert.ok(row.activeBeat, 'an active beat is named');
    const item = s.schedules.getTreeItem(row);
    assert.match(String(item.description), /^(in < 1 min|due now) · every 30 s$/);
    assert.equal(item.contextValue, 'schedule.active');
    assert.match(String(item.tooltip), /^add-every-30s: tasks\.add \(radish beat\)\nNext run: .+\nLast run: .+\nTiming: every 30 s\nArgs: \[1,2\]/);
    assert.match(String(item.tooltip), /Active beat: /);
  });

  it('Pause turns the row paused and sets the flag in the shared store; Resume turns it back', async () => {
    const row = (await radishRow('add-every-30s'))!;
    assert.equal(await vscode.commands.executeCommand<boolean>('radish.pauseSchedule', row), true);
    assert.equal(await pausedInStore('add-every-30s'), true);
    const paused = (await radishRow('add-every-30s'))!;
    const item = s.schedules.getTreeItem(paused);
    assert.deepEqual([item.contextValue, item.description], ['schedule.paused', 'paused · every 30 s']);
    assert.match(String(item.tooltip), /Paused since .+: no scheduler sends it/);
    assert.equal(await vscode.commands.executeCommand<boolean>('radish.pauseSchedule', paused), false, 'paused already');

    const before = Date.now();
    assert.equal(await vscode.commands.executeCommand<boolean>('radish.resumeSchedule', paused), true);
    assert.equal(await pausedInStore('add-every-30s'), false);
    const resumed = (await radishRow('add-every-30s'))!;
    assert.equal(s.schedules.getTreeItem(resumed).contextValue, 'schedule.active');
    assert.ok(resumed.schedule.nextRun! >= before + 30_000 - 1_000, 'counted from the resume');
  });

  it('Resume from the palette with no schedule paused says so, as information, not as an error', async () => {
    const told = await informationDuring(() => vscode.commands.executeCommand<boolean>('radish.resumeSchedule'));
    assert.equal(told.result, false);
    assert.deepEqual(told.messages, ['Radish: no schedule is paused.']);
  });

  it('Run Now sends the task with its args (the local worker runs it) and moves no last run', async () => {
    // add-every-2s once it has ticked, paused so that no tick moves its last run meanwhile (Run Now works on it all the same).
    await waitFor(async () => (await radishRow('add-every-2s'))?.schedule.lastRun !== undefined, 'a first tick of add-every-2s');
    assert.equal(await vscode.commands.executeCommand<boolean>('radish.pauseSchedule', (await radishRow('add-every-2s'))!), true);
    await vscode.commands.executeCommand('radish.startWorker');
    assert.equal(s.supervisor.state, 'running');
    const row = (await radishRow('add-every-2s'))!;
    assert.ok(row.schedule.lastRun !== undefined, 'it has a last run');
    const id = await vscode.commands.executeCommand<string>('radish.runScheduleNow', row);
    assert.ok(id, 'a task id');
    assert.equal(await (await (await s.connection.client()).asyncResult(id)).get({ timeout: 20_000 }), 5);
    const after = (await radishRow('add-every-2s'))!;
    assert.equal(after.schedule.lastRun, row.schedule.lastRun);
  });

  it('shows fresh rows after a refresh that changed nothing (a change made elsewhere later is not hidden)', async () => {
    // A refresh whose rows read the same as those shown (no redraw, so the view does not take them): retried while
    // something else changed the rows meanwhile.
    let redrawn = 0;
    const listening = s.schedules.onDidChangeTreeData(() => { redrawn++; });
    try {
      for (let tries = 0, before = -1; before !== redrawn && tries < 5; tries++) {
        before = redrawn;
        s.schedules.refresh();
        await delay(1_000);
      }
    } finally {
      listening.dispose();
    }
    // Paused elsewhere (another window, the CLI): the view has not refreshed since.
    const store = (await (await s.connection.client()).sharedStore())!;
    await store.redis.hsetnx(store.keys.beatPaused, 'add-every-30s', String(Date.now()));
    assert.equal(s.schedules.getTreeItem((await radishRow('add-every-30s'))!).contextValue, 'schedule.paused');
    assert.equal(await vscode.commands.executeCommand<boolean>('radish.resumeSchedule', (await radishRow('add-every-30s'))!), true);
  });

  it('Pause from the palette with every schedule paused says so, as information', async () => {
    await vscode.commands.executeCommand<boolean>('radish.pauseSchedule', (await radishRow('add-every-30s'))!);
    const told = await informationDuring(() => vscode.commands.executeCommand<boolean>('radish.pauseSchedule'));
    assert.equal(told.result, false);
    assert.deepEqual(told.messages, ['Radish: every published schedule is paused already.']);
  });

  it('lists the Django example\'s CELERY_BEAT_SCHEDULE as written, saying what cannot be read or paused', async () => {
    await waitFor(async () => (await celeryRow('invoice-every-3-hours')) !== undefined, 'the Celery beat entries');
    const invoice = s.schedules.getTreeItem((await celeryRow('invoice-every-3-hours'))!);
    assert.deepEqual([invoice.contextValue, invoice.description], ['celerySchedule', "celery beat · crontab(minute=0, hour='*/3')"]);
    assert.match(String(invoice.tooltip), /^invoice-every-3-hours: orders\.tasks\.build_invoice \(Celery beat, CELERY_BEAT_SCHEDULE in settings\.py:\d+\)/);
    assert.match(String(invoice.tooltip), /a Python shelve\), which Radish cannot read/);
    assert.match(String(invoice.tooltip), /cannot be paused from outside/);
    const total = (await celeryRow('total-every-30s'))!;
    assert.equal(s.schedules.getTreeItem(total).description, 'celery beat · every 30 s');
    // The menu does not offer Pause on it; the handler, called with one anyway, refuses and says why.
    await assert.rejects(pauseSchedule(s, total), /Celery beat cannot be paused from outside/);
  });

  it('Run Now on a Celery beat entry sends its task by name with its args to its queue', async () => {
    // Stop the TypeScript worker first: it does not define the Python task.
    await vscode.commands.executeCommand('radish.stopWorker');
    const total = (await celeryRow('total-every-30s'))!;
    const id = await vscode.commands.executeCommand<string>('radish.runScheduleNow', total);
    assert.ok(id, 'a task id');
    const waiting = await (await s.connection.inspector()).messages('celery', 0, 100);
    const sent = waiting.find((m) => m.task?.id === id);
    assert.deepEqual([sent?.task?.name, sent?.task?.args], ['orders.tasks.order_total', [[{ price: 9.5, qty: 2 }]]]);
    await (await s.connection.inspector()).purge('celery');
  });
});
