/**
 * What the UI tests (test/e2e/) share: e2e.js (the workbench in headless chromium, test/support/vscode-host) typed
 * for this project, and the steps a user takes that it does not have (reading tree rows with their descriptions,
 * the status bar, a multi-step quick input, settling and clearing notifications, a copy of an example project).
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
  querySelector(selector: string): DomElement | null;
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

export function copyExample(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `radish-e2e-${name}-`));
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true, filter: (src) => !/node_modules/.test(src) });
  return dir;
}
