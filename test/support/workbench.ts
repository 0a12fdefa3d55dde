/**
 * What the UI tests (test/e2e/) share: e2e.js (the workbench in headless chromium, test/support/vscode-host) typed
 * for this project, and the steps a user takes that it does not have (reading tree rows with their descriptions,
 * the status bar, a multi-step quick input, settling and clearing notifications, a copy of an example project), and
 * the suite set-up most of them share ({@link projectWorkbench}).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { startRedis, type TestRedis } from './redis';

export const ROOT = resolve(__dirname, '../..');
export const TIMEOUT = 30_000;

// ---- The parts of playwright-core and e2e.js the UI tests use. playwright-core lives in the host's cache, not in
// the project's dependencies, so its types are written out here (structurally the same as Playwright's); add what a
// new test needs.

/** An element as evaluateAll() hands it to the browser-side callback (the project has no DOM lib). */
export interface DomElement {
  textContent: string | null;
  /** Set on input elements. */
  value?: string;
  className: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  closest(selector: string): DomElement | null;
  firstElementChild: DomElement | null;
  lastElementChild: DomElement | null;
  getBoundingClientRect(): { x: number; y: number; width: number; height: number };
}

export interface Locator {
  first(): Locator;
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  filter(options: { hasText?: string | RegExp; has?: Locator }): Locator;
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  click(options?: { timeout?: number; button?: 'left' | 'right' | 'middle'; position?: { x: number; y: number } }): Promise<void>;
  hover(options?: { timeout?: number }): Promise<void>;
  count(): Promise<number>;
  nth(index: number): Locator;
  getAttribute(name: string, options?: { timeout?: number }): Promise<string | null>;
  fill(text: string, options?: { timeout?: number }): Promise<void>;
  press(key: string, options?: { timeout?: number }): Promise<void>;
  innerText(options?: { timeout?: number }): Promise<string>;
  isVisible(): Promise<boolean>;
  evaluateAll<R>(fn: (elements: DomElement[]) => R): Promise<R>;
}

export interface Page {
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  keyboard: { press(key: string): Promise<void>; type(text: string): Promise<void> };
  mouse: { move(x: number, y: number): Promise<void> };
  /** Runs `fn` in the page (it cannot see this process's variables: pass what it needs as `arg`). */
  evaluate<R, A>(fn: (arg: A) => R, arg: A): Promise<R>;
}

export interface Workbench {
  page: Page;
  workspace: string;
  runDir: string;
  close(): Promise<void>;
}

export interface Wait {
  timeout?: number;
}

export interface E2e {
  hostInstalled(): boolean;
  openWorkbench(options: { workspace?: string; env?: Record<string, string>; settings?: Record<string, unknown>; timeout?: number }): Promise<Workbench>;
  runCommand(page: Page, title: string, options?: Wait): Promise<void>;
  focusView(page: Page, name: string, options?: Wait): Promise<Locator>;
  viewPane(page: Page, name: string): Locator;
  treeRows(page: Page, view: string, options?: Wait & { min?: number }): Promise<string[]>;
  treeRow(page: Page, view: string, label: string, options?: Wait): Promise<Locator>;
  viewAction(page: Page, view: string, title: string, options?: Wait): Promise<void>;
  rowAction(page: Page, row: Locator, title: string, options?: Wait): Promise<void>;
  contextMenu(page: Page, target: Locator, item: string, options?: Wait): Promise<void>;
  typeIntoQuickInput(page: Page, text: string, options?: Wait & { submit?: boolean }): Promise<void>;
  pickQuickItem(page: Page, label: string, options?: Wait): Promise<void>;
  waitForNotification(page: Page, text: string | RegExp, options?: Wait): Promise<string>;
  outputText(page: Page, channel: string, options?: Wait & { contains?: string | RegExp }): Promise<string>;
  readOutputLog(workbench: Workbench, channel: string): string;
  screenshot(page: Page, name: string): Promise<string>;
  retry<T>(what: string, timeout: number, attempt: () => Promise<T | undefined>): Promise<T>;
}

// e2e.js is plain CommonJS (it runs outside the build), typed by the interface above.
export const e2e = require('./vscode-host/e2e.js') as E2e;

// ---- Steps the library does not have.

/** A tree row's label and description ("reports", "3 waiting"). */
export interface Row {
  label: string;
  description: string;
}

/** Rendered rows of a view with their descriptions, once `accept` says they are what we wait for. */
export async function rowsOf(page: Page, view: string, what: string, accept: (rows: Row[]) => boolean, timeout = TIMEOUT): Promise<Row[]> {
  const rows = e2e.viewPane(page, view).locator('.monaco-list-row');
  return e2e.retry(`view "${view}" to show ${what}`, timeout, async () => {
    const found = await rows.evaluateAll((els) => els.map((el) => ({
      label: (el.querySelector('.label-name')?.textContent ?? '').trim(),
      description: (el.querySelector('.label-description')?.textContent ?? '').trim(),
    })));
    return accept(found) ? found : undefined;
  });
}

