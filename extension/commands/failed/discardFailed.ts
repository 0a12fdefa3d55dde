import type { Services } from '../../services';
import type { FailedNode } from '../../views/failed';

export async function discardFailed(s: Services, node?: FailedNode): Promise<boolean> {
  const inspector = await s.connection.inspector();
  let removed = false;
  if (node?.kind === 'letter') removed = await inspector.discard(node.letter);
  if (node?.kind === 'result') {
    await inspector.forgetResult(node.meta.task_id);
    removed = true;
  }
  s.refresh.refreshNow();
  return removed;
}
