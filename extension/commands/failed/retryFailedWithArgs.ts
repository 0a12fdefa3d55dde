import * as vscode from 'vscode';
import { jsonProblem } from '../../enqueue';
import type { Services } from '../../services';
import type { FailedNode } from '../../views/failed';
import { retry } from '../../retry';

/** Edit the args and kwargs of a failed task (validated JSON), then send it again as a new task linked to it. */
export async function retryFailedWithArgs(s: Services, node?: FailedNode, preset?: { args: unknown[]; kwargs: Record<string, unknown> }): Promise<string | undefined> {
  const task = node?.kind === 'letter' ? node.letter.task
    : node?.kind === 'result' && node.meta.name ? { name: node.meta.name, args: node.meta.args ?? [], kwargs: node.meta.kwargs ?? {} } : undefined;
  if (!node || node.kind === 'message' || !task) return undefined;
  let args = preset?.args;
  let kwargs = preset?.kwargs;
  if (!preset) {
    const a = await vscode.window.showInputBox({ title: `Retry ${task.name}: args`, value: JSON.stringify(task.args), ignoreFocusOut: true, validateInput: (t) => jsonProblem(t, 'array') });
    if (a === undefined) return undefined;
    const k = await vscode.window.showInputBox({ title: `Retry ${task.name}: kwargs`, value: JSON.stringify(task.kwargs), ignoreFocusOut: true, validateInput: (t) => jsonProblem(t, 'object') });
    if (k === undefined) return undefined;
    args = JSON.parse(a) as unknown[];
    kwargs = JSON.parse(k) as Record<string, unknown>;
  }
  return retry(s, { failed: node }, { args, kwargs });
}
