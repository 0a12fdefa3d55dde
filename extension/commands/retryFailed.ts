import * as vscode from 'vscode';
import type { Services } from '../services';
import type { FailedNode } from '../views/failed';

/** Send a dead-lettered task again, as it was, to its original queue (same task id). */
export async function retryFailed(s: Services, node?: FailedNode): Promise<string | undefined> {
  if (node?.kind !== 'letter' && node?.kind !== 'result') return undefined;
  try {
    const inspector = await s.connection.get();
    const id = node.kind === 'letter' ? await inspector.replay(node.letter) : await inspector.retryResult(node.meta);
    void vscode.window.setStatusBarMessage(`Radish: retried ${node.kind === 'letter' ? node.letter.task?.name : node.meta.name}[${id}]`, 4000);
    return id;
  } catch (err) {
    void vscode.window.showErrorMessage(`Radish: ${(err as Error).message}`);
    return undefined;
  } finally {
    s.refresh.refreshNow();
  }
}
