// Bundles: the runner (library + `radish` CLI, one file so task modules share its classes) and the demo/bench
// entry points. Type-checking is separate (`npm run typecheck`), as in vscode-extension-samples' esbuild-sample.
//
//   node esbuild.mjs                      every bundle into dist/, and the runner's declarations into dist/types
//   node esbuild.mjs --npm-package [DIR]  the npm package, staged from that build into DIR (default out/npm)
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const { version } = manifest;

/**
 * amqplib reads AMQP field tables with a decoder that throws on the int64 tag py-amqp writes (`L`) and on any tag it
 * does not know, which closes the whole connection (see runner/broker/amqp/field-table.ts). Its codec module is
 * bundled with Radish's decoder put in place of its own, before anything that captures it (defs.js) loads. The
 * build fails if the module is not where expected, so an amqplib upgrade cannot drop the fix silently.
 */
const amqpFieldTables = {
  name: 'amqp-field-tables',
  setup(b) {
    let patched = false;
    b.onLoad({ filter: /[\\/]amqplib[\\/]lib[\\/]codec\.js$/ }, (args) => {
      patched = true;
      const decoder = JSON.stringify(resolve('runner/broker/amqp/field-table.ts'));
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('module.exports.decodeFields')) throw new Error(`${args.path} no longer exports decodeFields`);
      return { contents: `${source}\nmodule.exports.decodeFields = require(${decoder}).decodeFieldTable;\n`, loader: 'js' };
    });
    b.onEnd((result) => {
      const usesAmqp = Object.keys(result.metafile?.inputs ?? {}).some((f) => f.includes('amqplib'));
      if (usesAmqp && !patched) throw new Error('amqplib was bundled without Radish\'s field-table decoder');
    });
  },
};

/**
 * Dependencies loaded on first use (runner/on-demand/load.ts) become files of their own, dist/vendor/<name>.js, which
 * the runner and the extension require from beside them when a process first needs one: a Redis worker never parses
 * or holds the AMQP client, Prometheus' client or (once its task modules are loaded) the TypeScript transpiler.
 * Importing one of those packages anywhere else would bundle it into the file and load it at start again, so the
 * build refuses it.
 */
const ON_DEMAND = ['amqplib', 'prom-client', 'sucrase'];
const onDemandDir = resolve('runner/on-demand');
const onDemand = {
  name: 'on-demand',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^\\./(${ON_DEMAND.join('|')})$`) }, (args) => {
      if (resolve(args.resolveDir) !== onDemandDir) return undefined;
      return { path: `./vendor/${args.path.slice(2)}.js`, external: true };
    });
    b.onResolve({ filter: new RegExp(`^(${ON_DEMAND.join('|')})(/|$)`) }, (args) => {
      if (resolve(args.resolveDir) === onDemandDir) return undefined;
      return { errors: [{ text: `${args.path} is loaded on first use: reach it through runner/on-demand/load.ts (imported here by ${args.importer})` }] };
    });
  },
};

const common = {
  bundle: true,
  plugins: [amqpFieldTables],
  metafile: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  loader: { '.lua': 'text' },
  logLevel: 'warning',
  define: {
    RADISH_VERSION: JSON.stringify(version),
    RADISH_SUCRASE_VERSION: JSON.stringify(JSON.parse(readFileSync('node_modules/sucrase/package.json', 'utf8')).version),
  },
};

/**
 * The runner's .d.ts files (dist/types), beside the bundles: tsc without type-checking (`noCheck`, in
 * tsconfig.types.json), which `npm run typecheck` does, so the build stays a few seconds.
 */
function emitDeclarations() {
  rmSync('dist/types', { recursive: true, force: true });
  return new Promise((resolve, reject) => {
    const tsc = spawn(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.types.json'], { stdio: 'inherit' });
    tsc.on('error', reject);
    tsc.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p tsconfig.types.json exited with ${code}`))));
  });
}

