import * as vscode from 'vscode';
import type { Inspector } from '../../../runner/index';
import type { Services } from '../../services';
import { failedLabel, type FailedNode, type FailedTask } from '../../views/failed';

/**
 * Remove one failed task whole: its dead-letter record and its stored FAILURE result (a Radish failure has both;
 * one left behind would bring the row back). Resolves false when it was gone already (retried or discarded by
 * someone else meanwhile).
 */
export async function discardTask(inspector: Inspector, node: FailedTask): Promise<boolean> {
  return node.kind === 'letter' ? inspector.discard(node.letter) : inspector.forgetFailure(node.meta.task_id);
}

/** Discard a failed task (its row's Discard), and say what was discarded. */
export async function discardFailed(s: Services, node?: FailedNode): Promise<boolean> {
  if (node?.kind !== 'letter' && node?.kind !== 'result') return false;
  try {
    const removed = await discardTask(await s.connection.inspector(), node);
    void vscode.window.showInformationMessage(removed
      ? `Radish: Discarded ${failedLabel(node)}.`
      : `Radish: ${failedLabel(node)} was gone already (retried or discarded meanwhile).`);
    return removed;
  } finally {
    s.failed.searchAgain();
    s.refresh.refreshNow();
  }
}
