import * as vscode from 'vscode';
import type { Services } from '../services';
import { errorMessage } from '../../runner/errors';

export async function startWorker(s: Services): Promise<void> {
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Starting Radish worker' }, () => s.supervisor.start());
  } catch (err) {
    const choice = await vscode.window.showErrorMessage(`Radish: ${errorMessage(err)}`, 'Show Log');
    if (choice) s.supervisor.log.show();
  } finally {
    s.refresh.refreshSoon();
  }
}
