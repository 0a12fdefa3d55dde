import { enqueue } from '../../enqueue';
import type { Services } from '../../services';
import type { QueueNode } from '../../views/queues';

/** Queues view inline action: the enqueue flow with this queue preset. */
export async function enqueueIntoQueue(s: Services, node?: QueueNode): Promise<string | undefined> {
  const queue = node?.kind === 'queue' ? node.depth.queue : undefined;
  return enqueue(s, { queue });
}
