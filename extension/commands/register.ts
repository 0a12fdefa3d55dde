/**
 * The one way a command is registered: whatever its handler throws is reported the same way, as one error
 * notification and one line in the log, so no handler needs its own try/catch to say what went wrong (as
 * vscode-containers' `registerCommand` does).
 */
import * as vscode from 'vscode';
import type { Services } from '../services';
import { errorMessage } from '../../runner/errors';

/** Handlers take the services first, then whatever VS Code passes (a tree node, a CodeLens argument...). */
export type Handler = (services: Services, ...args: never[]) => unknown;

/** How a command's failure is reported. */
export interface ErrorReport {
  /** Put before the error's own message when that alone would not say what failed (`could not enqueue`). */
  failure?: string;
  /** Offer "Show Log": the worker's log says more than the message (a worker that would not start). */
  showLog?: boolean;
}

/**
 * Register `handler` as command `id`. A thrown error becomes the notification `Radish: <message>` and the command
 * resolves to undefined: a caller (a menu, a keybinding, another extension) gets no second, generic error.
 */
export function registerCommand(s: Services, id: string, handler: Handler, report: ErrorReport = {}): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      // VS Code passes whatever the menu or the caller gives; each handler checks what it got.
      return await handler(s, ...(args as never[]));
    } catch (err) {
      reportFailure(s, id, err, report);
      return undefined;
    }
  });
}

function reportFailure(s: Services, id: string, err: unknown, report: ErrorReport): void {
  const message = `${report.failure ? `${report.failure}: ` : ''}${errorMessage(err)}`;
  s.supervisor.log.error(`${id}: ${message}`);
  // Not awaited: the command is over, and a notification left open must not keep its caller waiting.
  void vscode.window.showErrorMessage(`Radish: ${message}`, ...(report.showLog ? ['Show Log'] : [])).then((choice) => {
    if (choice === 'Show Log') s.supervisor.log.show();
  });
}
