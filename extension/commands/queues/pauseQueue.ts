import * as vscode from 'vscode';
import type { PauseOutcome } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import type { QueueNode } from '../../views/queues';
import { pickQueue } from './pickQueue';

/** The notification a pause answers with: who stopped taking from it, and what a pause cannot stop. */
export function pausedMessage(o: PauseOutcome): string {
  const radish = o.radish.length + o.radishUnconfirmed.length;
  const celery = o.celery.length ? ` Celery workers told to stop consuming it: ${o.celery.join(', ')}.` : '';
  return `Radish: ${o.alreadyPaused ? 'paused again' : 'paused'} queue ${o.queue}: its messages wait in it. `
    + `${radish} Radish worker${radish === 1 ? '' : 's'} take nothing from it (those started later neither).${celery} `
    + 'A Celery worker started later consumes it all the same.';
}

/**
 * Pause a queue for the whole fleet (runner/queue-control.ts): Radish workers take nothing more from it, Celery
 * workers that consume it are told cancel_consumer. The row turns "paused". From the palette: a pick among the queues.
 */
export async function pauseQueue(s: Services, node?: QueueNode): Promise<PauseOutcome | undefined> {
  const queue = await pickQueue(s, node, 'Radish: Pause which queue for every worker?', (n) => !n.paused);
  if (!queue) return undefined;
  const app = await s.connection.client();
  let outcome: PauseOutcome;
  try {
    outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Radish: pausing queue ${queue}…` }, () => runner().pauseQueue(app, queue));
  } finally {
    s.refresh.refreshNow();
  }
  void vscode.window.showInformationMessage(pausedMessage(outcome));
  return outcome;
}
