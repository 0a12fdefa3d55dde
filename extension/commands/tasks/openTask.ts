import { runner } from '../../runner';
import type { Services } from '../../services';
import { recordOf, type TaskTarget } from './taskNodes';

function when(t: number | undefined): string | undefined {
  return t === undefined ? undefined : new Date(t * 1000).toISOString();
}

/**
 * Show everything known of a task: its history record (state, worker, times, retries, every event), the stored
 * result with the full JSON arguments when the worker keeps them, and its children with their states.
 */
export async function openTask(s: Services, node?: TaskTarget): Promise<void> {
  const record = await recordOf(s, node, 'Open task');
  if (!record) return;
  const inspector = await s.connection.inspector();
  const meta = await inspector.result(record.id);
  const history = (await s.live.ensure())?.history;
  const children = history ? await Promise.all(record.children.slice(0, 100).map(async (id) => ({ id, child: await history.get(id) }))) : [];
  const line = (label: string, value: unknown) => (value === undefined || value === null || value === '' ? [] : [`${(label + ':').padEnd(11)}${String(value)}`]);
  const lines = [
    `${record.name ?? '(name not seen)'}[${record.id}]`,
    ...line('state', record.state),
    ...line('worker', record.hostname),
    ...line('queue', meta?.queue || record.queue || record.routingKey),
    ...line('runtime', record.runtime === undefined ? undefined : `${record.runtime.toFixed(4)} s`),
    ...line('retries', record.retries),
    ...line('sent', when(record.sent)),
    ...line('received', when(record.received)),
    ...line('started', when(record.started)),
    ...line('succeeded', when(record.succeeded)),
    ...line('failed', when(record.failed)),
    ...line('revoked', when(record.revoked)),
    ...line('eta', record.eta),
    ...line('expires', record.expires),
    ...line('parent', record.parentId),
    ...line('root', record.rootId),
    '',
  ];
  if (meta?.args !== undefined) {
    lines.push('args (JSON, from the stored result):', JSON.stringify(meta.args, null, 2), '', 'kwargs:', JSON.stringify(meta.kwargs ?? {}, null, 2), '');
  } else if (record.args !== undefined) {
    lines.push('args (Python repr, from the events):', record.args, '', 'kwargs:', record.kwargs ?? '{}', '');
  }
  if (meta) {
    lines.push(`result (${meta.status}, stored ${meta.date_done ?? ''}):`, JSON.stringify(meta.result, null, 2), '');
    if (meta.traceback) lines.push('traceback:', meta.traceback, '');
  } else if (record.result !== undefined) {
    lines.push('result (repr, from the events):', record.result, '');
  }
  if (!meta?.traceback && record.exception) lines.push('exception:', record.exception, '', ...(record.traceback ? ['traceback:', record.traceback, ''] : []));
  if (children.length) {
    lines.push(`children (${record.children.length}):`);
    for (const { id, child } of children) lines.push(`  ${child?.name ?? '?'}[${id}] ${child?.state ?? '(not in history)'}`);
    lines.push('');
  }
  if (record.events.length) {
    lines.push('events:');
    for (const e of record.events) {
      const extra = Object.entries(e).filter(([k]) => !['type', 'timestamp', 'hostname'].includes(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? v : runner().pyRepr(v)}`);
      lines.push(`  ${when(e.timestamp)}  ${e.type.padEnd(15)} ${e.hostname}${extra.length ? '  ' + extra.join(' ') : ''}`);
    }
  }
  await s.documents.show(`tasks/${record.name ?? 'task'}-${record.id}.txt`, lines.join('\n'));
}
