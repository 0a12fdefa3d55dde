import * as vscode from 'vscode';
import type { Services } from '../../services';
import type { QueueNode } from '../../views/queues';

/** Delete every waiting message of a queue, after a modal confirmation (the one modal: it destroys data). */
export async function purgeQueue(s: Services, node?: QueueNode, confirmed?: boolean): Promise<number | undefined> {
  let queue = node?.kind === 'queue' ? node.depth.queue : undefined;
  const inspector = await s.connection.inspector();
  if (!queue) {
    const depths = await s.queues.depths();
    queue = (await vscode.window.showQuickPick(depths.map((d) => ({ label: d.queue, description: `${d.total} waiting` })), { title: 'Radish: Purge which queue?' }))?.label;
  }
  if (!queue) return undefined;
  if (confirmed !== true) {
    const answer = await vscode.window.showWarningMessage(`Delete every waiting message in queue "${queue}"? This cannot be undone.`, { modal: true }, 'Purge');
    if (answer !== 'Purge') return undefined;
  }
  const removed = await inspector.purge(queue);
  void vscode.window.showInformationMessage(`Radish: purged ${removed} message${removed === 1 ? '' : 's'} from ${queue}.`);
  s.refresh.refreshNow();
  return removed;
}
