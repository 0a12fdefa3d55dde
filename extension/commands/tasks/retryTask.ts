import * as vscode from 'vscode';
import type { Services } from '../../services';
import { stepDone } from '../../walkthrough';
import { recordOf, type TaskTarget } from './taskNodes';

/**
 * Send a task from the history again, with the same arguments, to the same queue, as a new task (a new id, so a
 * revoked or still-running original cannot swallow or race it). Returns the new task id.
 */
export async function retryTask(s: Services, node?: TaskTarget): Promise<string | undefined> {
  const record = await recordOf(s, node, 'Retry task');
  if (!record) return undefined;
  const call = await (await s.connection.inspector()).callOf(record);
  const result = await (await s.connection.client()).send(call.name, call.args, call.kwargs, { queue: call.queue });
  // Said where the user looks, with the short id the views show; the full id is in the Tasks view.
  void vscode.window.showInformationMessage(`Radish: sent ${call.name} again as ${result.id.slice(0, 8)}`);
  s.refresh.refreshSoon();
  stepDone('retried');
  return result.id;
}
