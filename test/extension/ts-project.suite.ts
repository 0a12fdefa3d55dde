/**
 * Runs inside a real VS Code extension host (code-server), driven by test/extension-host.test.ts, on a copy of
 * examples/ts-tasks, against the Redis in REDIS_URL. Drives the extension through its commands.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Services } from '../../extension/services';
import type { FailedNode } from '../../extension/views/failed';
import type { QueueNode } from '../../extension/views/queues';
import { activate, waitFor } from './helpers';

describe('extension on a TypeScript tasks project', function () {
  this.timeout(60_000);
  let s: Services;

  before(async () => {
    s = await activate();
  });

  after(async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
  });

  it('registers every command it declares', async () => {
    const declared = (vscode.extensions.getExtension('radish-dev.radish')!.packageJSON as { contributes: { commands: { command: string }[] } })
      .contributes.commands.map((c) => c.command).sort();
    // VS Code adds its own focus/toggle commands for each contributed view.
    const registered = (await vscode.commands.getCommands(true)).filter((c) => c.startsWith('radish.') && !/^radish\.(queues|workers|failed|tasks)\./.test(c)).sort();
    assert.deepEqual(registered, declared);
  });

  it('finds the task definitions of the workspace', async () => {
    await waitFor(() => s.tasks.sites().some((t) => t.name === 'tasks.add'), 'tasks discovered');
    const names = s.tasks.sites().map((t) => t.name);
    for (const expected of ['tasks.add', 'tasks.fail', 'tasks.flaky', 'images.thumbnail']) assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
  });

  it('starts the worker, shows it, and streams its log', async () => {
    await vscode.commands.executeCommand('radish.startWorker');
    assert.equal(s.supervisor.state, 'running');
    const { WorkersProvider } = await import('../../extension/views/workers');
    const provider = new WorkersProvider(s.connection, s.supervisor);
    await waitFor(async () => (await provider.getChildren()).some((n) => n.kind === 'local' && n.info?.presence?.pid === s.supervisor.pid), 'worker visible in Redis');
  });

  it('enqueues with args and gets the result', async () => {
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'tasks.add', args: [20, 22] });
    assert.ok(id, 'a task id');
    const result = await (await s.connection.client()).asyncResult(id);
    assert.equal(await result.get({ timeout: 20_000 }), 42);
  });

  it('shows a failing task in the Failed view, and retry with edited args succeeds', async () => {
    const id = await vscode.commands.executeCommand<string>('radish.enqueue', { task: 'tasks.add', args: [1], kwargs: { bogus: 1 } });
    const app = await s.connection.client();
    await assert.rejects((await app.asyncResult(id)).get({ timeout: 20_000 }), /unexpected keyword argument 'bogus'/);
    let node: FailedNode | undefined;
    await waitFor(async () => {
      node = (await s.failed.getChildren()).find((n) => n.kind === 'letter' && n.letter.task?.id === id);
      return node !== undefined;
    }, 'failed task listed');
    const item = s.failed.getTreeItem(node!);
    assert.equal(item.contextValue, 'failedTask');
    assert.match(String(item.description), /TypeError/);
    const retried = await vscode.commands.executeCommand<string>('radish.retryFailedWithArgs', node, { args: [1, 2], kwargs: {} });
    assert.equal(retried, id);
    assert.equal(await (await app.asyncResult(id)).get({ timeout: 20_000 }), 3);
    assert.ok(!(await s.failed.getChildren()).some((n) => n.kind === 'letter' && n.letter.task?.id === id), 'gone from Failed');
  });

  it('lists a queue with its messages, opens one in full, and purges it', async () => {
    for (let i = 0; i < 3; i++) await vscode.commands.executeCommand('radish.enqueue', { task: 'tasks.add', args: [i, 'x'.repeat(500)], queue: 'parked' });
    const root = await s.queues.getChildren();
    const parked = root.find((n): n is Extract<QueueNode, { kind: 'queue' }> => n.kind === 'queue' && n.depth.queue === 'parked');
    assert.equal(parked?.depth.total, 3);
    const messages = await s.queues.getChildren(parked);
    assert.equal(messages.length, 3);
    await vscode.commands.executeCommand('radish.openMessage', messages[0]);
    const doc = vscode.window.activeTextEditor?.document;
    assert.equal(doc?.uri.scheme, 'radish');
    assert.ok(doc?.getText().includes('x'.repeat(500)), 'the full args, never truncated');
    const removed = await vscode.commands.executeCommand<number>('radish.purgeQueue', parked, true);
    assert.equal(removed, 3);
    const after = (await s.queues.getChildren()).find((n) => n.kind === 'queue' && n.depth.queue === 'parked');
    assert.equal(after && after.kind === 'queue' ? after.depth.total : 0, 0);
  });

  it('notices a worker that crashed, and restarts it', async () => {
    process.kill(s.supervisor.pid!, 'SIGKILL');
    await waitFor(() => s.supervisor.state === 'crashed', 'crash noticed');
    await vscode.commands.executeCommand('radish.restartWorker');
    assert.equal(s.supervisor.state, 'running');
  });

  it('stops the worker', async () => {
    await vscode.commands.executeCommand('radish.stopWorker');
    assert.equal(s.supervisor.state, 'stopped');
  });
});
