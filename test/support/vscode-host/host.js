// A real VS Code extension host for tests, without downloading VS Code: code-server (VS Code's server, whose
// extension host is plain Node) plus Debian's chromium as the browser client, driven by playwright-core.
// install.sh puts both in a cache outside the clone; this module finds them, starts a throwaway session and
// cleans it up. Plain CommonJS: it runs before and outside the TypeScript build.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const HOST_DIR = process.env.RADISH_VSCODE_HOST_DIR || path.join(os.homedir(), '.cache', 'radish-vscode-host');
const INSTALL_HINT = 'VS Code host not installed: run `bash test/support/vscode-host/install.sh` (setup.sh does)';

/** Settings of the throwaway user profile: no welcome page, no update checks, no network, workspace trusted. */
const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'chat.commandCenter.enabled': false,
};

// Variables that would make code-server act as a client of the VS Code it is launched from (a test run from a
// VS Code terminal), or make its Node behave like Electron.
const INHERITED_ENV_TO_DROP = /^(VSCODE_|ELECTRON_RUN_AS_NODE$)/;

/**
 * The installed host, or null when install.sh has not run (or its files are gone).
 * @returns {{ dir: string, codeServer: string, chromium: string, playwrightCore: string, mocha: string, versions: string } | null}
 */
function findHost() {
  const host = {
    dir: HOST_DIR,
    codeServer: path.join(HOST_DIR, 'code-server', 'node_modules', '.bin', 'code-server'),
    chromium: process.env.RADISH_CHROMIUM || '/usr/bin/chromium',
    playwrightCore: path.join(HOST_DIR, 'driver', 'node_modules', 'playwright-core'),
    mocha: path.join(HOST_DIR, 'driver', 'node_modules', 'mocha'),
    versions: '',
  };
  try {
    host.versions = fs.readFileSync(path.join(HOST_DIR, 'installed'), 'utf8').trim();
    for (const file of [host.codeServer, host.chromium, host.playwrightCore, host.mocha]) fs.accessSync(file);
  } catch {
    return null;
  }
  return host;
}

/** findHost(), or an Error whose message is INSTALL_HINT. */
function requireHost() {
  const host = findHost();
  if (!host) throw Object.assign(new Error(INSTALL_HINT), { code: 'RADISH_VSCODE_HOST_MISSING' });
  return host;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function waitForHttp(url, timeoutMs, exited) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (exited()) return reject(new Error(`code-server exited before ${url} answered`));
      http.get(url, (res) => { res.resume(); resolve(); }).on('error', () => {
        if (Date.now() > deadline) reject(new Error(`code-server did not answer ${url} within ${timeoutMs} ms`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

/** The last `lines` lines of a file, or '' when it cannot be read. */
function tail(file, lines = 20) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts code-server on 127.0.0.1 with throwaway user-data, extensions and workspace directories.
 * The caller's environment, plus `env`, reaches the extension host (REDIS_URL, say).
 * @param {object} [options]
 * @param {string} [options.workspace] folder to open; default a new empty one in the run directory
 * @param {Record<string, string>} [options.env] extra variables for code-server and its extension host
 * @param {Record<string, unknown>} [options.settings] user settings on top of DEFAULT_SETTINGS
 * @param {number} [options.port] default a free port
 * @param {ReturnType<typeof findHost>} [options.host] default requireHost()
 */
async function startCodeServer({ workspace, env = {}, settings = {}, port, host = requireHost() } = {}) {
  port = port || await freePort();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'radish-vscode-host-'));
  const dir = (name) => { const d = path.join(runDir, name); fs.mkdirSync(d, { recursive: true }); return d; };
  const userData = dir('user-data');
  fs.mkdirSync(path.join(userData, 'User'));
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2));
  workspace = workspace ? path.resolve(workspace) : dir('workspace');
  fs.mkdirSync(workspace, { recursive: true });

  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !INHERITED_ENV_TO_DROP.test(name)));
  const logFile = path.join(runDir, 'code-server.log');
  const log = fs.openSync(logFile, 'w');
  const child = spawn(host.codeServer, [
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override',
    '--user-data-dir', userData, '--extensions-dir', dir('extensions'), '--config', path.join(dir('config'), 'config.yaml'),
  ], {
    env: {
      ...inherited,
      // code-server keeps its config and state under these; keep them out of $HOME.
      XDG_CONFIG_HOME: dir('xdg-config'),
      XDG_DATA_HOME: dir('xdg-data'),
      // suite-runner.js loads this mocha inside the extension host.
      RADISH_HOST_MOCHA: host.mocha,
      ...env,
    },
    stdio: ['ignore', log, log],
    // Its own process group, so stop() reaches the extension host and other children too.
    detached: true,
  });
  fs.closeSync(log);
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = true; resolve({ code, signal }); }));
  child.once('error', () => { exited = true; });

  const killGroup = (signal) => { try { process.kill(-child.pid, signal); } catch { /* already gone */ } };
  const removeRunDir = () => {
    if (process.env.RADISH_VSCODE_HOST_KEEP) console.error(`vscode-host: kept ${runDir}`);
    else fs.rmSync(runDir, { recursive: true, force: true });
  };
  // The caller exiting or interrupted without stop(): nothing may outlive it.
  const onExit = () => { killGroup('SIGKILL'); removeRunDir(); };
  const onSignal = (signal) => process.exit(128 + os.constants.signals[signal]);
  process.on('exit', onExit);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);

  let stopping;
  /** Stops code-server and its children (TERM, then KILL after 5 s) and removes the run directory. Idempotent. */
  const stop = () => stopping ??= (async () => {
    process.off('exit', onExit);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(signal, onSignal);
    if (!exited) killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
    if (child.pid) await exit;
    clearTimeout(timer);
    killGroup('SIGKILL'); // children that outlived the server
    removeRunDir();
  })();

  const authority = `127.0.0.1:${port}`;
  try {
    await waitForHttp(`http://${authority}/healthz`, 30_000, () => exited);
  } catch (error) {
    const detail = tail(logFile);
    await stop();
    throw new Error(`${error.message}${detail ? `\n${detail}` : ''}`);
  }

  return {
    port, authority, runDir, workspace, logFile, pid: child.pid, stop,
    /** Settles when code-server exits, with its exit code or signal. */
    exited: exit,
    /** `vscode-remote://` URI of a path on this machine, as the browser client must name it. */
    remoteUri: (file) => `vscode-remote://${authority}${path.resolve(file).split(path.sep).map(encodeURIComponent).join('/')}`,
    /**
     * Workbench URL opening `workspace`. code-server's CLI has no --extensionDevelopmentPath: the browser client
     * takes it, and extensionTestsPath, from the `payload` query parameter as [[name, value], ...].
     * @param {Array<[string, string]>} [payload]
     */
    url: (payload) => `http://${authority}/?folder=${encodeURIComponent(workspace)}`
      + (payload && payload.length ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''),
  };
}

