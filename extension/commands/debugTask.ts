import * as vscode from 'vscode';
import { enqueue, type EnqueueRequest } from '../enqueue';
import type { Services } from '../services';
import { targetRequest, type Target } from './enqueueWithArgs';
import { startWorkerDebug } from './worker/startWorkerDebug';

/**
 * "Debug Task": (re)start the local worker under the debugger, then send the task as Enqueue does, so that the
 * debugger stops at the breakpoints in the task with the real arguments in scope. Which task: a name (palette, code:
 * `radish.debugTask(name, args?, kwargs?)` sends exactly those args), the CodeLens's request (last args used), a
 * Tasks view definition, or the task under the cursor (editor context menu); else it asks, as Enqueue does.
 * Resolves with the task id.
 */
export async function debugTask(s: Services, target?: unknown, args?: unknown, kwargs?: unknown): Promise<string | undefined> {
  const request: EnqueueRequest = isRequest(target) ? { ...target } : await targetRequest(s, target as Target | undefined);
  if (Array.isArray(args)) request.args = args;
  if (kwargs && typeof kwargs === 'object' && !Array.isArray(kwargs)) request.kwargs = kwargs as Record<string, unknown>;
  if (!(await startWorkerDebug(s))) return undefined;
  return enqueue(s, request);
}

/** The CodeLens's `{ task, quick }` (an EnqueueRequest), as opposed to a name, a tree node or a URI. */
function isRequest(target: unknown): target is EnqueueRequest {
  return typeof target === 'object' && target !== null && !(target instanceof vscode.Uri) && 'task' in target && !('kind' in target);
}
