import * as vscode from 'vscode';
import type { Services } from '../../services';
import { reportStartError, WorkerStartError } from '../../worker/startError';

/** What a caller other than a menu may ask for: queues to consume besides `radish.worker.queues`. */
export interface StartWorkerOptions {
  queues?: string[];
}

export async function startWorker(s: Services, options?: StartWorkerOptions | unknown): Promise<void> {
  const extra = typeof options === 'object' && options !== null && Array.isArray((options as StartWorkerOptions).queues)
    ? (options as StartWorkerOptions).queues!.filter((q): q is string => typeof q === 'string') : [];
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Starting Radish worker' }, () => s.supervisor.start({ queues: extra }));
  } catch (err) {
    // Its own notification, with the fix for what went wrong (trust, a task module, the failing line).
    if (!(err instanceof WorkerStartError)) throw err;
    void reportStartError(err, s.supervisor.log);
  } finally {
    s.refresh.refreshSoon();
  }
}
