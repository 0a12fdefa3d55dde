import * as vscode from 'vscode';
import { enqueue } from '../enqueue';
import type { Services } from '../services';
import type { QueueNode } from '../views/queues';
import { errorMessage } from '../../runner/errors';

/** Queues view inline action: the enqueue flow with this queue preset. */
export async function enqueueIntoQueue(s: Services, node?: QueueNode): Promise<string | undefined> {
  const queue = node?.kind === 'queue' ? node.depth.queue : undefined;
  try {
    return await enqueue(s, { queue });
  } catch (err) {
    void vscode.window.showErrorMessage(`Radish: could not enqueue: ${errorMessage(err)}`);
    return undefined;
  }
}