/**
 * Like {@link rowsOf}, but the rows must also stay the same for `quietMs`: what a user sees once a refresh has
 * settled, not a frame of it.
 */
export async function settledRowsOf(page: Page, view: string, what: string, accept: (rows: Row[]) => boolean, timeout = TIMEOUT, quietMs = 500): Promise<Row[]> {
  const started = Date.now();
  for (;;) {
    const first = await rowsOf(page, view, what, accept, Math.max(1000, timeout - (Date.now() - started)));
    await new Promise((r) => setTimeout(r, quietMs));
    const again = await rowsOf(page, view, what, () => true, 1000);
    if (JSON.stringify(again) === JSON.stringify(first)) return again;
    if (Date.now() - started > timeout) throw new Error(`view "${view}" did not settle on ${what}: ${JSON.stringify(first)} then ${JSON.stringify(again)}`);
  }
}

/** The text of the Radish status-bar item, once it matches `state`. */
export async function statusBar(page: Page, state: RegExp, timeout = TIMEOUT): Promise<string> {
  const item = page.locator('.part.statusbar .statusbar-item', { hasText: state }).first();
  await item.waitFor({ timeout });
  return (await item.innerText()).trim();
}

/**
 * Answers one step of a multi-step quick input: waits until the step titled `title` shows (the previous step's
 * box stays on screen until the extension replaces it), then types `text` (or keeps the proposed value) and
 * accepts. Returns the value the step proposed.
 */
export async function answerStep(page: Page, title: RegExp, text?: string): Promise<string> {
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ timeout: TIMEOUT });
  const input = widget.locator('input.input');
  const proposed = await e2e.retry(`the value of step ${title}`, TIMEOUT, async () => {
    const values = await input.evaluateAll((els) => els.map((el) => el.value ?? ''));
    return values[0];
  });
  if (text !== undefined) await input.fill(text);
  await input.press('Enter');
  // Accepted: the step's title goes (replaced by the next step, or the widget closes).
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ state: 'hidden', timeout: TIMEOUT });
  return proposed;
}

/**
 * Waits until no notification toast is still sliding in, so a screenshot shows them settled (the workbench marks
 * a toast `notification-fade-in-done` when its transition ends).
 */
export async function toastsSettled(page: Page): Promise<void> {
  await page.locator('.notifications-toasts .notification-toast.notification-fade-in').first().waitFor({ state: 'detached', timeout: TIMEOUT });
}

/** Clears every notification (the bell's "Clear All"), so nothing covers the panel. */
export async function clearNotifications(page: Page): Promise<void> {
  await e2e.runCommand(page, 'Notifications: Clear All Notifications');
  await page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'detached', timeout: TIMEOUT });
}

/** The first notification toast whose message contains `text`, once it shows. */
export async function toast(page: Page, text: string | RegExp, timeout = TIMEOUT): Promise<Locator> {
  const found = page.locator('.notifications-toasts .notification-toast')
    .filter({ has: page.locator('.notification-list-item-message', { hasText: text }) }).first();
  await found.waitFor({ timeout });
  return found;
}

/** The labels of a toast's buttons ("Show Log", ...), in order. */
export async function toastButtons(toastItem: Locator): Promise<string[]> {
  return toastItem.locator('.notification-list-item-buttons-container .monaco-button')
    .evaluateAll((els) => els.map((el) => (el.textContent ?? '').trim()));
}

/** Clicks the button labelled exactly `label` on a toast (the toast closes). */
export async function clickToastButton(toastItem: Locator, label: string, timeout = TIMEOUT): Promise<void> {
  await toastItem.locator('.notification-list-item-buttons-container .monaco-button', { hasText: new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) })
    .first().click({ timeout });
}

/** Opens a workspace file in the editor by its path relative to the workspace, through Go to File (quick open). */
export async function openFile(page: Page, relativePath: string): Promise<void> {
  await e2e.runCommand(page, 'Go to File...');
  await e2e.typeIntoQuickInput(page, relativePath, { submit: false });
  const name = relativePath.split('/').pop() ?? relativePath;
  await e2e.pickQuickItem(page, name);
  await page.locator('.editor-group-container .tab.active', { hasText: name }).waitFor({ timeout: TIMEOUT });
}

/**
 * Clicks (left, or right for the context menu) in the active editor on the middle of the first rendered occurrence
 * of `snippet`, which must sit on one line in view (the editor renders only the lines on screen). The x offset is
 * measured from the line's rendered text, so the click lands on that text whatever the font.
 */
