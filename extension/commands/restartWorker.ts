import * as vscode from 'vscode';
import type { Services } from '../services';
import { errorMessage } from '../../runner/errors';

export async function restartWorker(s: Services): Promise<void> {
  try {
    await s.supervisor.restart();
  } catch (err) {
    void vscode.window.showErrorMessage(`Radish: ${errorMessage(err)}`);
  } finally {
    s.refresh.refreshSoon();
  }
}
