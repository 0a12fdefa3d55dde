/**
 * Runs inside a real VS Code extension host (code-server), driven by test/extension/rabbitmq-host.test.ts, on a copy
 * of examples/ts-tasks whose workspace settings point `radish.brokerUrl` at a RabbitMQ vhost of its own (RABBIT_URL)
 * and `radish.resultBackendUrl` at a redis-server (RESULTS_URL). Drives the extension through its API and commands:
 * the Queues view (depths, the explanation instead of messages, purge, the known queues without the management
 * API), the local worker, Workers, Tasks, Failed and Retry, and what the views say when something is missing.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Services } from '../../extension/services';
import type { FailedNode } from '../../extension/views/failed';
import type { QueueNode } from '../../extension/views/queues';
import type { TaskNode } from '../../extension/views/tasks';
import type { WorkerNode } from '../../extension/views/workers';
import { activate, procEnviron, waitFor } from './helpers';

type QueueRow = Extract<QueueNode, { kind: 'queue' }>;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set for the extension host`);
  return value;
}

describe('extension on a TypeScript project on RabbitMQ, results in Redis', function () {
  this.timeout(60_000);
  let s: Services;
  const rabbit = env('RABBIT_URL');
  const results = env('RESULTS_URL');
  const config = () => vscode.workspace.getConfiguration('radish');
  const folder = () => vscode.workspace.workspaceFolders![0]!.uri.fsPath;

  const queueRow = async (name: string): Promise<QueueRow | undefined> =>
    (await s.queues.getChildren()).find((n): n is QueueRow => n.kind === 'queue' && n.depth.queue === name);
  const localRow = async () => (await s.workers.getChildren()).find((n): n is Extract<WorkerNode, { kind: 'local' }> => n.kind === 'local');
  /** The first row of the Failed view once it is the connection's error row (a message). */
  const failedMessage = async (): Promise<vscode.TreeItem | undefined> => {
    const [first] = await s.failed.getChildren();
    return first?.kind === 'message' ? first.item : undefined;
  };

  before(async () => {
    s = await activate({ asConfigured: true });
  });

  after(async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
  });

  it('connects to RabbitMQ as the workspace settings say, with the results in Redis beside it', async () => {
    await s.connection.inspector();
    assert.equal(s.connection.state, 'connected');
    assert.equal(s.connection.isAmqp, true);
    assert.equal(s.connection.url, rabbit);
    assert.equal(s.connection.backendUrl, results);
    assert.match(s.connection.describe(), /^broker amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672\/\S+ \(radish\.brokerUrl\), results redis:\/\/\S+ \(radish\.resultBackendUrl\)$/);
  });

  it('lists a queue with its depth; expanding it explains why its messages are not shown, without an error; purge empties it', async () => {
    for (let i = 0; i < 3; i++) await vscode.commands.executeCommand('radish.enqueue', { task: 'tasks.add', args: [i, i], queue: 'parked' });
    // Listed through the management API (a queue nobody configured), its depth exact (a passive declare).
    await waitFor(async () => (await queueRow('parked'))?.depth.total === 3, 'parked listed with 3 waiting');
    const parked = (await queueRow('parked'))!;
    assert.deepEqual(parked.depth.byPriority, {});
    const item = s.queues.getTreeItem(parked);
    assert.equal(item.description, '3 waiting', 'no per-priority breakdown on RabbitMQ');
    assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    const children = await s.queues.getChildren(parked);
    assert.equal(children.length, 1);
    assert.equal(children[0]!.kind, 'note');
    const note = s.queues.getTreeItem(children[0]!);
    assert.equal(note.label, 'RabbitMQ cannot show them');
    assert.equal(note.description, 'without taking them off the queue');
    assert.match(String(note.tooltip), /without taking them off the queue/);
    assert.equal(s.connection.state, 'connected', 'not taken for a connection problem');
    assert.ok(!(await s.queues.getChildren()).some((n) => n.kind === 'note'), 'no hint while the management API answers');
    // Browsing took nothing: all three still wait.
    assert.equal((await queueRow('parked'))?.depth.total, 3);
    const removed = await vscode.commands.executeCommand<number>('radish.purgeQueue', parked, true);
    assert.equal(removed, 3);
    assert.equal((await queueRow('parked'))?.depth.total, 0);
  });

  it('starts the local worker on RabbitMQ, which runs an enqueued task and stores its result in Redis', async () => {
    await vscode.commands.executeCommand('radish.startWorker');
    assert.equal(s.supervisor.state, 'running');
    assert.equal(s.supervisor.plan?.kind, 'typescript');
    // Given through the environment (the task module's new Radish() reads it), never on the command line.
    const environ = procEnviron(s.supervisor.pid!);
    if (environ) {
      assert.equal(environ.RADISH_BROKER_URL, rabbit);
      assert.equal(environ.RADISH_RESULT_BACKEND, results);
    }
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'tasks.add', args: [40, 2] });
    assert.equal(await (await (await s.connection.client()).asyncResult(id)).get({ timeout: 20_000 }), 42);
  });

  it('lists the worker in the Workers view, from its presence in the Redis backend', async () => {
    await waitFor(async () => (await localRow())?.details?.pid === s.supervisor.pid, 'the local worker with its details');
    const local = (await localRow())!;
    assert.equal(local.details?.kind, 'radish');
    assert.ok(local.details?.queues.includes('celery'), JSON.stringify(local.details?.queues));
    assert.equal(s.workers.getTreeItem(local).contextValue, 'localWorker+control');
  });

  it('shows the tasks in the Tasks view, from their events over RabbitMQ', async () => {
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'tasks.add', args: [2, 3] });
    assert.equal(await (await (await s.connection.client()).asyncResult(id)).get({ timeout: 20_000 }), 5);
    let record: Extract<TaskNode, { kind: 'record' }> | undefined;
    await waitFor(async () => {
      record = (await s.taskView.getChildren()).find((n): n is Extract<TaskNode, { kind: 'record' }> => n.kind === 'record' && n.record.id === id);
      return record?.record.state === 'SUCCESS';
    }, 'the task in the history as SUCCESS');
    assert.equal(record!.record.hostname, s.supervisor.nodeName);
    assert.match(String(s.taskView.getTreeItem(record!).description), /^SUCCESS · /);
  });

  it('shows a task dead-lettered into radish.dlq in the Failed view, and Retry with edited args succeeds', async () => {
    const app = await s.connection.client();
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'tasks.add', args: [1], kwargs: { bogus: 1 } });
    await assert.rejects((await app.asyncResult(id)).get({ timeout: 20_000 }), /unexpected keyword argument 'bogus'/);
    let node: FailedNode | undefined;
    await waitFor(async () => {
      node = (await s.failed.getChildren()).find((n) => n.kind === 'letter' && n.letter.task?.id === id);
      return node !== undefined;
    }, 'the dead letter listed');
    assert.equal(node!.kind === 'letter' && node!.meta?.status, 'FAILURE', 'one row with its stored FAILURE');
    assert.equal(s.failed.getTreeItem(node!).contextValue, 'failedTask');
    const retried = await vscode.commands.executeCommand<string>('radish.retryFailedWithArgs', node, { args: [1, 2], kwargs: {} });
    assert.ok(retried && retried !== id, 'sent as a new task');
    assert.equal(await (await app.asyncResult(retried)).get({ timeout: 20_000 }), 3);
    await waitFor(async () => !(await s.failed.getChildren()).some((n) => n.kind === 'letter' && n.letter.task?.id === id), 'gone from Failed');
    assert.equal(await (await s.connection.inspector()).deadLetterCount(), 0, 'radish.dlq is empty');
  });

  it('without the management API lists the known queues, with a hint to enable it', async () => {
    // A management URL where nothing answers stands for a broker without the plugin.
    await config().update('rabbitmq.managementUrl', 'http://127.0.0.1:1', vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor(async () => (await s.queues.getChildren()).some((n) => n.kind === 'note'), 'the hint row');
      const root = await s.queues.getChildren();
      const names = root.flatMap((n) => (n.kind === 'queue' ? [n.depth.queue] : []));
      // The app's default queue, radish.worker.queues and the queue the project's routes send reports.* to.
      assert.deepEqual(names, ['celery', 'reports']);
      const hint = s.queues.getTreeItem(root.find((n) => n.kind === 'note')!);
      assert.equal(hint.label, 'Known queues only');
      assert.equal(hint.description, 'enable rabbitmq_management to list every queue');
      assert.match(String(hint.tooltip), /rabbitmq-plugins enable rabbitmq_management/);
      // A known queue's depth is still exact (nothing consumes reports here).
      await vscode.commands.executeCommand('radish.enqueue', { task: 'reports.build', args: ['daily'] });
      await waitFor(async () => (await queueRow('reports'))?.depth.total === 1, 'reports.build waiting in reports');
      assert.equal(await vscode.commands.executeCommand<number>('radish.purgeQueue', await queueRow('reports'), true), 1);
      assert.equal(s.connection.state, 'connected');
      // The Radish worker is still listed: its presence is in Redis, not in the management API. (Asked directly: the
      // view's rows may still be those loaded before.)
      assert.ok((await s.connection.workers()).some((w) => w.pid === s.supervisor.pid && w.kind === 'radish'), 'the local worker still listed');
    } finally {
      await config().update('rabbitmq.managementUrl', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('says RabbitMQ needs a result backend when none is set, and its command sets one', async () => {
    await config().update('resultBackendUrl', undefined, vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor(async () => (await failedMessage())?.label === 'RabbitMQ needs a result backend', 'the no-backend row in Failed');
      const item = (await failedMessage())!;
      assert.equal(item.description, 'set radish.resultBackendUrl');
      assert.equal(item.command?.command, 'radish.setResultBackendUrl');
      assert.match(String(item.tooltip), /RabbitMQ carries the tasks but keeps no results: set radish\.resultBackendUrl to a Redis/);
      const workersError = async () => {
        s.workers.refresh(); // the view's rows are loaded by a refresh: ask for fresh ones
        const error = (await s.workers.getChildren()).find((n) => n.kind === 'error');
        return error && s.workers.getTreeItem(error);
      };
      await waitFor(async () => (await workersError())?.label === 'RabbitMQ needs a result backend', 'the same row in Workers');
      assert.equal((await workersError())?.command?.command, 'radish.setResultBackendUrl');
      // The Queues view leaves it to its welcome content, chosen by the problem.
      assert.deepEqual(await s.queues.getChildren(), []);
      assert.deepEqual(s.connection.problem, { kind: 'noBackend' });
    } finally {
      // What the row's button runs, with the URL given instead of typed.
      await vscode.commands.executeCommand('radish.setResultBackendUrl', results, 'workspace');
    }
    assert.equal(config().inspect<string>('resultBackendUrl')?.workspaceValue, results);
    await waitFor(async () => (await queueRow('celery')) !== undefined && s.connection.state === 'connected' && s.connection.backendUrl === results, 'connected again');
  });

  it('takes the RabbitMQ password from the secret store: a wrong one is said so, clearing it connects again', async () => {
    // The stored password wins over the URL's (guest's own here).
    await vscode.commands.executeCommand('radish.setPassword', 'broker', 'not-guests-password');
    try {
      await waitFor(async () => (await failedMessage())?.label === 'Cannot reach RabbitMQ', 'the refused row in Failed');
      assert.match(String((await failedMessage())!.description), /^wrong or missing password · amqp:\/\//);
    } finally {
      await vscode.commands.executeCommand('radish.setPassword', 'broker', '');
    }
    await waitFor(async () => (await queueRow('celery')) !== undefined && s.connection.state === 'connected', 'connected again');
  });

  it('says RabbitMQ cannot be reached, with the fix', async () => {
    await config().update('brokerUrl', 'amqp://guest:guest@127.0.0.1:1/nowhere', vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor(async () => (await failedMessage())?.label === 'Cannot reach RabbitMQ', 'the unreachable row in Failed');
      const item = (await failedMessage())!;
      assert.equal(item.command?.command, 'radish.setBrokerUrl');
      assert.match(String(item.description), /ECONNREFUSED.* · amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1\/nowhere$/);
      assert.match(String(item.tooltip), /Is RabbitMQ running/);
      assert.deepEqual(s.connection.problem, { kind: 'broker', transport: 'amqp' });
    } finally {
      await vscode.commands.executeCommand('radish.setBrokerUrl', rabbit, 'workspace');
    }
    await waitFor(async () => (await queueRow('celery')) !== undefined && s.connection.state === 'connected' && s.connection.url === rabbit, 'connected again');
  });

  it('finds the broker and the result backend in a Django project\'s settings when no setting names them', async () => {
    // shop/ is a package the driver made; its settings.py is written now, as a user edits it.
    const settings = join(folder(), 'shop', 'settings.py');
    writeFileSync(settings, [
      'import os',
      `CELERY_BROKER_URL = os.environ.get('CELERY_BROKER_URL', '${rabbit}')`,
      `CELERY_RESULT_BACKEND = os.environ.get('CELERY_RESULT_BACKEND', '${results}')`,
      '',
    ].join('\n'));
    try {
      await config().update('brokerUrl', undefined, vscode.ConfigurationTarget.Workspace);
      await config().update('resultBackendUrl', undefined, vscode.ConfigurationTarget.Workspace);
      // Settings changes reach the extension a moment after update() resolves: wait for the project's URLs.
      await waitFor(async () => (await queueRow('celery')) !== undefined && s.connection.state === 'connected'
        && s.connection.describe().endsWith('(shop/settings.py)'), 'connected through the project settings').catch((err: Error) => {
        throw new Error(`${err.message} (now: ${s.connection.state}, ${s.connection.describe()}, ${s.connection.error})`);
      });
      assert.equal(s.connection.url, rabbit);
      assert.equal(s.connection.backendUrl, results);
      assert.match(s.connection.describe(), /\(shop\/settings\.py\), results redis:\/\/\S+ \(shop\/settings\.py\)$/);
      // The same fleet: the local worker, from its presence in the same Redis.
      assert.ok((await s.connection.workers()).some((w) => w.pid === s.supervisor.pid), 'the local worker listed');
    } finally {
      await config().update('brokerUrl', rabbit, vscode.ConfigurationTarget.Workspace);
      await config().update('resultBackendUrl', results, vscode.ConfigurationTarget.Workspace);
      rmSync(settings, { force: true });
    }
  });

  it('stops the worker', async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
    assert.equal(s.supervisor.state, 'stopped');
  });
});
