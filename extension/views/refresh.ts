/**
 * The one refresh policy for every Radish view: a manual refresh runs at once; polling runs only while a view is
 * visible; bursts of change events are debounced into one refresh.
 */
import * as vscode from 'vscode';

export interface Refreshable {
  refresh(): void;
}

export class RefreshManager implements vscode.Disposable {
  private readonly visible = new Set<Refreshable>();
  private readonly all = new Set<Refreshable>();
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.disposables.push(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('radish.refreshInterval')) this.reschedule();
    }));
  }

  private get intervalMs(): number {
    return Math.max(1, vscode.workspace.getConfiguration('radish').get<number>('refreshInterval') ?? 5) * 1000;
  }

  /** Track a view: it is polled while visible and refreshed at once when it becomes visible. */
  register(view: vscode.TreeView<unknown>, provider: Refreshable): void {
    this.all.add(provider);
    const update = (visible: boolean) => {
      if (visible) {
        this.visible.add(provider);
        provider.refresh();
      } else {
        this.visible.delete(provider);
      }
      this.reschedule();
    };
    this.disposables.push(view.onDidChangeVisibility((e) => update(e.visible)));
    if (view.visible) update(true);
  }

  private reschedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.visible.size === 0) return;
    this.timer = setInterval(() => { for (const p of this.visible) p.refresh(); }, this.intervalMs);
  }

  /** Refresh every view now (the Refresh command, or after an action the user took). */
  refreshNow(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = undefined;
    for (const p of this.all) p.refresh();
  }

  /** Refresh soon, once, however many events arrive meanwhile. */
  refreshSoon(delayMs = 250): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      for (const p of this.all) p.refresh();
    }, delayMs);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    for (const d of this.disposables) d.dispose();
  }
}
