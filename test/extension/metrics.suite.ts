/**
 * Runs inside a real VS Code extension host (code-server), driven by test/extension/metrics-host.test.ts, on a copy of
 * examples/ts-tasks with the broker at REDIS_URL, where two workers wrote the metrics history of a known run
 * (METRICS_RUN). Opens the Metrics view through its command, as the palette and the Queues view's button do, and
 * checks what it shows against that run: totals, the task and queue pickers, a task's filter, the ranges' steps, the
 * queue's depth, and the empty state on a database no worker wrote to.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MetricsModel } from '../../extension/metricsView/protocol';
import type { Services } from '../../extension/services';
import type { MetricsRun } from './metrics-host.test';
import { activate, waitFor } from './helpers';

function run(): MetricsRun {
  const text = process.env.METRICS_RUN;
  if (!text) throw new Error('METRICS_RUN is not set for the extension host');
  return JSON.parse(text) as MetricsRun;
}

const show = (selection?: Record<string, unknown>) => vscode.commands.executeCommand<MetricsModel | undefined>('radish.showMetrics', selection);

function metricsTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('radish.metrics'));
}

/** The tabs list follows the panel's creation a moment later: wait until it shows them as `expected`. */
async function tabsSettle(expected: number): Promise<void> {
  await waitFor(() => metricsTabs().length === expected, `${expected} Metrics tab(s); tabs: ${JSON.stringify(vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => [t.label, t.input instanceof vscode.TabInputWebview ? t.input.viewType : typeof t.input]))}`, 5000);
}

describe('the Metrics view', function () {
  this.timeout(60_000);
  let s: Services;
  const expected = run();

  before(async function () {
    this.timeout(120_000);
    s = await activate();
    await s.connection.inspector();
    // The view shows whole minutes only: wait until the minute the workers last wrote has ended and settled.
    const wait = expected.completeAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('is offered in the palette and in the Queues and Workers views\' titles', () => {
    const pkg = vscode.extensions.getExtension('radish-dev.radish')!.packageJSON as {
      contributes: { commands: { command: string; title: string }[]; menus: Record<string, { command: string; when?: string }[]> };
    };
    const command = pkg.contributes.commands.find((c) => c.command === 'radish.showMetrics');
    assert.equal(command?.title, 'Show Metrics');
    const title = pkg.contributes.menus['view/title']!.find((m) => m.command === 'radish.showMetrics');
    assert.match(title?.when ?? '', /view == radish\.queues/);
    assert.ok(!(pkg.contributes.menus.commandPalette ?? []).some((m) => m.command === 'radish.showMetrics' && m.when === 'false'));
  });

  it('opens one tab showing the last hour the workers wrote: totals, tasks, queues, runtimes', async () => {
    const model = await show({ hours: 1 });
    assert.ok(model, 'the view read the history');
    await tabsSettle(1);
    assert.equal(model.empty, false);
    assert.equal(model.stepMinutes, 1);
    assert.equal(model.times.length >= 60, true, `${model.times.length} steps of a minute`);
    assert.equal(model.totals.throughput, expected.succeeded + expected.failed);
    assert.equal(model.totals.failed, expected.failed);
    assert.equal(model.succeeded.reduce((a, b) => a + b, 0), expected.succeeded);
    assert.deepEqual(model.taskNames, expected.tasks);
    assert.ok(model.queueNames.includes('celery') && model.queueNames.includes('parked'), model.queueNames.join(', '));
    assert.ok(model.totals.p50 !== null && model.totals.p95 !== null && model.totals.p50 <= model.totals.p95);
    const parked = model.queues.find((q) => q.queue === 'parked');
    assert.equal(parked?.latest?.depth, expected.parked);
    // Opened again: the same tab, brought forward.
    await show();
    // Tabs change in order: once an editor opened after it shows as a tab, a second Metrics tab would show too.
    const barrier = await vscode.workspace.openTextDocument({ content: 'barrier' });
    await vscode.window.showTextDocument(barrier, { preview: false, preserveFocus: true, viewColumn: vscode.ViewColumn.Beside });
    await waitFor(() => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === barrier.uri.toString())), 'the barrier editor\'s tab', 5000);
    assert.equal(metricsTabs().length, 1, 'still one Metrics tab');
  });

  it('shows one task when picked, and merges minutes into longer steps for longer ranges', async () => {
    const boom = await show({ hours: 72, task: 'metrics.boom' });
    assert.equal(boom?.stepMinutes, 60);
    assert.ok(boom!.times.length >= 72 && boom!.times.length <= 73, `${boom!.times.length} steps`);
    assert.equal(boom?.totals.throughput, expected.failed);
    assert.equal(boom?.totals.failed, expected.failed);
    assert.deepEqual(boom?.taskNames, expected.tasks, 'the picker still offers every task');
    const day = await show({ hours: 24, task: undefined, queue: 'parked' });
    assert.equal(day?.stepMinutes, 15);
    assert.deepEqual(day?.queues.map((q) => q.queue), ['parked']);
    assert.equal(day?.totals.throughput, 0, 'nothing ran from the parked queue');
    const all = await show({ hours: 1, queue: undefined });
    assert.equal(all?.totals.throughput, expected.succeeded + expected.failed);
  });

  it('says why it is empty on a database no worker wrote to', async () => {
    const url = process.env.REDIS_URL!;
    await vscode.workspace.getConfiguration('radish').update('brokerUrl', url.replace(/\/\d+$/, '') + '/7', vscode.ConfigurationTarget.Workspace);
    await s.connection.reset();
    try {
      const model = await show({ hours: 1 });
      assert.equal(model?.empty, true);
      assert.equal(model?.totals.throughput, 0);
    } finally {
      await vscode.workspace.getConfiguration('radish').update('brokerUrl', url, vscode.ConfigurationTarget.Workspace);
      await s.connection.reset();
    }
  });
});
