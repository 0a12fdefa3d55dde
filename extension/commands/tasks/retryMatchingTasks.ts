import type { BulkOutcome, FailedEntry } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { failedIdentity, listAllFailed } from '../../views/failed';
import { onMatchingTasks } from './matchingTasks';

/**
 * Retry All Matching (the Tasks view's title bar while filtered): each task that matches is sent again as Retry Task
 * does (a new task with the same arguments, linked to it; a task listed as failed is retried from its failure, so it
 * leaves the Failed view), up to `radish.bulk.limit` at once. A caller may pass `{ confirm: false }` second.
 */
export async function retryMatchingTasks(s: Services, _node?: unknown, options?: unknown): Promise<BulkOutcome | undefined> {
  return onMatchingTasks(s, options, {
    verb: 'Retry', done: 'Retried', noun: 'tasks',
    detail: 'Each is sent again as a new task with the same name, arguments and queue, linked to the original.',
  }, () => true, async (records, bulk) => {
    const inspector = await s.connection.inspector();
    const failures = new Map<string, FailedEntry>();
    if (records.some((r) => r.state === 'FAILURE')) {
      for (const node of (await listAllFailed(inspector)).tasks) {
        const { id } = failedIdentity(node);
        if (id) failures.set(id, node);
      }
    }
    const outcome = await runner().retryTasks(await s.connection.client(), inspector, records, { ...bulk, failures });
    await s.links.add(...outcome.sent);
    return outcome;
  });
}
