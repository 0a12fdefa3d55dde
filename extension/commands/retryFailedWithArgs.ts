import * as vscode from 'vscode';
import { jsonProblem } from '../enqueue';
import type { Services } from '../services';
import type { FailedNode } from '../views/failed';

/** Edit the args and kwargs of a dead-lettered task (validated JSON), then send it again. */
export async function retryFailedWithArgs(s: Services, node?: FailedNode, preset?: { args: unknown[]; kwargs: Record<string, unknown> }): Promise<string | undefined> {
  const task = node?.kind === 'letter' ? node.letter.task
    : node?.kind === 'result' && node.meta.name ? { name: node.meta.name, args: node.meta.args ?? [], kwargs: node.meta.kwargs ?? {} } : undefined;
  if (!node || !task) return undefined;
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
  try {
    const inspector = await s.connection.get();
    const id = node.kind === 'letter' ? await inspector.replay(node.letter, { args, kwargs }) : await inspector.retryResult((node as Extract<FailedNode, { kind: 'result' }>).meta, { args, kwargs });
    void vscode.window.setStatusBarMessage(`Radish: retried ${task.name}[${id}] with new arguments`, 4000);
    return id;
  } catch (err) {
    void vscode.window.showErrorMessage(`Radish: ${(err as Error).message}`);
    return undefined;
  } finally {
    s.refresh.refreshNow();
  }
}
