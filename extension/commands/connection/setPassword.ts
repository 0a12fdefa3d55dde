import * as vscode from 'vscode';
import type { PasswordOf } from '../../connection';
import type { Services } from '../../services';

/**
 * Ask for a password once: the broker's (Redis or RabbitMQ), or the result backend's when one is set apart from the
 * broker (asked which first). It goes to SecretStorage, never to settings or a log. Empty clears it.
 */
export async function setPassword(s: Services, of?: PasswordOf, given?: string): Promise<void> {
  await s.connection.resolve();
  const backend = s.connection.displayBackendUrl;
  let whose: PasswordOf | undefined = of === 'broker' || of === 'backend' ? of : undefined;
  if (!whose && backend) {
    const picked = await vscode.window.showQuickPick([
      { label: 'Broker', description: s.connection.displayUrl, of: 'broker' as const },
      { label: 'Result Backend', description: backend, of: 'backend' as const },
    ], { title: 'Radish: Set the password of which server?', ignoreFocusOut: true });
    whose = picked?.of;
    if (!whose) return;
  }
  whose ??= 'broker';
  const url = whose === 'backend' ? backend ?? s.connection.displayUrl : s.connection.displayUrl;
  const what = whose === 'backend' ? 'Result backend' : s.connection.isAmqp ? 'RabbitMQ' : 'Broker';
  const value = typeof given === 'string' ? given : await vscode.window.showInputBox({
    title: `Radish: ${what} password`,
    prompt: `Password for ${url} (kept in VS Code's secret store; leave empty to remove it)`,
    password: true,
    ignoreFocusOut: true,
  });
  if (value === undefined) return;
  await s.connection.setPassword(value || undefined, whose);
  s.refresh.refreshNow();
}
