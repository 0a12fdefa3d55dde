/** Shared by the worker actions: which worker (the node clicked, or a pick), and sending it one control command. */
import * as vscode from 'vscode';
import type { WorkerDetails } from '../../../runner/index';
import type { Services } from '../../services';
import type { WorkerNode } from '../../views/workers';

export type WorkerTarget = Extract<WorkerNode, { kind: 'worker' | 'local' }>;

/**
 * The worker a node stands for; from the palette, a pick among the workers on the broker. None online is no error:
 * the user is told so, with the way to start one, and nothing more happens.
 */
export async function workerOf(s: Services, node: WorkerTarget | undefined, title: string): Promise<WorkerDetails | undefined> {
  if (node?.details) return node.details;
  const workers = await s.connection.workers();
  if (workers.length === 0) {
    void vscode.window.showInformationMessage('Radish: no worker is online on this broker.', 'Start Worker').then((choice) => {
      if (choice) void vscode.commands.executeCommand('radish.startWorker');
    });
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(workers.map((w) => ({ label: w.hostname, description: `${w.kind} · ${w.queues.join(', ')}`, w })), { title });
  return pick?.w;
}

/** Send `method` to one worker and say what it answered; throws when it did not answer. */
export async function control(s: Services, worker: WorkerDetails, method: string, args: Record<string, string | number | boolean> = {}): Promise<unknown> {
  const replies = await (await s.connection.control()).broadcast(method, args, { destination: [worker.hostname], timeout: 2 });
  const reply = replies[worker.hostname];
  if (reply === undefined) throw new Error(`${worker.hostname} did not answer ${method} within 2 s`);
  const r = reply as { ok?: unknown; error?: unknown };
  if (r && typeof r === 'object' && 'error' in r) throw new Error(`${worker.hostname}: ${String(r.error)}`);
  void vscode.window.setStatusBarMessage(`Radish: ${worker.hostname}: ${r && typeof r === 'object' && 'ok' in r ? String(r.ok) : JSON.stringify(reply)}`, 5000);
  s.refresh.refreshSoon(500);
  return reply;
}
