/** The status-bar item: the local worker's state; clicking starts or stops it. */
import * as vscode from 'vscode';
import type { WorkerSupervisor } from './worker/supervisor';

export function createStatusBar(supervisor: WorkerSupervisor): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('radish.worker', vscode.StatusBarAlignment.Left, 50);
  item.name = 'Radish Worker';
  const update = () => {
    const state = supervisor.state;
    const icon = state === 'running' ? '$(vm-running)' : state === 'starting' || state === 'stopping' ? '$(loading~spin)' : state === 'crashed' ? '$(error)' : '$(vm-outline)';
    item.text = `${icon} Radish: ${state}`;
    item.tooltip = state === 'running' ? 'Radish worker running: click to stop' : 'Radish worker: click to start';
    item.command = state === 'running' ? 'radish.stopWorker' : 'radish.startWorker';
    item.backgroundColor = state === 'crashed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  };
  update();
  item.show();
  const sub = supervisor.onDidChange(update);
  return vscode.Disposable.from(item, sub);
}
