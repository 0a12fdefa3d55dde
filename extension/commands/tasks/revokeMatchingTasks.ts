import type { BulkOutcome } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { onMatchingTasks } from './matchingTasks';

/**
 * Revoke All Matching (the Tasks view's title bar while filtered): each unfinished task that matches (sent, received,
 * started, retrying) and is not revoked already is revoked on every worker as Revoke Task does, now and for workers
 * that start later, up to `radish.bulk.limit` at once; running it again revokes the rest. A caller may pass
 * `{ confirm: false }` as the second argument.
 */
export async function revokeMatchingTasks(s: Services, _node?: unknown, options?: unknown): Promise<BulkOutcome | undefined> {
  const r = runner();
  return onMatchingTasks(s, options, {
    verb: 'Revoke', done: 'Revoked', noun: 'unfinished tasks',
    detail: 'Workers drop each one when it arrives (a running one finishes; Terminate stops it). Finished tasks and tasks revoked already are left out.',
  }, async (records, _query, before) => {
    // A revoked task stays SENT in the history until a worker drops it: the revoked store says which were.
    const revoked = new Set(await (await s.connection.control()).revoked.load());
    return r.revokeCandidates(records, { done: (id) => revoked.has(id), before });
  }, async (records, bulk) => r.revokeTasks(await s.connection.control(), records.map((record) => record.id), bulk));
}
