import * as vscode from 'vscode';
import type { Services } from '../../services';
import type { QueueNode } from '../../views/queues';

type QueueRow = Extract<QueueNode, { kind: 'queue' }>;

/**
 * The queue a command is for: the row clicked, or from the palette a pick among the Queues view's rows that `fits`
 * (not paused, for Pause). None to pick from is said, with `none` saying why (e.g. "no queue is paused").
 */
export async function pickQueue(s: Services, node: QueueNode | undefined, title: string, fits: (row: QueueRow) => boolean,
  none: string): Promise<string | undefined> {
  if (node?.kind === 'queue') return node.depth.queue;
  const all = (await s.queues.getChildren()).filter((n): n is QueueRow => n.kind === 'queue');
  const rows = all.filter(fits);
  if (rows.length === 0) {
    // No row at all is another story than none that fits: the broker did not answer, or knows no queue.
    void vscode.window.showInformationMessage(all.length ? `Radish: ${none}.` : 'Radish: the Queues view lists no queue (is the broker reachable?).');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(rows.map((r) => ({ label: r.depth.queue, description: `${r.paused ? 'paused · ' : ''}${r.depth.total} waiting` })), { title });
  return pick?.label;
}
