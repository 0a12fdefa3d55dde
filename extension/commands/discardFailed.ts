import type { Services } from '../services';
import type { FailedNode } from '../views/failed';

export async function discardFailed(s: Services, node?: FailedNode): Promise<boolean> {
  if (node?.kind !== 'letter') return false;
  const removed = await (await s.connection.get()).discard(node.letter);
  s.refresh.refreshNow();
  return removed;
}
