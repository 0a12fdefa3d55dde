import * as vscode from 'vscode';
import type { Services } from '../../services';

export async function purgeFailed(s: Services, _node?: unknown, confirmed?: boolean): Promise<number | undefined> {
  const inspector = await s.connection.inspector();
  if (confirmed !== true) {
    const count = await inspector.deadLetterCount();
    const answer = await vscode.window.showWarningMessage(`Delete all ${count} records of the dead-letter queue? This cannot be undone.`, { modal: true }, 'Purge');
    if (answer !== 'Purge') return undefined;
  }
  const removed = await inspector.purgeDeadLetters();
  s.refresh.refreshNow();
  return removed;
}
