import type { BulkOutcome } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { onMatchingFailed } from './matchingFailed';

/**
 * Discard All Matching (the Failed view's title bar while filtered): each failed task that matches loses its
 * dead-letter record and stored FAILURE, as Discard does, up to `radish.bulk.limit` at once. A caller may pass
 * `{ confirm: false }` as the second argument.
 */
export async function discardMatchingFailed(s: Services, _node?: unknown, options?: unknown): Promise<BulkOutcome | undefined> {
  return onMatchingFailed(s, options, {
    verb: 'Discard', done: 'Discarded',
    detail: 'Their dead-letter records and stored FAILURE results are deleted. This cannot be undone.',
  }, (inspector, entries, bulk) => runner().discardFailures(inspector, entries, bulk));
}