function buildAll() {
  return Promise.all([
    emitDeclarations(),
    build({
      ...common,
      entryPoints: { radish: 'runner/index.ts' },
      outdir: 'dist',
      plugins: [...common.plugins, onDemand],
      // Everything is bundled, the TypeScript loader's transpiler (sucrase, plain JavaScript) too: the file runs as it
      // is on every OS and CPU, from the VSIX or the npm package, with no node_modules beside it.
      banner: { js: '#!/usr/bin/env node' },
      footer: { js: "if (require.main === module) { if (process.env.RADISH_POOL_CHILD === '1') module.exports.runPoolChild(); else module.exports.runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; }); }" },
    }),
    // The VS Code extension: `vscode` is provided by the host. Task discovery (with the TypeScript compiler) is its
    // own bundle, required on first use, so activation does not pay for it.
    build({ ...common, entryPoints: { extension: 'extension/extension.ts' }, outdir: 'dist', external: ['vscode'], plugins: [...common.plugins, onDemand] }),
    // The dependencies loaded on first use, minified (they are not Radish's code, and their source is held in memory
    // once loaded).
    build({
      ...common,
      entryPoints: Object.fromEntries(ON_DEMAND.map((name) => [`vendor/${name}`, `runner/on-demand/${name}.ts`])),
      outdir: 'dist',
      minify: true,
      sourcemap: false,
    }),
    // The task view's page, run in its webview (a browser): plain DOM, no Node.
    build({ ...common, platform: 'browser', format: 'iife', entryPoints: { 'task-view': 'extension/taskView/webview/main.ts' }, outdir: 'dist' }),
    // The Metrics view's page with uPlot; the stylesheets it imports (its own and uPlot's) go to dist/metrics-view.css.
    build({ ...common, platform: 'browser', format: 'iife', entryPoints: { 'metrics-view': 'extension/metricsView/webview/main.ts' }, outdir: 'dist', minify: true }),
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
      // The package's published name is this manifest's `radish` here (the extension's name), which Node resolves
      // to this package itself.
      alias: { '@radish-queue/radish': 'radish' },
      external: ['radish'],
    }),
  ]);
}

/**
 * The npm package: the runner bundle, its declarations, README and LICENSE, under the npm name. It is staged apart
 * because package.json here is also the VS Code extension's manifest, whose `name` (the extension id is
 * publisher.name, radish-dev.radish) cannot be scoped and whose files .vscodeignore picks (vsce refuses a `files`
 * field beside it).
 */
function stageNpmPackage(dir) {
  for (const built of ['dist/radish.js', 'dist/vendor/sucrase.js', 'dist/types/index.d.ts']) {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'dist'), { recursive: true });
  cpSync('dist/radish.js', join(dir, 'dist/radish.js'));
  cpSync('dist/vendor', join(dir, 'dist/vendor'), { recursive: true });
  cpSync('dist/types', join(dir, 'dist/types'), { recursive: true });
  for (const file of ['README.md', 'LICENSE']) cpSync(file, join(dir, file));
  const { description, license, repository, keywords, engines, bin, exports, types } = manifest;
  const npm = {
    name: manifest.npmPackage.name,
    version,
    description,
    license,
    repository,
    keywords,
    engines: { node: engines.node },
    bin,
    main: './dist/radish.js',
    types,
    exports,
    files: ['dist/radish.js', 'dist/vendor/', 'dist/types/'],
    // Only for the declarations, some of which name ioredis's and amqplib's types: at run time dist/radish.js uses
    // its own copies.
    dependencies: { ioredis: manifest.devDependencies.ioredis, amqplib: manifest.devDependencies.amqplib },
    // OpenTelemetry's API is never bundled: dist/radish.js requires the application's own copy at run time, when
    // there is one (runner/telemetry/otel-api.ts), so it is an optional peer.
    peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(npm, null, 2) + '\n');
}

const npmAt = process.argv.indexOf('--npm-package');
if (npmAt >= 0) stageNpmPackage(process.argv[npmAt + 1] ?? 'out/npm');
else await buildAll();
