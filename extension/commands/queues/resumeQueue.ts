import * as vscode from 'vscode';
import type { ResumeOutcome } from '../../../runner/index';
import { runner } from '../../runner';
import type { Services } from '../../services';
import type { QueueNode } from '../../views/queues';
import { pickQueue } from './pickQueue';

/**
 * Resume a paused queue: Radish workers that consume it take from it again, the Celery workers the pause stopped are
 * told add_consumer. From the palette: a pick among the paused queues.
 */
export async function resumeQueue(s: Services, node?: QueueNode): Promise<ResumeOutcome | undefined> {
  const queue = await pickQueue(s, node, 'Radish: Resume which queue?', (n) => n.paused !== undefined, 'no queue is paused');
  if (!queue) return undefined;
  const app = await s.connection.client();
  // The extension's shared Control (as Drain Worker), not a pidbox connection opened per click.
  const control = await s.connection.control();
  let outcome: ResumeOutcome;
  try {
    outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Radish: resuming queue ${queue}…` }, () => runner().resumeQueue(app, queue, { control }));
  } finally {
    s.refresh.refreshNow();
  }
  const celery = outcome.celery.length ? ` Celery workers told to consume it again: ${outcome.celery.join(', ')}.` : '';
  void vscode.window.showInformationMessage(outcome.wasPaused
    ? `Radish: resumed queue ${queue}: its workers take from it again.${celery}`
    : `Radish: queue ${queue} was not paused.`);
  return outcome;
}
