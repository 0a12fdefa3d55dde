import * as vscode from 'vscode';
import type { Services } from '../../services';
import { workerOf, type WorkerTarget } from './workerControl';

/**
 * Shut a worker down (remote control `shutdown`: a warm shutdown, running tasks finish), after a modal
 * confirmation. Celery's workers send no reply to it, so none is awaited.
 */
export async function shutdownWorker(s: Services, node?: WorkerTarget, confirmed?: boolean): Promise<boolean> {
  const worker = await workerOf(s, node, 'Radish: Shut down which worker?');
  if (!worker) return false;
  if (confirmed !== true) {
    const answer = await vscode.window.showWarningMessage(`Shut down ${worker.hostname}? Its running tasks finish first; it will not come back by itself.`, { modal: true }, 'Shut Down');
    if (answer !== 'Shut Down') return false;
  }
  await (await s.connection.control()).broadcast('shutdown', {}, { destination: [worker.hostname], reply: false });
  void vscode.window.setStatusBarMessage(`Radish: asked ${worker.hostname} to shut down`, 5000);
  s.refresh.refreshSoon(1000);
  return true;
}
