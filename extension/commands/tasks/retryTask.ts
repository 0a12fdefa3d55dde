import { retry } from '../../retry';
import type { Services } from '../../services';
import { recordOf, type TaskTarget } from './taskNodes';

/**
 * Send a task from the history again, with the same arguments, to the same queue, as a new task (a new id, so a
 * revoked or still-running original cannot swallow or race it; the two are linked). Returns the new task id.
 */
export async function retryTask(s: Services, node?: TaskTarget): Promise<string | undefined> {
  const record = await recordOf(s, node, 'Retry Task');
  if (!record) return undefined;
  return retry(s, { id: record.id, record });
}
