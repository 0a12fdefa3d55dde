#!/usr/bin/env node
// Runs an extension test suite inside a real VS Code extension host (code-server, driven by headless chromium)
// and exits with the suite's code: 0 all passed, 1 a test failed or the suite did not load, 124 timeout,
// 2 harness error (or the host is not installed; RADISH_ALLOW_SKIP=1 makes that a skip with exit 0).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const { findHost, INSTALL_HINT, startSession, tail } = require('./host');

const USAGE = `usage: node test/support/vscode-host/run-ext-tests.js --dev <extension dir> --tests <tests>
       [--workspace <dir>] [--timeout <ms>] [--grep <regexp>] [--shot <file.png>]

  --dev        the extension to load as the development extension (a folder with its package.json)
  --tests      a module exporting run(): Promise<void> (a file, or a folder with index.js), or a folder of
               compiled *.test.js files, which suite-runner.js runs with mocha (describe/it)
  --workspace  folder the workbench opens (default: a new empty one)
  --timeout    ms from opening the workbench to the suite's end (default 180000)
  --grep       only tests whose full title matches (RADISH_TEST_GREP inside the host)
  --shot       screenshot of the workbench when the suite has ended

The environment reaches the extension host (REDIS_URL, say). RADISH_VSCODE_HOST_VERBOSE=1 prints everything
the workbench logs; RADISH_VSCODE_HOST_KEEP=1 keeps the run directory (code-server.log, profiles).`;

// Workbench chatter that says nothing about the suite: the host is offline and has no Microsoft bits.
const NOISE = [
  /^(Resolving|Resolved) connection token/,
  /^Creating a socket/,
  /^Updating additional builtin/,
  /^\[Service Worker\]/,
  /^ChatSessionStore/,
  /getaddrinfo (ENOTFOUND|EAI_AGAIN)/,
  /^Creation of workbench contribution/,
  /^File not found: .*\/vsda\//,
  /Unexpected SIGPIPE/,
];

const EXIT = { passed: 0, failed: 1, harness: 2, timeout: 124 };

function parse(argv) {
  const { values } = util.parseArgs({
    args: argv,
    options: {
      dev: { type: 'string' }, tests: { type: 'string' }, workspace: { type: 'string' },
      timeout: { type: 'string', default: '180000' }, grep: { type: 'string' }, shot: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(USAGE); process.exit(0); }
  if (!values.dev || !values.tests) throw new Error('--dev and --tests are required');
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new Error(`--timeout must be a positive number of ms, not ${values.timeout}`);
  const dev = path.resolve(values.dev);
  if (!fs.existsSync(path.join(dev, 'package.json'))) throw new Error(`--dev ${dev} has no package.json`);
  return { ...values, dev, ...testsModule(path.resolve(values.tests)), timeout };
}

/** extensionTestsPath, and the host's extra environment, for --tests. */
function testsModule(tests) {
  const stat = fs.statSync(tests, { throwIfNoEntry: false });
  if (!stat) throw new Error(`--tests ${tests} does not exist (built yet?)`);
  if (stat.isFile() || fs.existsSync(path.join(tests, 'index.js'))) return { tests, env: {} };
  return { tests: path.join(__dirname, 'suite-entry.js'), env: { RADISH_TESTS_ROOT: tests } };
}

function printLog(type, args) {
  const line = util.format(...(Array.isArray(args) ? args : [args]));
  if (!process.env.RADISH_VSCODE_HOST_VERBOSE && NOISE.some((re) => re.test(line))) return;
  (type === 'error' ? console.error : console.log)(line);
}

async function main() {
  let options;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    console.error(`run-ext-tests: ${error.message} (--help for usage)`);
    return EXIT.harness;
  }
  if (!findHost()) {
    if (process.env.RADISH_ALLOW_SKIP === '1') {
      console.log('skipped: VS Code host not installed (run setup.sh)');
      return EXIT.passed;
    }
    console.error(`run-ext-tests: ${INSTALL_HINT} (or set RADISH_ALLOW_SKIP=1 to skip)`);
    return EXIT.harness;
  }

  const started = Date.now();
  let session;
  let code = EXIT.harness;
  try {
    const env = { ...options.env, ...(options.grep ? { RADISH_TEST_GREP: options.grep } : {}) };
    session = await startSession({ dev: options.dev, tests: options.tests, workspace: options.workspace, env });
    const { page, server } = session;

    // VS Code's web workbench in test mode reports through these globals, as in VS Code's own browser
    // integration tests: the extension host's console, then the suite's exit code.
    let suiteEnded;
    const ended = new Promise((resolve) => { suiteEnded = resolve; });
    await page.exposeFunction('codeAutomationLog', printLog);
    await page.exposeFunction('codeAutomationExit', (exitCode) => suiteEnded(Number(exitCode)));
    if (process.env.RADISH_VSCODE_HOST_VERBOSE) page.on('console', (m) => console.log(`[browser ${m.type()}] ${m.text()}`));

    let timer;
    const outcome = await Promise.race([
      page.goto(session.url, { waitUntil: 'commit', timeout: options.timeout }).then(() => ended),
      new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), options.timeout); }),
      server.exited.then(({ code: c, signal }) => { throw new Error(`code-server exited (${signal || c})`); }),
      new Promise((_, reject) => page.once('crash', () => reject(new Error('the workbench page crashed')))),
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      console.error(`run-ext-tests: no result after ${options.timeout} ms (a hanging test, or the host never started)`);
      code = EXIT.timeout;
    } else {
      code = outcome === 0 ? EXIT.passed : EXIT.failed;
    }
    if (options.shot) {
      fs.mkdirSync(path.dirname(path.resolve(options.shot)), { recursive: true });
      await page.screenshot({ path: options.shot })
        .then(() => console.log(`screenshot: ${options.shot}`), (e) => console.error(`screenshot failed: ${e.message}`));
    }
  } catch (error) {
    console.error(`run-ext-tests: ${error.stack || error}`);
    if (session) console.error(tail(session.server.logFile));
    code = EXIT.harness;
  } finally {
    if (session) await session.close();
  }
  console.log(`extension tests: exit code ${code} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return code;
}

main().then((code) => process.exit(code));
