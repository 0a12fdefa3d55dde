import type { BulkOutcome } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { onMatchingFailed } from './matchingFailed';

/**
 * Retry All Matching (the Failed view's title bar while filtered): each failed task that matches is sent again as
 * Retry does (a new task linked to the failed one; its dead-letter record and stored FAILURE go), up to
 * `radish.bulk.limit` at once. A caller may pass `{ confirm: false }` as the second argument.
 */
export async function retryMatchingFailed(s: Services, _node?: unknown, options?: unknown): Promise<BulkOutcome | undefined> {
  return onMatchingFailed(s, options, {
    verb: 'Retry', done: 'Retried',
    detail: 'Each is sent again as a new task, linked to the failed one; its dead-letter record and stored FAILURE are removed.',
  }, async (inspector, entries, bulk) => {
    const outcome = await runner().retryFailures(inspector, entries, bulk);
    await s.links.add(...outcome.sent);
    return outcome;
  });
}
