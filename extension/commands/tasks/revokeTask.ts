import * as vscode from 'vscode';
import type { Services } from '../../services';
import { taskIdOf, type TaskTarget } from './taskNodes';

/**
 * Revoke a task on every worker (Radish's and Celery's): a waiting one is dropped when it arrives. Returns the
 * workers' replies.
 */
export async function revokeTask(s: Services, node?: TaskTarget): Promise<Record<string, unknown> | undefined> {
  const id = await taskIdOf(s, node, 'Revoke task', 'pending');
  return id ? revoke(s, id, false) : undefined;
}

/**
 * Send the revoke; with `terminate`, a running task is also stopped where it runs (Radish: its signal is aborted, or
 * its pool child killed; Celery: its pool process gets SIGTERM).
 */
export async function revoke(s: Services, id: string, terminate: boolean): Promise<Record<string, unknown>> {
  const replies = await (await s.connection.control()).revoke(id, { terminate, timeout: 1 });
  const nodes = Object.keys(replies);
  void vscode.window.setStatusBarMessage(`Radish: ${terminate ? 'terminated' : 'revoked'} ${id}${nodes.length ? ` (${nodes.length} worker${nodes.length === 1 ? '' : 's'} replied)` : ''}`, 5000);
  s.refresh.refreshSoon(500);
  return replies;
}
