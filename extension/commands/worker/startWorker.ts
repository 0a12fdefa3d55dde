import * as vscode from 'vscode';
import type { Services } from '../../services';
import { reportStartError, WorkerStartError } from '../../worker/startError';

export async function startWorker(s: Services): Promise<void> {
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Starting Radish worker' }, () => s.supervisor.start());
  } catch (err) {
    // Its own notification, with the fix for what went wrong (trust, a task module, the failing line).
    if (!(err instanceof WorkerStartError)) throw err;
    void reportStartError(err, s.supervisor.log);
  } finally {
    s.refresh.refreshSoon();
  }
}
