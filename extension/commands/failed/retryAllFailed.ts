import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { errorMessage } from '../../../runner/errors';
import type { Services } from '../../services';
import { failedIdentity, failedLabel, listAllFailed } from '../../views/failed';
import { notRetryable, sendFailedAgain } from '../../retry';

/** Reasons named in the notification at most; the rest are counted. */
const NAMED = 3;

/**
 * Send every failed task again that can be sent: the dead letters and the stored failures that kept their task name
 * (`result_extended`), i.e. what the Failed view lists, each as a new task linked to the failed one. Says how many were retried and, for the others, why not.
 * Resolves to how many were retried.
 */
export async function retryAllFailed(s: Services): Promise<number> {
  const inspector = await s.connection.inspector();
  const { tasks } = await listAllFailed(inspector);
  if (tasks.length === 0) {
    void vscode.window.showInformationMessage('Radish: there are no failed tasks to retry.');
    s.failed.searchAgain();
    s.refresh.refreshNow();
    return 0;
  }
  let retried = 0;
  const refused: string[] = [];
  const links: [string, string][] = [];
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Radish: retrying ${tasks.length} failed tasks` }, async () => {
      for (const node of tasks) {
        const why = notRetryable(node);
        if (why) {
          refused.push(`${failedLabel(node)}: ${why}`);
          continue;
        }
        try {
          const id = await sendFailedAgain(inspector, node, randomUUID());
          const was = failedIdentity(node).id;
          if (was) links.push([was, id]);
          retried++;
        } catch (err) {
          refused.push(`${failedLabel(node)}: ${errorMessage(err)}`);
        }
      }
    });
  } finally {
    await s.links.add(...links);
    s.failed.searchAgain();
    s.refresh.refreshNow();
    s.panels.refreshAll();
  }
  const done = `Radish: Retried ${retried} failed task${retried === 1 ? '' : 's'}`;
  if (refused.length === 0) {
    void vscode.window.showInformationMessage(`${done}.`);
  } else {
    const named = refused.slice(0, NAMED).join('; ') + (refused.length > NAMED ? `; and ${refused.length - NAMED} more` : '');
    void vscode.window.showWarningMessage(`${done}; ${refused.length} could not be retried: ${named}.`);
  }
  return retried;
}
