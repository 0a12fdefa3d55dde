import * as vscode from 'vscode';
import type { Services } from '../../services';

/** Send every listed dead-lettered task again (unreadable messages stay: there is nothing to run). */
export async function retryAllFailed(s: Services): Promise<number> {
  const inspector = await s.connection.inspector();
  const letters = (await inspector.deadLetters(0, 10_000)).filter((l) => l.task);
  let retried = 0;
  for (const letter of letters) {
    try {
      await inspector.replay(letter);
      retried++;
    } catch {
      // replayed or discarded by someone else meanwhile
    }
  }
  void vscode.window.showInformationMessage(`Radish: retried ${retried} failed task${retried === 1 ? '' : 's'}.`);
  s.refresh.refreshNow();
  return retried;
}
