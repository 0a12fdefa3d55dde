import * as vscode from 'vscode';
import type { Services } from '../../services';
import { control, workerOf, type WorkerTarget } from './workerControl';

/** Make a worker stop consuming a queue (remote control `cancel_consumer`); running tasks finish. */
export async function cancelQueue(s: Services, node?: WorkerTarget, queue?: string): Promise<unknown> {
  const worker = await workerOf(s, node, 'Radish: Cancel a queue of which worker?');
  if (!worker) return undefined;
  const name = queue ?? (await vscode.window.showQuickPick(worker.queues, { title: `Radish: Queue ${worker.hostname} stops consuming` }));
  if (!name) return undefined;
  return control(s, worker, 'cancel_consumer', { queue: name });
}
