import * as vscode from 'vscode';
import type { BulkOutcome, TaskRecord } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { bulkLimit, confirmWanted, runBulk, type BulkRun } from './bulkAction';

/**
 * Run a bulk action on the history's tasks that match the Tasks view's filter (every task without one), those
 * `keep` accepts: counted first (the whole history is searched), so the question and the report say how many.
 */
export async function onMatchingTasks(s: Services, options: unknown, run: Omit<BulkRun, 'filter' | 'matched' | 'confirm' | 'act'>,
  keep: (record: TaskRecord) => boolean, act: (records: TaskRecord[], bulk: Parameters<BulkRun['act']>[0]) => Promise<BulkOutcome>): Promise<BulkOutcome | undefined> {
  const monitor = await s.live.ensure();
  if (!monitor) throw new Error(`cannot read the task history: ${s.live.connectionError ?? s.live.startError ?? 'not connected'}`);
  const r = runner();
  const filter = s.taskView.filterText;
  // Every match is counted (and kept: a bulk action may skip some, as a revoke skips finished tasks) within the history's bound.
  const found = await r.searchHistory(monitor.history, r.parseQuery(filter), { limit: monitor.history.maxTasks, examine: monitor.history.maxTasks, countAll: true });
  const records = found.items.filter(keep);
  if (records.length === 0) {
    void vscode.window.showInformationMessage(`Radish: no ${run.noun.replace(/s$/, '')}${filter ? ` matches "${filter}"` : ' in the history'}.`);
    return undefined;
  }
  try {
    return await runBulk({ ...run, filter, matched: records.length, confirm: confirmWanted(options), act: (bulk) => act(records.slice(0, bulkLimit()), bulk) });
  } finally {
    s.refresh.refreshSoon(500);
    s.panels.refreshAll();
  }
}
