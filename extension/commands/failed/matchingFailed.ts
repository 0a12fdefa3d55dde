import * as vscode from 'vscode';
import type { BulkOutcome, FailedEntry, Inspector } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { bulkLimit, confirmWanted, counting, runBulk, type BulkRun } from '../tasks/bulkAction';

/**
 * Run a bulk action on the failed tasks that match the Failed view's filter (all of them without one): counted
 * first (under a progress notification), so the question and the report say how many matched: "at least" when the
 * search stopped after the last 10,000.
 */
export async function onMatchingFailed(s: Services, options: unknown, run: Omit<BulkRun, 'filter' | 'matched' | 'confirm' | 'act' | 'noun' | 'searched'>,
  act: (inspector: Inspector, entries: FailedEntry[], bulk: Parameters<BulkRun['act']>[0]) => Promise<BulkOutcome>): Promise<BulkOutcome | undefined> {
  const r = runner();
  const inspector = await s.connection.inspector();
  const filter = s.failed.filterText;
  const found = await counting('failed tasks', () => r.searchFailures(inspector, r.parseQuery(filter), { limit: bulkLimit(), countAll: true }));
  if (found.matched === 0) {
    void vscode.window.showInformationMessage(`Radish: no failed task matches${filter ? ` "${filter}"` : ''}.`);
    return undefined;
  }
  try {
    return await runBulk({ ...run, noun: found.matched === 1 ? 'failed task' : 'failed tasks', filter, matched: found.matched,
      searched: found.cutShort === 'examine' ? found.examined : undefined,
      confirm: confirmWanted(options), act: (bulk) => act(inspector, found.items, bulk) });
  } finally {
    s.failed.searchAgain();
    s.refresh.refreshNow();
    s.panels.refreshAll();
  }
}
