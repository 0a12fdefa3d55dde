import * as vscode from 'vscode';
import type { Services } from '../../services';

/** Ask for the Redis password once; it goes to SecretStorage, never to settings or a log. Empty clears it. */
export async function setPassword(s: Services): Promise<void> {
  const value = await vscode.window.showInputBox({
    title: 'Radish: Redis password',
    prompt: `Password for ${s.connection.displayUrl} (kept in VS Code's secret store; leave empty to remove it)`,
    password: true,
    ignoreFocusOut: true,
  });
  if (value === undefined) return;
  await s.connection.setPassword(value || undefined);
  s.refresh.refreshNow();
}
