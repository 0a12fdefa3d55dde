/**
 * The status-bar item for what the fleet is doing: tasks running now (from the workers' heartbeats) and the failed
 * tasks the Failed view lists (the same count as its badge, kept current while the view is hidden: recounted when a
 * failure event arrives). Amber only while there are failures; clicking it lists the recent failures (Open, Retry).
 * Updated at most once a second however fast events arrive.
 */
import * as vscode from 'vscode';
import type { Connection } from './connection';
import type { Live } from './live';
import { listFailed } from './views/failed';
import type { RefreshManager } from './views/refresh';

/** How many failed tasks the Failed view lists: set by the view when it loads, recounted when a failure arrives. */
export class FailedCount implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  value = 0;

  constructor(private readonly connection: Connection) {}

  set(count: number): void {
    if (count === this.value) return;
    this.value = count;
    this.changed.fire();
  }

  /** Count again (the Failed view may be hidden, so its own count would wait). */
  async recount(): Promise<void> {
    try {
      this.set((await listFailed(await this.connection.inspector())).count);
    } catch {
      // Unreachable: the views say so; the count stays as it was.
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function createActivityStatus(live: Live, refresh: RefreshManager, failures: FailedCount): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('radish.activity', vscode.StatusBarAlignment.Left, 49);
  item.name = 'Radish Tasks';
  let counted = false;
  const update = () => {
    if (!live.running) {
      item.hide();
      return;
    }
    if (!counted) {
      counted = true;
      void failures.recount();
    }
    const active = live.active;
    const failed = failures.value;
    item.text = `$(pulse) ${active} active · ${failed} failed`;
    item.tooltip = `Radish: ${active} task${active === 1 ? '' : 's'} running now on workers that send events; ${failed} failed task${failed === 1 ? '' : 's'} in the Failed view.\nClick to list the recent failures.`;
    item.command = { command: 'radish.showFailures', title: 'Show recent failures' };
    item.backgroundColor = failed ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.show();
  };
  update();
  return vscode.Disposable.from(item,
    refresh.follow(live.onDidChange, update, 1000),
    refresh.follow(live.onDidFail, () => void failures.recount(), 1000),
    failures.onDidChange(update));
}
