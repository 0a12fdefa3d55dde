import * as vscode from 'vscode';
import type { BulkOutcome, SearchQuery, TaskRecord } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { bulkLimit, confirmWanted, counting, runBulk, type BulkRun } from './bulkAction';

/**
 * Which of the matching tasks a bulk action takes: those it can act on and has not acted on yet, so that a second
 * run acts on the rest. `before` is the action's start (unix seconds): tasks first seen after it are left out.
 */
export type PickTasks = (records: TaskRecord[], query: SearchQuery, before: number) => Promise<TaskRecord[]>;

/**
 * Run a bulk action on the history's tasks that match the Tasks view's filter (every task without one), those
 * `pick` takes: counted first (the whole history is searched, under a progress notification), so the question and
 * the report say how many.
 */
export async function onMatchingTasks(s: Services, options: unknown, run: Omit<BulkRun, 'filter' | 'matched' | 'confirm' | 'act' | 'searched'>,
  pick: PickTasks, act: (records: TaskRecord[], bulk: Parameters<BulkRun['act']>[0]) => Promise<BulkOutcome>): Promise<BulkOutcome | undefined> {
  const monitor = await s.live.ensure();
  if (!monitor) throw new Error(`cannot read the task history: ${s.live.connectionError ?? s.live.startError ?? 'not connected'}`);
  const r = runner();
  const filter = s.taskView.filterText;
  const query = r.parseQuery(filter);
  const before = Date.now() / 1000;
  // Every match is counted (and kept: the action takes some of them) within the history's bound.
  const { found, records } = await counting(run.noun, async () => {
    const found = await r.searchHistory(monitor.history, query, { limit: monitor.history.maxTasks, examine: monitor.history.maxTasks, countAll: true });
    return { found, records: await pick(found.items, query, before) };
  });
  if (records.length === 0) {
    void vscode.window.showInformationMessage(`Radish: no ${run.noun.replace(/s$/, '')}${filter ? ` matches "${filter}"` : ' in the history'}.`);
    return undefined;
  }
  try {
    return await runBulk({
      ...run, noun: records.length === 1 ? run.noun.replace(/s$/, '') : run.noun, filter, matched: records.length, searched: found.cutShort === 'examine' ? found.examined : undefined,
      confirm: confirmWanted(options), act: (bulk) => act(records.slice(0, bulkLimit()), bulk),
    });
  } finally {
    // The filter's search runs again (a retry's copies match it): once their task-sent events are in, soon after.
    setTimeout(() => s.taskView.searchAgain(), 1000);
    s.refresh.refreshSoon(500);
    s.panels.refreshAll();
  }
}
