/**
 * One notification per task sent from the window (Enqueue, Retry): progress while it is on its way ("sent to
 * <queue>, waiting for its result"), then, in its place, how it ended, with Open (the task view). Tasks are named
 * with the short id the views show.
 */
import * as vscode from 'vscode';
import type { AsyncResult } from '../runner/index';
import { errorMessage } from '../runner/errors';
import { runner } from './runner';
import type { Services } from './services';

/** How long a notification waits for the result before it says it stopped waiting. */
const WAIT_MS = 15 * 60_000;

/** `note`: what the task is, after its name ("retry of ab12cd34"). */
export async function announce(s: Services, name: string, result: AsyncResult, queue: string, note?: string): Promise<void> {
  const label = `${name}[${result.id.slice(0, 8)}]${note ? ` (${note})` : ''}`;
  const open = async (choice: string | undefined) => {
    if (choice) await vscode.commands.executeCommand('radish.openTask', result.id);
  };
  try {
    const value = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Radish: ${label}` }, (progress) => {
      progress.report({ message: `sent to ${queue}, waiting for its result…` });
      return result.get({ timeout: WAIT_MS });
    });
    const text = JSON.stringify(value) ?? 'None';
    await open(await vscode.window.showInformationMessage(`Radish: ${label} succeeded: ${text.length > 80 ? text.slice(0, 79) + '…' : text}`, 'Open'));
  } catch (err) {
    const message = err instanceof runner().TaskFailedError ? `${err.state === 'REVOKED' ? 'was revoked' : 'failed'}: ${err.name}: ${err.message}` : `: ${errorMessage(err)}`;
    await open(await vscode.window.showErrorMessage(`Radish: ${label} ${message}`, 'Open'));
  } finally {
    s.refresh.refreshSoon();
  }
}
