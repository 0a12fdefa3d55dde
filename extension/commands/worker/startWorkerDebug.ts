import * as vscode from 'vscode';
import type { Services } from '../../services';
import { reportStartError, WorkerStartError } from '../../worker/startError';

/**
 * "Start Worker (Debug)": the local worker under VS Code's debugger, for as long as the user wants; a task sent from
 * anywhere (Python, the CLI, the app) stops at the breakpoints in its code. A worker running without the debugger
 * is restarted under it. Resolves once the debugger is attached and the worker takes tasks.
 */
export async function startWorkerDebug(s: Services): Promise<boolean> {
  const { supervisor } = s;
  if (supervisor.state === 'running' && supervisor.debugging && supervisor.debugSession) return true;
  try {
    // Refused before the running worker is stopped for it: nothing half-starts.
    const refused = await supervisor.debugRefusal();
    if (refused) {
      supervisor.log.error(`Cannot debug: ${refused.message}`);
      throw refused;
    }
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Radish: starting the worker under the debugger' }, async () => {
      if (supervisor.state === 'running' || supervisor.state === 'starting') await supervisor.stop();
      await supervisor.start({ debug: true });
    });
    return true;
  } catch (err) {
    if (!(err instanceof WorkerStartError)) throw err;
    void reportStartError(err, supervisor.log);
    return false;
  } finally {
    s.refresh.refreshSoon();
  }
}
