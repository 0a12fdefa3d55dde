import * as vscode from 'vscode';
import type { ReplayOptions } from '../../../runner/index';
import type { Services } from '../../services';
import type { FailedNode } from '../../views/failed';

type Retryable = Extract<FailedNode, { kind: 'letter' | 'result' }>;

/**
 * Send a failed task again (a dead-letter record, or a FAILURE result kept with its arguments), under the same
 * task id, with `options` replacing its arguments. Says how it went; returns the task id. The views are refreshed
 * either way: a failed retry may still have changed what they show.
 */
export async function resend(s: Services, node: Retryable, options: ReplayOptions = {}): Promise<string> {
  try {
    const inspector = await s.connection.inspector();
    const id = node.kind === 'letter' ? await inspector.replay(node.letter, options) : await inspector.retryResult(node.meta, options);
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
