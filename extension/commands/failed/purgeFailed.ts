import * as vscode from 'vscode';
import type { Services } from '../../services';
import { listAllFailed } from '../../views/failed';
import { discardTask } from './discardFailed';

/** Failed tasks discarded at once: enough to overlap round-trips, few enough not to flood the connection. */
const BATCH = 100;

/**
 * Discard every failed task (the title bar's Discard All): each one's dead-letter record and stored FAILURE, after
 * a modal that says how many (skipped when `confirmed` is true). Exactly the tasks counted are discarded, one by
 * one, so a failure that arrives while the dialog is open is not lost unseen. Resolves to how many were discarded,
 * or undefined when cancelled.
 */
export async function purgeFailed(s: Services, _node?: unknown, confirmed?: boolean): Promise<number | undefined> {
  const inspector = await s.connection.inspector();
  const { tasks } = await listAllFailed(inspector);
  if (tasks.length === 0) {
    void vscode.window.showInformationMessage('Radish: there are no failed tasks to discard.');
    s.failed.searchAgain();
    s.refresh.refreshNow();
    return 0;
  }
  const many = `${tasks.length} failed task${tasks.length === 1 ? '' : 's'}`;
  if (confirmed !== true) {
    const answer = await vscode.window.showWarningMessage(`Discard all ${many}?`,
      { modal: true, detail: 'Their dead-letter records and stored FAILURE results are deleted. This cannot be undone.' }, 'Discard All');
    if (answer !== 'Discard All') return undefined;
  }
  let discarded = 0;
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Radish: discarding ${many}` }, async () => {
      for (let i = 0; i < tasks.length; i += BATCH) {
        const done = await Promise.all(tasks.slice(i, i + BATCH).map((node) => discardTask(inspector, node)));
        discarded += done.filter(Boolean).length;
      }
    });
  } finally {
    s.failed.searchAgain();
    s.refresh.refreshNow();
  }
  const gone = tasks.length - discarded;
  void vscode.window.showInformationMessage(`Radish: Discarded ${discarded} failed task${discarded === 1 ? '' : 's'}` +
    `${gone ? ` (${gone} had gone already: retried or discarded meanwhile)` : ''}.`);
  return discarded;
}
