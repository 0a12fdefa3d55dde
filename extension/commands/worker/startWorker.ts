import * as vscode from 'vscode';
import type { Services } from '../../services';

export async function startWorker(s: Services): Promise<void> {
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Starting Radish worker' }, () => s.supervisor.start());
  } finally {
    s.refresh.refreshSoon();
  }
}
