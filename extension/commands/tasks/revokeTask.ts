import * as vscode from 'vscode';
import type { Services } from '../../services';
import { taskIdOf, type TaskTarget } from './taskNodes';

/**
 * Revoke a task on every worker (Radish's and Celery's): a waiting one is dropped when it arrives; with
 * `terminate`, a running one is stopped where it runs (Radish: its signal is aborted, or its pool child killed;
 * Celery: its pool process gets SIGTERM). Returns the workers' replies.
 */
export async function revokeTask(s: Services, node?: TaskTarget, terminate = false): Promise<Record<string, unknown> | undefined> {
  const id = await taskIdOf(node, terminate ? 'Radish: Terminate task' : 'Radish: Revoke task');
  if (!id) return undefined;
  const replies = await (await s.connection.control()).revoke(id, { terminate, timeout: 1 });
  const nodes = Object.keys(replies);
  void vscode.window.setStatusBarMessage(`Radish: ${terminate ? 'terminated' : 'revoked'} ${id}${nodes.length ? ` (${nodes.length} worker${nodes.length === 1 ? '' : 's'} replied)` : ''}`, 5000);
  s.refresh.refreshSoon(500);
  return replies;
}
