/**
 * The npm package as a user gets it: staged from the build (`node esbuild.mjs --npm-package DIR`, what `npm run
 * pack:npm` packs), it holds the runner bundle, what it loads on first use (dist/vendor), its declarations, README, LICENSE and package.json and nothing else;
 * installed from its tarball into a fresh project, a strict TypeScript file importing it compiles against its types
 * (node16 resolution: `exports` and its `types` condition) and runs, and `npx radish --version` answers.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RADISH_IMPORTS } from '../../runner/worker/loader';

const ROOT = resolve(__dirname, '../..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string; npmPackage: { name: string }; devDependencies: Record<string, string>;
};
const NAME = manifest.npmPackage.name;
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A user's file: it compiles only if the types are real (an `any` would make the @ts-expect-error lines fail). */
const USER_FILE = `import { Radish, VERSION, type TaskContext } from '${NAME}';

export const app = new Radish({ broker: 'redis://127.0.0.1:6379/0' });
export const add = app.task('tasks.add', (x: number, y: number) => x + y);
export const retried = app.task('tasks.retried', { bind: true, maxRetries: 2 }, (task: TaskContext, n: number) => task.request.retries + n);

// @ts-expect-error: the version is a string
const version: number = VERSION;
// @ts-expect-error: no such option
new Radish({ brokr: 'redis://' });

console.log(JSON.stringify({ version: VERSION, app: app instanceof Radish, tasks: typeof add.delay, unused: typeof version, retried: typeof retried }));
`;

describe(`the npm package (${NAME})`, function () {
  this.timeout(120_000);
  let dir: string;
  let staged: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'radish-npm-'));
    staged = join(dir, 'package');
    execFileSync(process.execPath, ['esbuild.mjs', '--npm-package', staged], { cwd: ROOT, stdio: 'pipe' });
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the bundle, its types, README, LICENSE and package.json, and nothing else', () => {
    const [packed] = JSON.parse(npm(['pack', '--dry-run', '--json', staged], dir)) as { name: string; version: string; files: { path: string }[] }[];
    assert.ok(packed);
    assert.equal(packed.name, NAME);
    assert.equal(packed.version, manifest.version);
    const files = packed.files.map((f) => f.path).sort();
    const other = files.filter((f) => !['LICENSE', 'README.md', 'package.json', 'dist/radish.js'].includes(f) && !/^dist\/types\/.+\.d\.ts$/.test(f) && !/^dist\/vendor\/[\w-]+\.js$/.test(f));
    assert.deepEqual(other, [], 'files a user does not need');
    for (const needed of ['LICENSE', 'README.md', 'package.json', 'dist/radish.js', 'dist/vendor/sucrase.js', 'dist/vendor/amqplib.js', 'dist/vendor/prom-client.js', 'dist/types/index.d.ts', 'dist/types/app.d.ts']) {
      assert.ok(files.includes(needed), `${needed} in ${files.join(', ')}`);
    }
    // What task modules import is what the worker maps to itself.
    assert.ok(RADISH_IMPORTS.includes(NAME), `the loader resolves ${NAME}`);
  });

  it('installs from its tarball; a strict TypeScript file importing it compiles and runs; npx radish --version answers', () => {
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir, staged], dir)) as { filename: string }[];
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
    // ioredis comes with the package (for its types); @types/node is the user's, as for any Node library. The cache
    // of this repository's own install has both, so this rarely goes to the registry.
    const typesNode = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version;
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed!.filename), `@types/node@${typesNode}`], project);

    writeFileSync(join(project, 'index.ts'), USER_FILE);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
      files: ['index.ts'],
    }));
    // skipLibCheck off, so Radish's declarations are checked too; the only errors allowed are ioredis's own (its
    // declarations import redis-errors, which has no types), which every ioredis user without skipLibCheck sees.
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: project, encoding: 'utf8' });
    const errors = tsc.stdout.split('\n').filter((l) => / error TS\d+/.test(l) && !l.startsWith('node_modules/ioredis/'));
    assert.deepEqual(errors, [], tsc.stdout);
    const ran = JSON.parse(execFileSync(process.execPath, ['out/index.js'], { cwd: project, encoding: 'utf8' })) as Record<string, unknown>;
    assert.deepEqual(ran, { version: manifest.version, app: true, tasks: 'function', unused: 'string', retried: 'object' });

    const cli = execFileSync('npx', ['--no-install', 'radish', '--version'], { cwd: project, encoding: 'utf8' });
    assert.equal(cli.trim(), `radish ${manifest.version}`);
  });
});
