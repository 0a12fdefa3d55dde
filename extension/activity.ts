/**
 * The status-bar item for what the fleet is doing: tasks running now (from the workers' heartbeats) and tasks that
 * failed since this window opened. Clicking it lists the recent failures (Open, Retry). Updated at most once a second
 * however fast events arrive.
 */
import * as vscode from 'vscode';
import type { Live } from './live';
import type { RefreshManager } from './views/refresh';

export function createActivityStatus(live: Live, refresh: RefreshManager): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('radish.activity', vscode.StatusBarAlignment.Left, 49);
  item.name = 'Radish Tasks';
  const update = () => {
    if (!live.running) {
      item.hide();
      return;
    }
    const active = live.active;
    const failures = live.failures;
    item.text = `$(pulse) ${active} active  $(error) ${failures}`;
    item.tooltip = `Radish: ${active} task${active === 1 ? '' : 's'} running now on workers that send events; ${failures} failed since this window opened.\nClick to list the recent failures.`;
    item.command = { command: 'radish.showFailures', title: 'Show recent failures' };
    item.backgroundColor = failures ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.show();
  };
  update();
  return vscode.Disposable.from(item, refresh.follow(live.onDidChange, update, 1000));
}
