import * as vscode from 'vscode';
import type { Services } from '../../services';
import { revoke } from './revokeTask';
import { taskIdOf, type TaskTarget } from './taskNodes';

/** How a caller other than a menu (a test, another extension) may call Terminate. */
export interface TerminateOptions {
  /** Ask the user first. Default true. */
  confirm?: boolean;
}

/**
 * Revoke a running task and stop it where it runs, once the user says so: it is killed mid-run. A tree menu passes
 * (node, selected nodes); a programmatic caller may pass (node, { confirm: false }). The Workers view shows the task
 * as terminating at once, and drops it as soon as a worker says it terminated it: the worker's own record of its
 * running tasks catches up only at its next heartbeat.
 */
export async function terminateTask(s: Services, node?: TaskTarget, options?: TerminateOptions | unknown): Promise<Record<string, unknown> | undefined> {
  const id = await taskIdOf(s, node, 'Terminate task', 'running');
  if (!id) return undefined;
  const name = node?.kind === 'active' ? node.task.name : node?.kind === 'record' ? node.record.name : undefined;
  const confirm = !(typeof options === 'object' && options !== null && !Array.isArray(options) && (options as TerminateOptions).confirm === false);
  const choice = !confirm ? 'Terminate' : await vscode.window.showWarningMessage(`Terminate ${name ?? 'task'}[${id.slice(0, 8)}]?`, {
    modal: true,
    detail: 'It is stopped where it runs (its abort signal, or SIGTERM to its process) and revoked on every worker, so it does not run again.',
  }, 'Terminate');
  if (choice !== 'Terminate') return undefined;
  s.workers.markTerminating(id);
  let replies: Record<string, unknown>;
  try {
    replies = await revoke(s, id, true);
  } catch (err) {
    s.workers.terminateAnswered(id, undefined, true);
    throw err;
  }
  s.workers.terminateAnswered(id, replies);
  return replies;
}