export async function clickEditorText(page: Page, snippet: string, options: { button?: 'left' | 'right' } = {}): Promise<void> {
  const line = page.locator('.editor-group-container.active .monaco-editor .view-lines .view-line', { hasText: snippet }).first();
  await line.waitFor({ timeout: TIMEOUT });
  // The line's one child span (a block as wide as the editor) holds its token spans, the first from the left edge of
  // the text to the last's right edge. Spaces render as U+00A0.
  // Retried: a line just rendered may not be laid out yet (no width).
  const found = await e2e.retry(`"${snippet}" rendered on one line`, TIMEOUT, async () => {
    const [measured] = await line.evaluateAll((els) => els.map((el) => {
      const text = el.firstElementChild;
      const box = text?.getBoundingClientRect();
      const last = text?.lastElementChild?.getBoundingClientRect();
      return { text: (text?.textContent ?? '').replace(/\u00a0/g, ' '), width: box && last ? last.x + last.width - box.x : 0, height: box?.height ?? 0 };
    }));
    return measured && measured.width > 0 && measured.text.includes(snippet) ? measured : undefined;
  });
  const at = found.text.indexOf(snippet);
  const charWidth = found.width / found.text.length;
  await line.click({ button: options.button ?? 'left', position: { x: charWidth * (at + snippet.length / 2), y: found.height / 2 } });
}

/** Chooses `title` in a view's "More Actions..." menu (the title-bar actions that are not icons: the destructive ones). */
export async function viewMenuAction(page: Page, view: string, title: string): Promise<void> {
  const header = e2e.viewPane(page, view).locator('.pane-header');
  await header.hover({ timeout: TIMEOUT });
  await header.locator('.actions .action-label[aria-label^="More Actions"]').first().click({ timeout: TIMEOUT });
  const menu = page.locator('.context-view .monaco-menu');
  const entry = menu.locator('.action-item').filter({ has: page.locator('.action-label', { hasText: title }) }).first();
  await entry.waitFor({ timeout: TIMEOUT });
  // As in e2e.contextMenu: a click too soon after the menu opened is ignored; once it runs, the menu closes.
  await e2e.retry(`"${title}" in the ${view} view's More Actions`, TIMEOUT, async () => {
    if (await menu.isVisible()) await entry.click({ timeout: 2000 });
    return menu.waitFor({ state: 'hidden', timeout: 1000 }).then(() => true, () => undefined);
  });
}

/** The modal dialog on screen (`.monaco-dialog-box`): its message and detail, once it shows. */
export async function modalText(page: Page): Promise<string> {
  const box = page.locator('.monaco-dialog-box');
  await box.waitFor({ timeout: TIMEOUT });
  return (await box.locator('.dialog-message-row').innerText()).replace(/\s+/g, ' ').trim();
}

/** Presses the modal dialog's button labelled `label` ("Cancel" too), and waits for the dialog to close. */
export async function answerModal(page: Page, label: string): Promise<void> {
  const box = page.locator('.monaco-dialog-box');
  await box.locator('.dialog-buttons .monaco-button', { hasText: new RegExp(`^\\s*${label}\\s*$`) }).first().click({ timeout: TIMEOUT });
  await box.waitFor({ state: 'detached', timeout: TIMEOUT });
}

/** The badge of an activity-bar entry ("Radish"): its number, or undefined while it shows none. */
export async function activityBadge(page: Page, container: string): Promise<number | undefined> {
  const texts = await page.locator('.part.activitybar .action-item')
    .filter({ has: page.locator(`.action-label[aria-label^="${container}"]`) })
    .locator('.badge .badge-content').evaluateAll((els) => els.map((el) => (el.textContent ?? '').trim()));
  const shown = texts.find((t) => t !== '');
  return shown === undefined ? undefined : Number(shown);
}

export function copyExample(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `radish-e2e-${name}-`));
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true, filter: (src) => !/node_modules/.test(src) });
  return dir;
}

/** Shows the Radish container from its activity-bar icon, then moves the mouse off the icon (or its hover shows in screenshots). */
export async function showRadish(page: Page): Promise<void> {
  // Shown already: a click on its icon would hide the side bar.
  const item = page.locator('.part.activitybar .action-item').filter({ has: page.locator('.action-label[aria-label^="Radish"]') }).first();
  const shown = /\bchecked\b/.test((await item.getAttribute('class', { timeout: TIMEOUT })) ?? '') && await page.locator('.part.sidebar').isVisible();
  if (!shown) await page.locator('.part.activitybar .action-item .action-label[aria-label^="Radish"]').first().click({ timeout: TIMEOUT });
  await page.mouse.move(800, 300);
}

