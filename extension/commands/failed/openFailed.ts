import type { Services } from '../../services';
import type { TaskModel } from '../../taskView/protocol';
import { failedIdentity, type FailedNode } from '../../views/failed';

/**
 * Open a failed task in the task view. An unreadable message (no task id) is shown as its dead-letter record: its
 * error and the raw message.
 */
export async function openFailed(s: Services, node?: FailedNode): Promise<TaskModel | undefined> {
  if (node?.kind !== 'letter' && node?.kind !== 'result') return undefined;
  const { id } = failedIdentity(node);
  if (id) return s.panels.show(id, node);
  if (node.kind !== 'letter') return undefined;
  const { record, error } = node.letter;
  await s.documents.show(`failed/message-${record.time}.txt`, [
    'Unreadable message', `reason:   ${record.reason}`, `queue:    ${record.queue}`, `worker:   ${record.worker}`,
    `when:     ${new Date(record.time * 1000).toISOString()}`, '', `error: ${error ?? ''}`, '', 'raw message:', record.raw,
  ].join('\n'));
  return undefined;
}
