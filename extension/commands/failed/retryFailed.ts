import * as vscode from 'vscode';
import type { Inspector, ReplayOptions } from '../../../runner/index';
import type { Services } from '../../services';
import type { FailedNode, FailedTask } from '../../views/failed';

/**
 * Why a failed task cannot be sent again, or undefined when it can: an unreadable message has no task to run, and a
 * stored FAILURE without `result_extended` has no task name or arguments.
 */
export function notRetryable(node: FailedTask): string | undefined {
  if (node.kind === 'letter') return node.letter.task ? undefined : `the message cannot be read (${node.letter.error ?? 'not a task'})`;
  return node.meta.name ? undefined : 'its result has no task name (the worker does not keep result_extended)';
}

/** Send a failed task again (replaying its dead-letter record, or from its stored result); resolves to the task id. */
export async function sendAgain(inspector: Inspector, node: FailedTask, options: ReplayOptions = {}): Promise<string> {
  return node.kind === 'letter' ? inspector.replay(node.letter, options) : inspector.retryResult(node.meta, options);
}

/**
 * Send a failed task again (a dead-letter record, or a FAILURE result kept with its arguments), under the same
 * task id, with `options` replacing its arguments. Says how it went; returns the task id. The views are refreshed
 * either way: a failed retry may still have changed what they show.
 */
export async function resend(s: Services, node: FailedTask, options: ReplayOptions = {}): Promise<string> {
  try {
    const inspector = await s.connection.inspector();
    const id = await sendAgain(inspector, node, options);
    const name = node.kind === 'letter' ? node.letter.task?.name : node.meta.name;
    const edited = options.args !== undefined || options.kwargs !== undefined ? ' with new arguments' : '';
    void vscode.window.setStatusBarMessage(`Radish: retried ${name}[${id}]${edited}`, 4000);
    return id;
  } finally {
    s.refresh.refreshNow();
  }
}

/** Send a failed task again, as it was, to its original queue (same task id). */
export async function retryFailed(s: Services, node?: FailedNode): Promise<string | undefined> {
  if (node?.kind !== 'letter' && node?.kind !== 'result') return undefined;
  return resend(s, node);
}
