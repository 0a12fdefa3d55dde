// extensionTestsPath for a folder of compiled test files that has no index.js of its own: run-ext-tests.js
// passes the folder in RADISH_TESTS_ROOT. The extension host calls run(thisFile, callback); both are ignored.
'use strict';

exports.run = () => {
  const root = process.env.RADISH_TESTS_ROOT;
  if (!root) return Promise.reject(new Error('RADISH_TESTS_ROOT is not set (run-ext-tests.js sets it)'));
  return require('./suite-runner').run(root);
};
