import * as vscode from 'vscode';
import type { PauseOutcome } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import type { QueueNode } from '../../views/queues';
import { pickQueue } from './pickQueue';

const workers = (n: number): string => `${n} Radish worker${n === 1 ? '' : 's'}`;

/**
 * The notification a pause answers with: who confirmed they stopped taking from it, who did not answer (they read
 * the pause within a second), which Celery workers were told, and what a pause cannot stop. Empty clauses are left out.
 */
export function pausedMessage(o: PauseOutcome): string {
  const said = [
    ...(o.radish.length ? [`${workers(o.radish.length)} confirmed they take nothing from it.`] : []),
    ...(o.radishUnconfirmed.length
      ? [`${workers(o.radishUnconfirmed.length)} did not answer (${o.radishUnconfirmed.join(', ')}): they read the pause within a second.`]
      : []),
    ...(o.celery.length ? [`Celery workers told to stop consuming it: ${o.celery.join(', ')}.`] : []),
    'Radish workers started later take nothing from it; a Celery worker started later consumes it all the same.',
  ];
  return `Radish: ${o.alreadyPaused ? 'paused again' : 'paused'} queue ${o.queue}: its messages wait in it. ${said.join(' ')}`;
}

/**
 * Pause a queue for the whole fleet (runner/queue-control.ts): Radish workers take nothing more from it, Celery
 * workers that consume it are told cancel_consumer. The row turns "paused". From the palette: a pick among the queues.
 */
export async function pauseQueue(s: Services, node?: QueueNode): Promise<PauseOutcome | undefined> {
  const queue = await pickQueue(s, node, 'Radish: Pause which queue for every worker?', (n) => !n.paused, 'every queue is paused already');
  if (!queue) return undefined;
  const app = await s.connection.client();
  // The extension's shared Control (as Drain Worker), not a pidbox connection opened per click.
  const control = await s.connection.control();
  let outcome: PauseOutcome;
  try {
    outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Radish: pausing queue ${queue}…` }, () => runner().pauseQueue(app, queue, { control }));
  } finally {
    s.refresh.refreshNow();
  }
  void vscode.window.showInformationMessage(pausedMessage(outcome));
  return outcome;
}
