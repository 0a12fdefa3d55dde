// Playwright helpers for UI tests against the real workbench (code-server in headless chromium), with the
// extension under test loaded as the development extension. A test opens one workbench, drives it as a person
// would (command palette, views, quick inputs, the Output panel) and takes screenshots into test-results/.
//
//   const e2e = require('../support/vscode-host/e2e');
//   const wb = await e2e.openWorkbench({ workspace: 'examples/ts-tasks', env: { REDIS_URL } });
//   await e2e.runCommand(wb.page, 'Radish: Refresh');
//   const rows = await e2e.treeRows(wb.page, 'Queues');
//   await e2e.screenshot(wb.page, 'queues');
//   await wb.close();
//
// Every lookup waits (and the palette retries) up to a timeout: the extension host starts after the workbench,
// and contributions appear when it has scanned the extension.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { findHost, INSTALL_HINT, startSession } = require('./host');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');
const DEFAULT_TIMEOUT = 30_000;

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// A CSS attribute value in double quotes.
const quoted = (text) => `"${text.replace(/["\\]/g, '\\$&')}"`;
const exactly = (text) => new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `attempt` (which returns a value, or undefined to go again) until it answers or time runs out. */
async function retry(what, timeout, attempt) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not done within ${timeout} ms${lastError ? ` (${lastError.message.split('\n')[0]})` : ''}`);
    }
    await sleep(500);
  }
}

/** Whether install.sh has installed the host: UI tests skip (or fail, when skipping is not allowed) without it. */
function hostInstalled() {
  return findHost() !== null;
}

/** The palette title of an extension's first command with a literal title, e.g. "Radish: Refresh". */
function firstCommandTitle(extensionDir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
  const command = (manifest.contributes?.commands ?? []).find((c) => typeof c.title === 'string' && !c.title.startsWith('%'));
  if (!command) return undefined;
  return command.category && !command.category.startsWith('%') ? `${command.category}: ${command.title}` : command.title;
}

/**
 * Opens the workbench on `workspace` with `dev` as the development extension, and waits until the extension's
 * commands are in the palette (its host has started and scanned it).
 * @param {object} [options]
 * @param {string} [options.dev] the extension folder; default the repository root (Radish's extension)
 * @param {string} [options.workspace] folder to open; default a new empty one
 * @param {Record<string, string>} [options.env] extra variables for the extension host (REDIS_URL, say)
 * @param {Record<string, unknown>} [options.settings] user settings (e.g. the extension's own)
 * @param {{ width: number, height: number }} [options.viewport] default 1400x900
 * @param {number} [options.timeout] for the workbench and the extension to come up; default 90000
 * @returns {Promise<{ page: import('playwright-core').Page, session: object, workspace: string, runDir: string, close(): Promise<void> }>}
 */
async function openWorkbench({ dev = REPO_ROOT, workspace, env, settings, viewport, timeout = 90_000 } = {}) {
  const session = await startSession({ dev: path.resolve(dev), workspace, env, settings, viewport });
  const { page } = session;
  try {
    await page.goto(session.url, { timeout });
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout });
    const title = firstCommandTitle(path.resolve(dev));
    if (title) await retry(`the extension's command "${title}" to register`, timeout, async () => (await paletteRow(page, `>${title}`, title, 2000)) || undefined);
    await closeQuickInput(page);
  } catch (error) {
    await screenshot(page, 'open-workbench-failed').catch(() => {});
    await session.close();
    throw error;
  }
  return { page, session, workspace: session.server.workspace, runDir: session.server.runDir, close: session.close };
}

function quickInput(page) {
  return page.locator('.quick-input-widget');
}

async function closeQuickInput(page) {
  if (await quickInput(page).isVisible()) await page.keyboard.press('Escape');
}

/**
 * Opens the quick input afresh with F1 (it lists what was registered when it opened), types `query`, and
 * returns the row whose label is exactly `label`, or null (and closes it) when none shows within `waitMs`.
 */
async function paletteRow(page, query, label, waitMs) {
  await closeQuickInput(page);
  const input = quickInput(page).locator('input.input');
  await page.keyboard.press('F1');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(query);
  const row = quickRow(page, label);
  if (await row.waitFor({ timeout: waitMs }).then(() => true, () => false)) return row;
  await closeQuickInput(page);
  return null;
}

function quickRow(page, label) {
  return quickInput(page).locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactly(label) }) }).first();
}

/**
 * Runs a command from the command palette by its full title ("Radish: Start Worker"), retrying until it is
 * registered. Returns when the palette has accepted it, not when the command has finished.
 */
async function runCommand(page, title, { timeout = DEFAULT_TIMEOUT } = {}) {
  await retry(`command "${title}" in the palette`, timeout, async () => {
    const row = await paletteRow(page, `>${title}`, title, 2000);
    if (!row) return undefined;
    await row.click();
    return true;
  });
}

/**
 * Shows the view named `name` (its title in the side bar, e.g. "Queues") through quick access "view ",
 * and returns its pane.
 * @returns {Promise<import('playwright-core').Locator>}
 */
async function focusView(page, name, { timeout = DEFAULT_TIMEOUT } = {}) {
  await retry(`view "${name}"`, timeout, async () => {
    const row = await paletteRow(page, `view ${name}`, name, 2000);
    if (!row) return undefined;
    await row.click();
    return true;
  });
  const pane = viewPane(page, name);
  await pane.waitFor({ timeout });
  return pane;
}

/** The pane of a view in the side bar or panel, found by its title. */
function viewPane(page, name) {
  return page.locator('.pane').filter({ has: page.locator(`.pane-header[aria-label^=${quoted(`${name} `)}]`) });
}

