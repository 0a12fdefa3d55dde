import type { Services } from '../../services';
import type { FailedNode } from '../../views/failed';

/** Show a failed task: args, kwargs, exception and traceback (frames in workspace files are links). */
export async function openFailed(s: Services, node?: FailedNode): Promise<void> {
  if (node?.kind === 'result') {
    const { meta } = node;
    const lines = [
      `${meta.name ?? '(task name not stored)'}[${meta.task_id}]`,
      `state:    ${meta.status}`,
      ...(meta.worker ? [`worker:   ${meta.worker}`] : []),
      ...(meta.queue ? [`queue:    ${meta.queue}`] : []),
      `when:     ${meta.date_done ?? ''}`,
      '',
      ...(meta.args ? ['args:', JSON.stringify(meta.args, null, 2), '', 'kwargs:', JSON.stringify(meta.kwargs, null, 2), ''] : []),
      'exception:', JSON.stringify(meta.result, null, 2), '',
      ...(meta.traceback ? ['traceback:', meta.traceback] : []),
    ];
    await s.documents.show(`failed/${meta.name ?? 'task'}-${meta.task_id}.txt`, lines.join('\n'));
    return;
  }
  if (node?.kind !== 'letter') return;
  const { record, task, error } = node.letter;
  // The stored FAILURE of the same task (merged into this row) fills in what the record lacks.
  const exception = record.exception ?? node.meta?.result;
  const traceback = record.traceback ?? node.meta?.traceback;
  const lines = [
    `${task ? `${task.name}[${task.id}]` : 'Unreadable message'}`,
    `reason:   ${record.reason}`,
    `queue:    ${record.queue}`,
    `worker:   ${record.worker}`,
    `when:     ${new Date(record.time * 1000).toISOString()}`,
    ...(record.attempts ? [`attempts: ${record.attempts}`] : []),
    '',
    ...(task ? ['args:', JSON.stringify(task.args, null, 2), '', 'kwargs:', JSON.stringify(task.kwargs, null, 2)] : [`error: ${error}`, '', 'raw message:', record.raw]),
    '',
    ...(exception ? ['exception:', JSON.stringify(exception, null, 2), ''] : []),
    ...(traceback ? ['traceback:', traceback] : []),
  ];
  await s.documents.show(`failed/${task ? `${task.name}-${task.id}` : 'message'}.txt`, lines.join('\n'));
}
