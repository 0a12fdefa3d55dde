import * as vscode from 'vscode';
import type { Services } from '../../services';
import { control, workerOf, type WorkerTarget } from './workerControl';

/** Make a worker consume one more queue (remote control `add_consumer`). */
export async function addQueue(s: Services, node?: WorkerTarget, queue?: string): Promise<unknown> {
  const worker = await workerOf(s, node, 'Radish: Add a queue to which worker?');
  if (!worker) return undefined;
  const name = queue ?? (await vscode.window.showInputBox({ title: `Radish: Queue for ${worker.hostname} to consume`, validateInput: (t) => (t.trim() ? undefined : 'a queue name') }))?.trim();
  if (!name) return undefined;
  return control(s, worker, 'add_consumer', { queue: name });
}
