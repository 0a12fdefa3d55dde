import * as vscode from 'vscode';
import { jsonProblem } from '../../enqueue';
import { notRetryable, retry } from '../../retry';
import type { Services } from '../../services';
import type { FailedNode } from '../../views/failed';
import { startWorkerDebug } from '../worker/startWorkerDebug';

/**
 * "Debug Failed Task": send a failed task again (a new task, linked to it, as Retry does), with its args and kwargs
 * as they failed or as edited, to the local worker started under the debugger, so the debugger stops at the
 * breakpoints in the task with the arguments that made it fail. `preset` skips the questions (tests, other
 * extensions).
 */
export async function debugFailed(s: Services, node?: FailedNode, preset?: { args: unknown[]; kwargs: Record<string, unknown> }): Promise<string | undefined> {
  const task = node?.kind === 'letter' ? node.letter.task
    : node?.kind === 'result' && node.meta.name ? { name: node.meta.name, args: node.meta.args ?? [], kwargs: node.meta.kwargs ?? {} } : undefined;
  if (!node || node.kind === 'message' || !task) return undefined;
  const refused = notRetryable(node);
  if (refused) {
    void vscode.window.showWarningMessage(`Radish: cannot debug this failure: ${refused}`);
    return undefined;
  }
  let args = preset?.args;
  let kwargs = preset?.kwargs;
  if (!preset) {
    // Prefilled with what it failed with: Enter twice replays it as it was.
    const a = await vscode.window.showInputBox({ title: `Debug ${task.name}: args (as it failed)`, value: JSON.stringify(task.args), ignoreFocusOut: true, validateInput: (t) => jsonProblem(t, 'array') });
    if (a === undefined) return undefined;
    const k = await vscode.window.showInputBox({ title: `Debug ${task.name}: kwargs (as it failed)`, value: JSON.stringify(task.kwargs), ignoreFocusOut: true, validateInput: (t) => jsonProblem(t, 'object') });
    if (k === undefined) return undefined;
    args = JSON.parse(a) as unknown[];
    kwargs = JSON.parse(k) as Record<string, unknown>;
  }
  if (!(await startWorkerDebug(s))) return undefined;
  return retry(s, { failed: node }, { args, kwargs });
}
