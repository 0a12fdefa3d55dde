/**
 * Runs inside a real VS Code extension host, driven by test/extension/rabbitmq-host.test.ts, on a copy of
 * examples/django-celery whose Django settings name a RabbitMQ vhost as `CELERY_BROKER_URL` and a redis-server as
 * `CELERY_RESULT_BACKEND` (RABBIT_URL, RESULTS_URL), with no Radish setting naming either: the extension finds them in
 * the project, starts a real Celery worker on RabbitMQ, and shows it, its tasks and its failures.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Services } from '../../extension/services';
import type { FailedNode } from '../../extension/views/failed';
import type { TaskNode } from '../../extension/views/tasks';
import type { TaskRecord } from '../../runner/index';
import type { WorkerNode } from '../../extension/views/workers';
import { activate, procEnviron, waitFor } from './helpers';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set for the extension host`);
  return value;
}

describe('extension on a Django + Celery project on RabbitMQ', function () {
  this.timeout(90_000);
  let s: Services;
  const rabbit = env('RABBIT_URL');
  const results = env('RESULTS_URL');

  const localRow = async () => {
    s.workers.refresh();
    return (await s.workers.getChildren()).find((n): n is Extract<WorkerNode, { kind: 'local' }> => n.kind === 'local');
  };

  before(async () => {
    s = await activate({ asConfigured: true });
    const python = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
    await vscode.workspace.getConfiguration('radish').update('python.interpreter', python, vscode.ConfigurationTarget.Workspace);
  });

  after(async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
  });

  it('connects where the project\'s Django settings say: RabbitMQ, results in Redis', async () => {
    await s.connection.inspector();
    assert.equal(s.connection.state, 'connected');
    assert.equal(s.connection.url, rabbit);
    assert.equal(s.connection.backendUrl, results);
    assert.match(s.connection.describe(), /^broker amqp:\/\/\S+ \(shop\/settings\.py\), results redis:\/\/\S+ \(shop\/settings\.py\)$/);
  });

  it('starts a real Celery worker on RabbitMQ, which runs a Python task and stores its result in Redis', async () => {
    await vscode.commands.executeCommand('radish.startWorker');
    assert.equal(s.supervisor.state, 'running');
    assert.equal(s.supervisor.plan?.kind, 'python');
    // Given through the environment (CELERY_* win over the project's own settings), never on the command line.
    const environ = procEnviron(s.supervisor.pid!);
    if (environ) {
      assert.equal(environ.CELERY_BROKER_URL, rabbit);
      assert.equal(environ.CELERY_RESULT_BACKEND, results);
    }
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'orders.tasks.order_total', args: [[{ price: 10, qty: 1 }, { price: 6.25, qty: 2 }]], kwargs: { tax_rate: 0.1 } });
    assert.equal(await (await (await s.connection.client()).asyncResult(id)).get({ timeout: 30_000 }), 24.75);
  });

  it('lists the Celery worker in the Workers view, asked over remote control on RabbitMQ', async () => {
    await waitFor(async () => (await localRow())?.details?.kind === 'celery', 'the Celery worker with its details', 30_000);
    const details = (await localRow())!.details!;
    assert.equal(details.hostname, s.supervisor.nodeName);
    assert.equal(details.pool, 'prefork');
    assert.ok(details.queues.includes('celery'), JSON.stringify(details.queues));
    // Steered over remote control on RabbitMQ.
    await vscode.commands.executeCommand('radish.growPool', await localRow());
    await waitFor(async () => (await localRow())?.details?.concurrency === 5, 'pool grown to 5');
    await vscode.commands.executeCommand('radish.shrinkPool', await localRow());
    await waitFor(async () => (await localRow())?.details?.concurrency === 4, 'pool back to 4');
  });

  it('finds the Celery worker by a ping when the management API does not answer (it cannot list the mailboxes then)', async () => {
    const config = vscode.workspace.getConfiguration('radish');
    await config.update('rabbitmq.managementUrl', 'http://127.0.0.1:1', vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor(async () => (await s.queues.getChildren()).some((n) => n.kind === 'note'), 'the Queues view without the management API');
      // Asked directly: the view's rows may still be those loaded before.
      const worker = (await s.connection.workers()).find((w) => w.hostname === s.supervisor.nodeName);
      assert.equal(worker?.kind, 'celery');
      assert.equal(worker?.pool, 'prefork');
      assert.ok(worker?.queues.includes('celery'), JSON.stringify(worker));
    } finally {
      await config.update('rabbitmq.managementUrl', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await waitFor(async () => !(await s.queues.getChildren()).some((n) => n.kind === 'note'), 'the management API used again');
  });

  it('shows a Celery failure in the Tasks view (events over RabbitMQ) and in the Failed view, and retries it', async () => {
    const app = await s.connection.client();
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'orders.tasks.order_total', args: [[{ price: 'ten' }]] });
    await assert.rejects((await app.asyncResult(id)).get({ timeout: 30_000 }), (err: Error) => err.name === 'TypeError');
    await waitFor(async () => (await s.taskView.getChildren()).some((n: TaskNode) => n.kind === 'record' && n.record.id === id && n.record.state === 'FAILURE'),
      'the failure in the Tasks view');
    let node: FailedNode | undefined;
    await waitFor(async () => {
      node = (await s.failed.getChildren()).find((n) => n.kind === 'result' && n.meta.task_id === id);
      return node !== undefined;
    }, 'the Celery failure in the Failed view');
    const retried = await vscode.commands.executeCommand<string>('radish.retryFailedWithArgs', node, { args: [[{ price: 10, qty: 2 }]], kwargs: {} });
    assert.ok(retried && retried !== id, 'sent as a new task');
    assert.equal(await (await app.asyncResult(retried)).get({ timeout: 30_000 }), 20);
  });

  it('follows a task sent at once after a reconnect from its first event: the monitor subscribes before it goes', async () => {
    // A reconnect (a setting changed, the project's settings saved) starts a new monitor, subscribed a moment later.
    // Events are not kept: a task sent meanwhile, which a quick worker runs before the subscription is there, was never
    // listed in the Tasks view (the failure above, now and then, right after the management URL came back).
    await s.connection.reset();
    // Sent at once: the command opens the connection again, and the new monitor starts as it opens.
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'orders.tasks.order_total', args: [[{ price: 'ten' }]] });
    assert.ok(s.live.running, 'the monitor was subscribed when the task was sent');
    const app = await s.connection.client();
    await assert.rejects((await app.asyncResult(id)).get({ timeout: 30_000 }), (err: Error) => err.name === 'TypeError');
    let record: TaskRecord | undefined;
    await waitFor(async () => {
      record = (await s.taskView.getChildren()).flatMap((n: TaskNode) => (n.kind === 'record' && n.record.id === id ? [n.record] : []))[0];
      return record?.state === 'FAILURE';
    }, 'the failure in the Tasks view');
    assert.ok(record?.sent !== undefined && record.received !== undefined, `every event heard, task-sent first: ${JSON.stringify(record?.events.map((e) => e.type))}`);
  });

  it('keeps no monitor started on a connection that was dropped while it subscribed', async () => {
    await s.connection.reset();
    const starting = s.live.ensure();
    // Open (the monitor's start is then under way on this connection), then drop it before the monitor is subscribed.
    await s.connection.client();
    await s.connection.reset();
    const monitor = await starting;
    assert.ok(monitor, 'a monitor on the new connection');
    // Its history is read on a live connection (one on the dropped connection fails: "Connection is closed").
    assert.ok(await monitor.history.count() >= 1);
    assert.equal(await s.live.ensure(), monitor, 'the one kept');
  });

  it('leaves the new connection alone when told of a failure on the one a reset dropped', async () => {
    // A view's load that ran on the connection a reset dropped fails with it ("this Control is closed"): not the new
    // connection's fault; dropping that one for it broke what ran on it (a retry being sent, the events followed).
    const session = s.connection.session;
    await s.connection.reset();
    const app = await s.connection.client();
    assert.equal(await s.connection.failed(new Error('this Control is closed'), session), false);
    assert.equal(s.connection.state, 'connected');
    assert.equal(await s.connection.client(), app, 'the same connection, still open');
  });

  it('stops the Celery worker', async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
    assert.equal(s.supervisor.state, 'stopped');
  });
});