/** playwright-core from the cache (the project itself does not depend on it). */
function playwright(host = requireHost()) {
  return require(host.playwrightCore);
}

/**
 * Headless Debian chromium with a throwaway profile under `runDir`.
 * @returns {Promise<import('playwright-core').BrowserContext>}
 */
async function launchChromium(runDir, { host = requireHost(), viewport = { width: 1400, height: 900 } } = {}) {
  // Chromium writes crash reports and caches under $HOME; give it one of its own.
  const home = path.join(runDir, 'chromium-home');
  fs.mkdirSync(home, { recursive: true });
  return playwright(host).chromium.launchPersistentContext(path.join(runDir, 'chromium-profile'), {
    executablePath: host.chromium,
    headless: true,
    viewport,
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache') },
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // stop() below closes it; a signal is handled by startCodeServer's handler, which exits the process.
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
}

/**
 * code-server + chromium + one page, not yet navigated: expose functions on `page` first, then
 * `page.goto(session.url)`.
 * @param {object} options
 * @param {string} [options.dev] extension folder to load as the development extension
 * @param {string} [options.tests] extensionTestsPath: a module exporting `run(): Promise<void>`
 * @param {string} [options.workspace] folder to open (default: a new empty one)
 * @param {Record<string, string>} [options.env] extra variables for the extension host
 * @param {Record<string, unknown>} [options.settings] user settings
 * @param {{ width: number, height: number }} [options.viewport]
 */
async function startSession({ dev, tests, workspace, env, settings, viewport } = {}) {
  const host = requireHost();
  const server = await startCodeServer({ workspace, env, settings, host });
  let browser;
  try {
    browser = await launchChromium(server.runDir, { host, viewport });
  } catch (error) {
    await server.stop();
    throw error;
  }
  const page = browser.pages()[0] || await browser.newPage();
  const payload = [];
  if (dev) payload.push(['extensionDevelopmentPath', server.remoteUri(dev)]);
  if (tests) payload.push(['extensionTestsPath', server.remoteUri(tests)]);
  let closing;
  return {
    host, server, browser, page,
    url: server.url(payload),
    /** Closes chromium, stops code-server, removes the run directory. Idempotent. */
    close: () => closing ??= (async () => {
      await browser.close().catch(() => {});
      await server.stop();
    })(),
  };
}

module.exports = {
  HOST_DIR, INSTALL_HINT, DEFAULT_SETTINGS,
  findHost, requireHost, freePort, startCodeServer, launchChromium, playwright, startSession, tail,
};
