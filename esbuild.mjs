// Bundles: the runner (library + `radish` CLI, one file so task modules share its classes) and the demo/bench
// entry points. Type-checking is separate (`npm run typecheck`), as in vscode-extension-samples' esbuild-sample.
import { readdirSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  loader: { '.lua': 'text' },
  logLevel: 'warning',
  define: { RADISH_VERSION: JSON.stringify(version) },
};

await Promise.all([
  build({
    ...common,
    entryPoints: { radish: 'runner/index.ts' },
    outdir: 'dist',
    // esbuild ships a native binary per platform; it is loaded from node_modules, never bundled.
    external: ['esbuild'],
    banner: { js: '#!/usr/bin/env node' },
    footer: { js: "if (require.main === module) { if (process.env.RADISH_POOL_CHILD === '1') module.exports.runPoolChild(); else module.exports.runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; }); }" },
  }),
  // The VS Code extension: `vscode` is provided by the host. Task discovery (with the TypeScript compiler) is its
  // own bundle, required on first use, so activation does not pay for it.
  build({ ...common, entryPoints: { extension: 'extension/extension.ts' }, outdir: 'dist', external: ['vscode', 'esbuild'] }),
  // The task view's page, run in its webview (a browser): plain DOM, no Node.
  build({ ...common, platform: 'browser', format: 'iife', entryPoints: { 'task-view': 'extension/taskView/webview/main.ts' }, outdir: 'dist' }),
  // Minified, without a source map: it is mostly the TypeScript compiler (10 MB as written, 3 MB minified).
  build({ ...common, entryPoints: { discovery: 'extension/discovery/index.ts' }, outdir: 'dist', minify: true, sourcemap: false }),
  // Suites that run inside the VS Code extension host (test/extension/*.suite.ts), one file each.
  // Each into a folder of its own (out/test/extension/<name>/suite.test.js), which the host harness runs with mocha.
  build({
    ...common,
    entryPoints: Object.fromEntries(readdirSync('test/extension').filter((f) => f.endsWith('.suite.ts'))
      .map((f) => [`${f.replace(/\.suite\.ts$/, '')}/suite.test`, `test/extension/${f}`])),
    outdir: 'out/test/extension',
    external: ['vscode'],
  }),
  build({
    ...common,
    entryPoints: { demo: 'examples/demo.ts', bench: 'bench/bench.ts' },
    outdir: 'dist',
    // The demo and bench drive the runner as a user would: through the built package. The bench's peers (BullMQ,
    // bee-queue, celery-node) are required at run time from bench/node_modules (bench/peers.ts), never bundled.
    external: ['esbuild', 'radish'],
  }),
]);
