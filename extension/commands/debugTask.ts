import { enqueue, type EnqueueRequest } from '../enqueue';
import type { Services } from '../services';
import { startWorkerDebug } from './worker/startWorkerDebug';

/**
 * "Debug Task": (re)start the local worker under the debugger, then send the task as Enqueue does (asking for its
 * args unless given: `radish.debugTask(name, args, kwargs)` from code, a CodeLens or a keybinding), so that the
 * debugger stops at the breakpoints in the task with the real arguments in scope. Resolves with the task id.
 */
export async function debugTask(s: Services, task?: unknown, args?: unknown, kwargs?: unknown): Promise<string | undefined> {
  const request: EnqueueRequest = typeof task === 'string' ? { task } : task && typeof task === 'object' && !('kind' in task) ? { ...(task as EnqueueRequest) } : {};
  if (Array.isArray(args)) request.args = args;
  if (kwargs && typeof kwargs === 'object' && !Array.isArray(kwargs)) request.kwargs = kwargs as Record<string, unknown>;
  if (!(await startWorkerDebug(s))) return undefined;
  return enqueue(s, request);
}
