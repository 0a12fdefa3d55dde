// Mocha inside the extension host: the `run()` contract of @vscode/test-electron, so one suite serves this
// host and a desktop VS Code. A suite's index.js is one line:
//   exports.run = () => require('<repo>/test/support/vscode-host/suite-runner.js').run(__dirname);
// or, with no index.js at all, run-ext-tests.js points the host at suite-entry.js for a folder of test files.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/**
 * Mocha: the host's (RADISH_HOST_MOCHA, set by host.js to the mocha 11 that install.sh put beside
 * code-server), else the project's own (another launcher, a desktop VS Code say). Mocha 12 is an ES module,
 * which Node 20.19+ can require(): its class is then the default export.
 */
function loadMocha() {
  const mocha = require(process.env.RADISH_HOST_MOCHA || 'mocha');
  return typeof mocha === 'function' ? mocha : mocha.default;
}

/** Files under `root` whose path relative to it (with `/`) matches `pattern`, sorted. */
function findTestFiles(root, pattern) {
  if (fs.statSync(root).isFile()) return [root];
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(file);
      } else if (pattern.test(path.relative(root, file).split(path.sep).join('/'))) {
        found.push(file);
      }
    }
  };
  walk(root);
  return found.sort();
}

/**
 * Runs the compiled test files under `testsRoot` with mocha's BDD interface (describe/it) and the spec reporter.
 * Resolves when all passed; rejects when one failed, a file did not load, or nothing ran (no file matched,
 * or grep matched no test): a suite that runs nothing must not pass.
 * @param {string} testsRoot a folder (searched recursively, node_modules skipped) or one file
 * @param {object} [options]
 * @param {RegExp} [options.pattern] matched against paths relative to testsRoot; default /\.test\.js$/
 * @param {number} [options.timeout] per test, ms; default RADISH_TEST_TIMEOUT or 30000 (as .mocharc.json)
 * @param {string} [options.grep] only tests whose full title matches; default RADISH_TEST_GREP
 * @returns {Promise<void>}
 */
function run(testsRoot, { pattern = /\.test\.js$/, timeout, grep = process.env.RADISH_TEST_GREP } = {}) {
  return new Promise((resolve, reject) => {
    const Mocha = loadMocha();
    const mocha = new Mocha({
      ui: 'bdd',
      reporter: 'spec',
      // The output travels through the browser console to run-ext-tests.js, not to a terminal.
      color: false,
      timeout: timeout ?? (Number(process.env.RADISH_TEST_TIMEOUT) || 30_000),
      ...(grep ? { grep } : {}),
    });
    const files = findTestFiles(path.resolve(testsRoot), pattern);
    if (files.length === 0) throw new Error(`no test files matching ${pattern} under ${testsRoot}`);
    for (const file of files) mocha.addFile(file);
    const runner = mocha.run((failures) => {
      const { passes = 0, pending = 0 } = runner.stats || {};
      if (failures > 0) reject(new Error(`${failures} test(s) failed`));
      else if (passes + pending === 0) reject(new Error(`no tests ran${grep ? ` (grep ${grep})` : ''}`));
      else resolve();
    });
  });
}

module.exports = { run, findTestFiles };
