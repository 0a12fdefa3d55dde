/**
 * Runs inside a real VS Code extension host on a copy of examples/django-celery: the extension detects the Celery
 * app, starts a real Celery worker, enqueues Python tasks and reads their results and failures.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Services } from '../../extension/services';
import type { FailedNode } from '../../extension/views/failed';
import type { TaskNode } from '../../extension/views/tasks';
import type { WorkerNode } from '../../extension/views/workers';
import { activate, waitFor } from './helpers';

describe('extension on a Django + Celery project', function () {
  this.timeout(90_000);
  let s: Services;

  before(async () => {
    s = await activate();
    const python = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
    await vscode.workspace.getConfiguration('radish').update('python.interpreter', python, vscode.ConfigurationTarget.Workspace);
  });

  after(async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
  });

  it('finds the Python tasks, with Celery names', async () => {
    await waitFor(() => s.tasks.sites().some((t) => t.name === 'orders.charge'), 'python tasks discovered');
    const names = s.tasks.sites().map((t) => t.name);
    assert.ok(names.includes('orders.tasks.send_confirmation'), names.join(', '));
  });

  it('starts a real Celery worker on the detected app', async () => {
    await vscode.commands.executeCommand('radish.startWorker');
    assert.equal(s.supervisor.state, 'running');
    assert.equal(s.supervisor.plan?.kind, 'python');
  });

  it('enqueues a Python task with args and reads its result', async () => {
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'orders.tasks.order_total', args: [[{ price: 10, qty: 1 }, { price: 6.25, qty: 2 }]], kwargs: { tax_rate: 0.1 } });
    const app = await s.connection.client();
    assert.equal(await (await app.asyncResult(id)).get({ timeout: 30_000 }), 24.75);
  });

  it('reads a Python failure with its type and message', async () => {
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'orders.tasks.fail_loudly', args: [7] });
    const app = await s.connection.client();
    await assert.rejects((await app.asyncResult(id)).get({ timeout: 30_000 }), (err: Error) => err.name === 'ValueError' && /order 7 cannot be processed/.test(err.message));
  });

  it('shows the Celery worker over remote control, steers its pool and queues, and terminates its running task', async () => {
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'orders.tasks.build_invoice', args: [1, 120] });
    const localRow = async () => (await s.workers.getChildren()).find((n): n is Extract<WorkerNode, { kind: 'local' }> => n.kind === 'local');
    let active: Extract<WorkerNode, { kind: 'active' }> | undefined;
    await waitFor(async () => {
      const local = await localRow();
      active = local && (await s.workers.getChildren(local)).find((n): n is Extract<WorkerNode, { kind: 'active' }> => n.kind === 'active' && n.task.id === id);
      return active !== undefined;
    }, 'the running Celery task listed under the worker', 60_000);
    const local = (await localRow())!;
    assert.equal(local.details?.kind, 'celery');
    assert.equal(local.details?.pool, 'prefork');
    assert.equal(local.details?.concurrency, 4);
    assert.ok(active!.task.pid && active!.task.pid !== local.details?.pid, 'the pool process that runs it');
    assert.deepEqual(active!.task.args, [1, 120]);

    await vscode.commands.executeCommand('radish.growPool', local);
    await waitFor(async () => (await localRow())?.details?.concurrency === 5, 'pool grown to 5');
    await vscode.commands.executeCommand('radish.shrinkPool', await localRow());
    await waitFor(async () => (await localRow())?.details?.concurrency === 4, 'pool back to 4');
    await vscode.commands.executeCommand('radish.addQueue', await localRow(), 'invoices');
    await waitFor(async () => (await localRow())?.details?.queues.includes('invoices') === true, 'consuming invoices');
    await vscode.commands.executeCommand('radish.cancelQueue', await localRow(), 'invoices');
    await waitFor(async () => (await localRow())?.details?.queues.includes('invoices') === false, 'invoices cancelled');

    await vscode.commands.executeCommand('radish.terminateTask', active, { confirm: false });
    const app = await s.connection.client();
    await assert.rejects((await app.asyncResult(id)).get({ timeout: 30_000 }), (err: Error) => err.name === 'TaskRevokedError');
  });

  it('keeps the Celery tasks in the Tasks view, from the worker\'s events', async () => {
    let node: Extract<TaskNode, { kind: 'record' }> | undefined;
    await waitFor(async () => {
      node = (await s.taskView.getChildren()).find((n): n is Extract<TaskNode, { kind: 'record' }> => n.kind === 'record' && n.record.name === 'orders.tasks.fail_loudly');
      return node?.record.state === 'FAILURE';
    }, 'the Celery failure in the history');
    assert.equal(node!.record.hostname, s.supervisor.nodeName);
    assert.match(node!.record.exception ?? '', /order 7 cannot be processed/);
    assert.equal(node!.record.args, '(7,)');
    assert.match(await vscode.commands.executeCommand<string>('radish.copyTaskAsCall', node) ?? '', /^npx radish call orders\.tasks\.fail_loudly --args '\[7\]'( --queue celery)?$/);
  });

  it("lists a Celery failure in the Failed view and retries it with edited args", async () => {
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'orders.tasks.order_total', args: [[{ price: 'ten' }]] });
    const app = await s.connection.client();
    await assert.rejects((await app.asyncResult(id)).get({ timeout: 30_000 }), (err: Error) => err.name === 'TypeError');
    let node: FailedNode | undefined;
    await waitFor(async () => {
      node = (await s.failed.getChildren()).find((n) => n.kind === 'result' && n.meta.task_id === id);
      return node !== undefined;
    }, 'Celery failure listed');
    assert.equal(s.failed.getTreeItem(node!).contextValue, 'failedResult');
    const retried = await vscode.commands.executeCommand<string>('radish.retryFailedWithArgs', node, { args: [[{ price: 10, qty: 2 }]], kwargs: {} });
    assert.ok(retried && retried !== id, 'sent as a new task');
    assert.equal(await (await app.asyncResult(retried)).get({ timeout: 30_000 }), 20);
  });

  it('Debug Task without the Python Debugger extension says what to install, and leaves the running worker alone', async () => {
    // This host has no Python Debugger (code-server cannot install it here); the debugpy side is tested in
    // test/interop/debugpy.test.ts.
    assert.equal(vscode.extensions.getExtension('ms-python.debugpy'), undefined);
    assert.equal(s.supervisor.state, 'running');
    const pid = s.supervisor.pid;
    const id = await vscode.commands.executeCommand<string | undefined>('radish.debugTask', 'orders.tasks.send_confirmation', [7, 'a@b.c']);
    assert.equal(id, undefined, 'nothing sent');
    assert.deepEqual([s.supervisor.state, s.supervisor.pid, s.supervisor.debugging], ['running', pid, false], 'the worker was not stopped for it');
    const logs = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? logs(join(dir, e.name)) : e.name.endsWith('.log') ? [join(dir, e.name)] : [])) : []);
    await waitFor(async () => logs(s.context.logUri.fsPath).some((f) => /Cannot debug: Debugging a Celery worker needs the Python Debugger extension \(ms-python\.debugpy/.test(readFileSync(f, 'utf8'))), 'the reason in the worker log');
  });

  it('stops the Celery worker', async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
    assert.equal(s.supervisor.state, 'stopped');
  });
});