/** The workspace {@link projectWorkbench} opens the workbench on, and how. */
export interface WorkspaceOptions {
  /** The example project copied for the workbench to open, or `false` for an empty folder. Default `ts-tasks`. */
  example?: string | false;
  /** Workspace settings besides `radish.redisUrl` (the suite's own redis-server; set it here to point elsewhere). */
  settings?: Record<string, unknown>;
  /** User settings, given to the workbench: those a workspace cannot set (workspace trust, say). */
  userSettings?: Record<string, unknown>;
  /** Runs before the workbench opens, with the suite's Redis URL and the workspace (to seed queues, failures, edit files...). */
  beforeOpen?: (redisUrl: string, workspace: string) => Promise<void>;
  /** Once the workbench is open, show the Radish container ({@link showRadish}). */
  showRadish?: boolean;
}

export interface ProjectWorkbenchOptions extends WorkspaceOptions {
  /** Open the workbench in `before` (default true). False: the tests open theirs with `openWorkspace()`. */
  open?: boolean;
  /** Runs in `after` once the workbench is closed, before the client and redis-server go: stop the suite's own workers and apps. */
  cleanup?: () => Promise<void>;
}

/** What {@link projectWorkbench} gives a suite's tests (read inside them: it is set up in `before`). */
export interface ProjectWorkbench {
  readonly redis: TestRedis;
  /** The workspace of the workbench opened last. */
  readonly workspace: string;
  /** The workspace's .vscode/settings.json. */
  readonly settingsFile: string;
  /** A runner client on the suite's Redis, as a Python or Node app beside the editor would be. */
  readonly client: Radish;
  readonly wb: Workbench;
  readonly page: Page;
  /** The open workbench, or undefined when there is none (for hooks, which must not throw). */
  readonly current: Workbench | undefined;
  /** Close the workbench before the suite ends (a test of what happens when the window closes). */
  closeWorkbench(): Promise<void>;
  /**
   * Closes the open workbench, if any, and opens a new one on a new workspace (the suite's options do not apply:
   * only these); removed after the suite like the first. Returns its page.
   */
  openWorkspace(options?: WorkspaceOptions): Promise<Page>;
}

/**
 * Inside a `describe`: a private redis-server, a copy of an example project set to use it, a runner client, and the
 * workbench open on the copy, all made before the tests and removed after them; a failing test leaves a screenshot
 * `test-results/<name>-failure.png`. Skips the suite, saying why, when the VS Code host is not installed.
 */
export function projectWorkbench(name: string, options: ProjectWorkbenchOptions = {}): ProjectWorkbench {
  let redis: TestRedis | undefined;
  let workspace: string | undefined;
  const workspaces: string[] = [];
  let client: Radish | undefined;
  let wb: Workbench | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not set up (read it inside a test)`);
    return value;
  };
  const suite: ProjectWorkbench = {
    get redis() { return need(redis, 'redis'); },
    get workspace() { return need(workspace, 'workspace'); },
    get settingsFile() { return join(need(workspace, 'workspace'), '.vscode', 'settings.json'); },
    get client() { return need(client, 'client'); },
    get wb() { return need(wb, 'the workbench'); },
    get page() { return need(wb, 'the workbench').page; },
    get current() { return wb; },
    async closeWorkbench() {
      await wb?.close();
      wb = undefined;
    },
    async openWorkspace(opened: WorkspaceOptions = {}) {
      await suite.closeWorkbench();
      const url = suite.redis.url;
      workspace = opened.example === false ? mkdtempSync(join(tmpdir(), 'radish-e2e-empty-')) : copyExample(opened.example ?? 'ts-tasks');
      workspaces.push(workspace);
      mkdirSync(join(workspace, '.vscode'), { recursive: true });
      writeFileSync(suite.settingsFile, JSON.stringify({ 'radish.redisUrl': url, ...opened.settings }, null, 2));
      await opened.beforeOpen?.(url, workspace);
      wb = await e2e.openWorkbench({ workspace, settings: opened.userSettings });
      if (opened.showRadish) await showRadish(wb.page);
      return wb.page;
    },
  };

  before(async function () {
    if (!e2e.hostInstalled()) {
      console.log('      skipped: VS Code host not installed (run setup.sh)');
      this.skip();
    }
    redis = await startRedis();
    client = new Radish({ broker: redis.url });
    if (options.open !== false) await suite.openWorkspace(options);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      const shot = await e2e.screenshot(wb.page, `${name}-failure`).catch(() => undefined);
      if (shot) console.log(`      screenshot of the failure: ${shot}`);
    }
  });

  after(async () => {
    await wb?.close();
    await options.cleanup?.();
    await client?.close();
    await redis?.stop();
    for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
  });
  return suite;
}
