import * as vscode from 'vscode';
import type { Services } from '../../services';
import type { QueueNode } from '../../views/queues';

type QueueRow = Extract<QueueNode, { kind: 'queue' }>;

/**
 * The queue a command is for: the row clicked, or from the palette a pick among the Queues view's rows that `fits`
 * (not paused, for Pause). None to pick from is said, not silently ignored.
 */
export async function pickQueue(s: Services, node: QueueNode | undefined, title: string, fits: (row: QueueRow) => boolean): Promise<string | undefined> {
  if (node?.kind === 'queue') return node.depth.queue;
  const rows = (await s.queues.getChildren()).filter((n): n is QueueRow => n.kind === 'queue' && fits(n));
  if (rows.length === 0) {
    void vscode.window.showInformationMessage('Radish: no queue to choose from here.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(rows.map((r) => ({ label: r.depth.queue, description: `${r.paused ? 'paused · ' : ''}${r.depth.total} waiting` })), { title });
  return pick?.label;
}
