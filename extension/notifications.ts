/**
 * Failure notifications (`radish.notifyOnFailure`, off by default): one notification per failed task, with Open
 * and Retry; a burst (a worker failing everything) is folded into one "N tasks failed" message instead of a
 * wall of toasts.
 */
import * as vscode from 'vscode';
import type { Failure, Live } from './live';

const BURST_MS = 3000;

export function watchFailures(live: Live): vscode.Disposable {
  let pending: Failure[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = async () => {
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const f = batch[0]!;
      const choice = await vscode.window.showErrorMessage(`Radish: ${f.name}[${f.id}] failed on ${f.hostname}: ${f.exception}`, 'Open', 'Retry');
      const node = { kind: 'record', record: { id: f.id, name: f.name, state: 'FAILURE', children: [], events: [], updated: 0 } };
      if (choice === 'Open') await vscode.commands.executeCommand('radish.openTask', node);
      if (choice === 'Retry') await vscode.commands.executeCommand('radish.retryTask', node);
      return;
    }
    const names = [...new Set(batch.map((f) => f.name))].slice(0, 3).join(', ');
    const choice = await vscode.window.showErrorMessage(`Radish: ${batch.length} tasks failed (${names}${batch.length > 3 ? ', ...' : ''}).`, 'Show Failures');
    if (choice) await vscode.commands.executeCommand('radish.showFailures');
  };
  const sub = live.onDidFail((failure) => {
    if (!vscode.workspace.getConfiguration('radish').get<boolean>('notifyOnFailure')) return;
    pending.push(failure);
    // Failures are gathered for a few seconds and shown together.
    timer ??= setTimeout(() => void flush(), BURST_MS);
  });
  return vscode.Disposable.from(sub, { dispose: () => timer && clearTimeout(timer) });
}
