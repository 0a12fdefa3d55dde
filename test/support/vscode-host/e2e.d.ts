// Types for e2e.js, for UI tests written in TypeScript. Page and Locator come from playwright-core (a
// devDependency for its types; at run time e2e.js loads the copy install.sh put in the host's cache).
import type { Locator, Page } from 'playwright-core';

export interface Timeout {
  /** ms; default 30000 */
  timeout?: number;
}

export interface OpenWorkbenchOptions {
  /** The extension folder, loaded as the development extension. Default: the repository root. */
  dev?: string;
  /** Folder the workbench opens. Default: a new empty one. */
  workspace?: string;
  /** Extra environment for the extension host (REDIS_URL, say), on top of this process's. */
  env?: Record<string, string>;
  /** User settings (the extension's own, say). Workspace trust is off, i.e. every folder is trusted. */
  settings?: Record<string, unknown>;
  /** Default 1400x900. */
  viewport?: { width: number; height: number };
  /** ms for the workbench and the extension's commands to come up; default 90000. */
  timeout?: number;
}

export interface Workbench {
  page: Page;
  /** The folder the workbench opened. */
  workspace: string;
  /** Throwaway directory of this run (profiles, logs); removed by close(). */
  runDir: string;
  /** Closes chromium, stops code-server, removes runDir. Idempotent. */
  close(): Promise<void>;
}

export const REPO_ROOT: string;
/** `<repo>/test-results`, where screenshot() writes. */
export const RESULTS_DIR: string;

/** One line saying how to install the host. */
export const INSTALL_HINT: string;

/** Whether install.sh has installed the host (skip UI tests without it when RADISH_ALLOW_SKIP=1). */
export function hostInstalled(): boolean;
export function openWorkbench(options?: OpenWorkbenchOptions): Promise<Workbench>;
/** Runs a command by its full palette title ("Radish: Refresh"), retrying until it is registered. */
export function runCommand(page: Page, title: string, options?: Timeout): Promise<void>;
/** Shows a view by its title ("Queues") and returns its pane. */
export function focusView(page: Page, name: string, options?: Timeout): Promise<Locator>;
export function viewPane(page: Page, name: string): Locator;
/** Labels of a tree view's rendered rows, once at least `min` (default 1) show. */
export function treeRows(page: Page, view: string, options?: Timeout & { min?: number }): Promise<string[]>;
/** The row of a tree view whose label is exactly `label`, once it shows. */
export function treeRow(page: Page, view: string, label: string, options?: Timeout): Promise<Locator>;
/** Clicks an action in a view's title bar by its title. */
export function viewAction(page: Page, view: string, title: string, options?: Timeout): Promise<void>;
/** Clicks an inline action of a tree row by its title. */
export function rowAction(page: Page, row: Locator, title: string, options?: Timeout): Promise<void>;
/** Right-clicks `target` and chooses `item` from its context menu. */
export function contextMenu(page: Page, target: Locator, item: string, options?: Timeout): Promise<void>;
/** Types into the open input box or quick pick; presses Enter unless submit is false. */
export function typeIntoQuickInput(page: Page, text: string, options?: Timeout & { submit?: boolean }): Promise<void>;
/** Chooses the item whose label is exactly `label` in the open quick pick. */
export function pickQuickItem(page: Page, label: string, options?: Timeout): Promise<void>;
/** Text of the first notification toast containing `text`, once it shows. */
export function waitForNotification(page: Page, text: string | RegExp, options?: Timeout): Promise<string>;
/** Shows an output channel and returns its rendered (visible) text, once it contains `contains`. */
export function outputText(page: Page, channel: string, options?: Timeout & { contains?: string | RegExp }): Promise<string>;
/** All the text of an output channel, read from its log file ('' while there is none). */
export function readOutputLog(workbench: Workbench, channel: string): string;
/** Saves test-results/<name>.png (or into `dir`) and returns its path. */
export function screenshot(page: Page, name: string, options?: { dir?: string }): Promise<string>;
/** Calls `attempt` every 500 ms until it returns something other than undefined. */
export function retry<T>(what: string, timeout: number, attempt: () => Promise<T | undefined>): Promise<T>;
