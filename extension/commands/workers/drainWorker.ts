import * as vscode from 'vscode';
import type { DrainOutcome } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { workerOf, type WorkerTarget } from './workerControl';

/** The notification a finished drain answers with. */
export function drainedMessage(o: DrainOutcome): string {
  const held = o.drained ? 'finished what it held' : `still ran ${o.left.active} and held ${o.left.reserved} task(s) after the timeout (they get its own warm shutdown)`;
  return `Radish: ${o.node} ${held} and ${o.stopped ? 'stopped' : 'was told to shut down, but still answers'}.`;
}

/**
 * Drain a worker, then stop it (runner/drain.ts), after a modal confirmation: it takes nothing new (its queues are
 * cancelled, so tasks sent meanwhile wait for other workers), finishes what it runs and holds, then shuts down. A
 * progress notification says what it still holds; cancelling it gives the worker its queues back.
 */
export async function drainWorker(s: Services, node?: WorkerTarget, confirmed?: boolean): Promise<DrainOutcome | undefined> {
  const worker = await workerOf(s, node, 'Radish: Drain and stop which worker?');
  if (!worker) return undefined;
  if (confirmed !== true) {
    const answer = await vscode.window.showWarningMessage(
      `Drain and stop ${worker.hostname}? It takes no new tasks (from ${worker.queues.join(', ') || 'its queues'}), finishes the ones it runs and holds, then shuts down. Tasks sent meanwhile wait in their queues for other workers.`,
      { modal: true }, 'Drain and Stop');
    if (answer !== 'Drain and Stop') return undefined;
  }
  const app = await s.connection.client();
  const control = await s.connection.control();
  const abort = new AbortController();
  let outcome: DrainOutcome;
  try {
    outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Radish: draining ${worker.hostname}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        progress.report({ message: 'cancelling its queues…' });
        return runner().drainWorker(app, worker.hostname, {
          control, signal: abort.signal,
          onProgress: (p) => progress.report({
            message: p.active + p.reserved > 0 ? `${p.active} running, ${p.reserved} waiting to run` : 'nothing left: stopping it…',
          }),
        });
      });
  } catch (err) {
    // Cancelled by the user: said as what happened, not as a failure.
    if (abort.signal.aborted && err instanceof Error && err.name === 'DrainError') {
      void vscode.window.showInformationMessage(`Radish: ${err.message}.`);
      return undefined;
    }
    throw err;
  } finally {
    s.refresh.refreshSoon(500);
  }
  void (outcome.drained && outcome.stopped
    ? vscode.window.showInformationMessage(drainedMessage(outcome))
    : vscode.window.showWarningMessage(drainedMessage(outcome)));
  return outcome;
}
