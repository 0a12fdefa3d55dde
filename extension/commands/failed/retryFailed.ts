import { retry } from '../../retry';
import type { Services } from '../../services';
import type { FailedNode } from '../../views/failed';

/** Send a failed task again, as it was, to its original queue, as a new task linked to the failed one. */
export async function retryFailed(s: Services, node?: FailedNode): Promise<string | undefined> {
  if (node?.kind !== 'letter' && node?.kind !== 'result') return undefined;
  return retry(s, { failed: node });
}
