import type { BulkOutcome, FailedEntry } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { failedIdentity, listAllFailed } from '../../views/failed';
import { onMatchingTasks } from './matchingTasks';

/**
 * Retry All Matching (the Tasks view's title bar while filtered): each finished task that matches and did not
 * succeed (FAILURE, REVOKED; with `state:` in the filter, the finished states it names) is sent again as Retry Task
 * does (a new task with the same arguments, linked to it; a task listed as failed is retried from its failure, so it
 * leaves the Failed view), up to `radish.bulk.limit` at once. Tasks already retried from this window are left out,
 * so running it again retries the rest. A caller may pass `{ confirm: false }` second.
 */
export async function retryMatchingTasks(s: Services, _node?: unknown, options?: unknown): Promise<BulkOutcome | undefined> {
  const r = runner();
  return onMatchingTasks(s, options, {
    verb: 'Retry', done: 'Retried', noun: 'finished tasks',
    detail: 'Each is sent again as a new task with the same name, arguments and queue, linked to the original. '
      + 'Only finished tasks that did not succeed are taken (FAILURE, REVOKED; name other finished states with state:), '
      + 'never one still queued or running, nor one already retried from this window.',
  }, async (records, query, before) => r.retryCandidates(records, query, { done: (id) => s.links.retriedAs(id).length > 0, before }),
  async (records, bulk) => {
    const inspector = await s.connection.inspector();
    const failures = new Map<string, FailedEntry>();
    if (records.some((record) => record.state === 'FAILURE')) {
      for (const node of (await listAllFailed(inspector)).tasks) {
        const { id } = failedIdentity(node);
        if (id) failures.set(id, node);
      }
    }
    const outcome = await r.retryTasks(await s.connection.client(), inspector, records, { ...bulk, failures });
    await s.links.add(...outcome.sent);
    return outcome;
  });
}
