/**
 * The one refresh policy for every Radish view and status item: a manual refresh runs at once; polling runs only
 * while a view is visible; bursts of change events are debounced into one refresh. Every timer of the extension's
 * views lives here, so disposing this stops them all.
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
  private readonly followers = new Set<NodeJS.Timeout>();
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.disposables.push(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('radish.refreshInterval')) this.reschedule();
    }));
  }

  private get intervalMs(): number {
    return Math.max(1, vscode.workspace.getConfiguration('radish').get<number>('refreshInterval') ?? 5) * 1000;
  }

  /**
   * Track a view: it is polled while visible and refreshed at once when it becomes visible. Its first load shows
   * progress in the view. (An empty state is a row the provider returns once it knows, never welcome content: that
   * would also show while the view loads.)
   */
  register<T>(view: vscode.TreeView<T>, provider: Refreshable & vscode.TreeDataProvider<T>, viewId: string): void {
    trackFirstLoad(provider, viewId);
    this.disposables.push(this.track(provider, () => view.visible, view.onDidChangeVisibility));
  }

  /**
   * Track a view or a webview (the Metrics panel): polled while `isVisible()`, refreshed at once when it is shown (now,
   * or when `onDidChange` finds it so), and refreshed by {@link refreshNow}. Disposing the result forgets it.
   */
  track(target: Refreshable, isVisible: () => boolean, onDidChange: vscode.Event<unknown>): vscode.Disposable {
    this.all.add(target);
    let shown = false;
    const update = () => {
      const visible = isVisible();
      if (visible === shown) return;
      shown = visible;
      if (visible) {
        this.visible.add(target);
        target.refresh();
      } else {
        this.visible.delete(target);
      }
      this.reschedule();
    };
    const subscription = onDidChange(update);
    update();
    return new vscode.Disposable(() => {
      subscription.dispose();
      this.all.delete(target);
      this.visible.delete(target);
      this.reschedule();
    });
  }

  /**
   * Run `update` every `ms` (and once now) until disposed, or this manager is: for what is always shown, such as the
   * status bar's tooltip, and changes slowly.
   */
  every(ms: number, update: () => void): vscode.Disposable {
    const timer = setInterval(update, ms);
    this.followers.add(timer);
    update();
    return new vscode.Disposable(() => {
      clearInterval(timer);
      this.followers.delete(timer);
    });
  }

  private reschedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Disposing forgets the tracked views one by one: none of that may start the timer again.
    if (this.visible.size === 0 || this.disposed) return;
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

  /**
   * Run `update` once, `delayMs` after the first of a burst of `event`s (default 1000 ms); the events meanwhile join
   * that run, so a busy fleet (hundreds of task events a second) costs one update per `delayMs`.
   */
  follow(event: vscode.Event<unknown>, update: () => void, delayMs = 1000): vscode.Disposable {
    let pending: NodeJS.Timeout | undefined;
    const subscription = event(() => {
      if (pending || this.disposed) return;
      const timer = setTimeout(() => {
        this.followers.delete(timer);
        pending = undefined;
        update();
      }, delayMs);
      pending = timer;
      this.followers.add(timer);
    });
    const stop = () => {
      if (!pending) return;
      clearTimeout(pending);
      this.followers.delete(pending);
      pending = undefined;
    };
    return vscode.Disposable.from(subscription, { dispose: stop });
  }

  /** Refresh those of `providers` that are visible now; a hidden one is refreshed when it is shown (see register). */
  refreshVisible(...providers: Refreshable[]): void {
    for (const p of providers) if (this.visible.has(p)) p.refresh();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    for (const t of this.followers) clearTimeout(t);
    this.followers.clear();
    for (const d of this.disposables) d.dispose();
  }
}

/** Wrap a provider's root `getChildren` so that its first call shows progress in the view until it settles. */
function trackFirstLoad<T>(provider: vscode.TreeDataProvider<T>, viewId: string): void {
  const getChildren = provider.getChildren.bind(provider);
  let loading = false;
  provider.getChildren = (node?: T) => {
    const children = getChildren(node);
    if (node !== undefined || loading) return children;
    loading = true;
    const settled = Promise.resolve(children).then(() => undefined, () => undefined);
    void vscode.window.withProgress({ location: { viewId } }, () => settled);
    return children;
  };
}