/**
 * Labels of the rendered rows of a tree view (the visible ones: trees render lazily), waiting until at least
 * `min` rows show.
 * @returns {Promise<string[]>}
 */
async function treeRows(page, view, { min = 1, timeout = DEFAULT_TIMEOUT } = {}) {
  const rows = viewPane(page, view).locator('.monaco-list-row');
  return retry(`${min}+ rows in view "${view}"`, timeout, async () => {
    const labels = await rows.evaluateAll((els) => els.map((el) => (el.querySelector('.label-name') || el).textContent.trim()));
    return labels.length >= min ? labels : undefined;
  });
}

/** The row of a tree view whose label is exactly `label`, once it shows. */
async function treeRow(page, view, label, { timeout = DEFAULT_TIMEOUT } = {}) {
  const row = viewPane(page, view).locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactly(label) }) }).first();
  await row.waitFor({ timeout });
  return row;
}

/** Clicks an action in a view's title bar by its title ("Refresh"): the icons shown on hover. */
async function viewAction(page, view, title, { timeout = DEFAULT_TIMEOUT } = {}) {
  const header = viewPane(page, view).locator('.pane-header');
  await header.hover({ timeout });
  await header.locator(`.actions .action-label[aria-label^=${quoted(title)}]`).first().click({ timeout });
}

/** Clicks an inline action of a tree row by its title ("Retry"): the icons shown when the row is hovered. */
async function rowAction(page, row, title, { timeout = DEFAULT_TIMEOUT } = {}) {
  await row.hover({ timeout });
  await row.locator(`.actions .action-label[aria-label^=${quoted(title)}]`).first().click({ timeout });
}

/** Right-clicks a row (or any element) and chooses `item` from its context menu. */
async function contextMenu(page, target, item, { timeout = DEFAULT_TIMEOUT } = {}) {
  await target.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  const entry = menu.locator('.action-item')
    .filter({ has: page.locator('.action-label', { hasText: exactly(item) }) }).first();
  await entry.waitFor({ timeout });
  // The menu ignores a click that comes too soon after it opened; it closes when it runs the action, so
  // clicking again while it is still open cannot run the action twice.
  await retry(`context menu item "${item}"`, timeout, async () => {
    if (await menu.isVisible()) await entry.click({ timeout: 2000 });
    return (await menu.waitFor({ state: 'hidden', timeout: 1000 }).then(() => true, () => undefined));
  });
}

/**
 * Answers the open quick input (an input box or a quick pick) by typing `text`; presses Enter unless
 * `submit` is false. Waits for the input to show first.
 */
async function typeIntoQuickInput(page, text, { submit = true, timeout = DEFAULT_TIMEOUT } = {}) {
  const input = quickInput(page).locator('input.input');
  await input.waitFor({ state: 'visible', timeout });
  await input.fill(text);
  if (submit) await input.press('Enter');
}

/** Chooses the item whose label is exactly `label` in the open quick pick. */
async function pickQuickItem(page, label, { timeout = DEFAULT_TIMEOUT } = {}) {
  const row = quickRow(page, label);
  await row.waitFor({ timeout });
  await row.click();
}

/** Text of the first notification toast that contains `text` (string or RegExp), once it shows. */
async function waitForNotification(page, text, { timeout = DEFAULT_TIMEOUT } = {}) {
  const toast = page.locator('.notifications-toasts .notification-list-item-message', { hasText: text }).first();
  await toast.waitFor({ timeout });
  return toast.innerText();
}

/**
 * Shows an output channel in the Output panel and returns its text as rendered. The editor renders only the
 * lines in view; for everything a channel holds, read its log file with readOutputLog().
 * @param {string|RegExp} [contains] wait until the text contains this
 */
async function outputText(page, channel, { contains, timeout = DEFAULT_TIMEOUT } = {}) {
  await retry(`output channel "${channel}"`, timeout, async () => {
    await runCommand(page, 'Output: Show Output Channels...', { timeout });
    const row = quickRow(page, channel);
    if (!(await row.waitFor({ timeout: 2000 }).then(() => true, () => false))) {
      await closeQuickInput(page);
      return undefined;
    }
    await row.click();
    return true;
  });
  const lines = page.locator('.part.panel .monaco-editor .view-lines');
  return retry(`output channel "${channel}" to show ${contains ?? 'text'}`, timeout, async () => {
    // Monaco renders spaces as no-break spaces.
    const text = (await lines.first().innerText()).replace(/\u00a0/g, ' ');
    const ok = contains === undefined ? text.trim() !== '' : typeof contains === 'string' ? text.includes(contains) : contains.test(text);
    return ok ? text : undefined;
  });
}

/**
 * Everything an output channel of the extension host holds, read from the log file the server writes for it
 * (LogOutputChannels and plain ones alike), or '' while there is none.
 */
function readOutputLog(workbench, channel) {
  const logs = path.join(workbench.runDir, 'user-data', 'logs');
  const names = [`${channel}.log`];
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (names.includes(entry.name) || new RegExp(`^\\d+-${escapeRegExp(channel)}\\.log$`).test(entry.name)) found.push(file);
    }
  };
  walk(logs);
  return found.map((file) => fs.readFileSync(file, 'utf8')).join('');
}

/** Saves a screenshot of the whole window as test-results/<name>.png (or into `dir`) and returns its path. */
async function screenshot(page, name, { dir = RESULTS_DIR } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '')}.png`);
  await page.screenshot({ path: file });
  return file;
}

module.exports = {
  REPO_ROOT, RESULTS_DIR, INSTALL_HINT,
  hostInstalled, openWorkbench, runCommand, focusView, viewPane, treeRows, treeRow, viewAction, rowAction, contextMenu,
  typeIntoQuickInput, pickQuickItem, waitForNotification, outputText, readOutputLog, screenshot, retry,
};
