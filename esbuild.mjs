// Bundles: the runner (library + `radish` CLI, one file so task modules share its classes) and the demo/bench
// entry points. Type-checking is separate (`npm run typecheck`), as in vscode-extension-samples' esbuild-sample.
import { readFileSync } from 'node:fs';
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
    footer: { js: 'if (require.main === module) module.exports.runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });' },
  }),
  build({
    ...common,
    entryPoints: { demo: 'examples/demo.ts', bench: 'bench/bench.ts' },
    outdir: 'dist',
    // The demo and bench drive the runner as a user would: through the built package.
    external: ['esbuild', 'radish'],
  }),
]);
