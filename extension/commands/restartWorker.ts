import * as vscode from 'vscode';
import type { Services } from '../services';

export async function restartWorker(s: Services): Promise<void> {
  try {
    await s.supervisor.restart();
  } catch (err) {
    void vscode.window.showErrorMessage(`Radish: ${(err as Error).message}`);
  } finally {
    s.refresh.refreshSoon();
  }
}
