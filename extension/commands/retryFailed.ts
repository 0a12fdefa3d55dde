import * as vscode from 'vscode';
import type { Services } from '../services';
import type { FailedNode } from '../views/failed';

/** Send a dead-lettered task again, as it was, to its original queue (same task id). */
export async function retryFailed(s: Services, node?: FailedNode): Promise<string | undefined> {
  if (node?.kind !== 'letter') return undefined;
  try {
    const id = await (await s.connection.get()).replay(node.letter);
    void vscode.window.setStatusBarMessage(`Radish: retried ${node.letter.task?.name}[${id}]`, 4000);
    return id;
  } catch (err) {
    void vscode.window.showErrorMessage(`Radish: ${(err as Error).message}`);
    return undefined;
  } finally {
    s.refresh.refreshNow();
  }
}
