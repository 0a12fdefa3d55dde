#!/usr/bin/env node
// The same extension-host suites in desktop VS Code, through @vscode/test-electron, for machines that can download
// VS Code (this one cannot: here `npm test` runs them in code-server instead, see host.test.ts).
//   REDIS_URL=redis://127.0.0.1:6379/0 node test/extension/desktop.js [ts-project|django-project]
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runTests } = require('@vscode/test-electron');

const root = path.resolve(__dirname, '../..');
const suite = process.argv[2] || 'ts-project';
const example = suite === 'django-project' ? 'django-celery' : 'ts-tasks';

// The suites write workspace settings: give them a copy of the example, not the example itself.
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), `radish-desktop-${example}-`));
fs.cpSync(path.join(root, 'examples', example), workspace, { recursive: true });

runTests({
  version: '1.100.3',
  extensionDevelopmentPath: root,
  extensionTestsPath: path.join(root, 'test/support/vscode-host/suite-entry.js'),
  extensionTestsEnv: { RADISH_TESTS_ROOT: path.join(root, 'out/test/extension', suite), REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379/0' },
  launchArgs: [workspace, '--disable-extensions'],
}).then(() => process.exit(0), (err) => {
  console.error(`desktop extension tests failed: ${err.message || err}`);
  process.exit(1);
});
