/**
 * What the VSIX carries: one universal package (no target platform, nothing native, no node_modules), the bundles and
 * the task view's stylesheet, under the extension id radish-dev.radish; and a worker run from the dist/radish.js
 * taken out of it, away from this repository's node_modules, loads a TypeScript task module and runs its tasks, with
 * tracebacks on the .ts lines. (test/e2e/vsix.test.ts installs the same VSIX into code-server and uses it there.)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { TaskFailedError } from '../../runner/protocol/result';
import { startRedis, type TestRedis } from '../support/redis';

const ROOT = resolve(__dirname, '../..');
const BUNDLES = ['dist/radish.js', 'dist/vendor/sucrase.js', 'dist/vendor/amqplib.js', 'dist/vendor/prom-client.js', 'dist/extension.js', 'dist/discovery.js', 'dist/task-view.js', 'media/task-view.css', 'dist/metrics-view.js', 'dist/metrics-view.css'];

describe('the VSIX', function () {
  this.timeout(120_000);
  let dir: string;
  let vsix: string;
  let entries: string[];

  before(function () {
    if (spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status !== 0) {
      console.log('      skipped: unzip is not installed (setup.sh installs it)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'radish-vsix-contents-'));
    vsix = join(dir, 'radish.vsix');
    const started = Date.now();
    execFileSync(process.execPath, [join(ROOT, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--out', vsix], { cwd: ROOT, stdio: 'pipe' });
    console.log(`      vsce package: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    entries = execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).split('\n').filter(Boolean);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is one package for every platform: nothing native, no node_modules, no target', () => {
    const native = entries.filter((e) => /\.node$|(^|\/)node_modules\/|@esbuild\/|(^|\/)esbuild(\.exe)?$/.test(e));
    assert.deepEqual(native, [], 'platform-specific files in the VSIX');
    const manifest = execFileSync('unzip', ['-p', vsix, 'extension.vsixmanifest'], { encoding: 'utf8' });
    assert.doesNotMatch(manifest, /TargetPlatform=/, 'a universal VSIX names no target platform');
  });

  it('carries the bundles and the task view stylesheet, under the extension id radish-dev.radish', () => {
    for (const file of BUNDLES) assert.ok(entries.includes(`extension/${file}`), `extension/${file} in ${entries.join(', ')}`);
    const pkg = JSON.parse(execFileSync('unzip', ['-p', vsix, 'extension/package.json'], { encoding: 'utf8' })) as { name: string; publisher: string };
    assert.equal(`${pkg.publisher}.${pkg.name}`, 'radish-dev.radish');
  });

  describe('its dist/radish.js, on its own', () => {
    let redis: TestRedis;
    let worker: ChildProcess | undefined;
    let log = '';

    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      if (worker && worker.exitCode === null) {
        const exited = new Promise((done) => worker!.once('exit', done));
        worker.kill('SIGTERM');
        await exited;
      }
      await redis?.stop();
    });

    it('runs a worker that loads examples/ts-tasks/tasks.ts and runs tasks.add; a failure names tasks.ts:49', async () => {
      // Unpacked away from the repository (and its node_modules): what runs is what the VSIX holds.
      const unpacked = join(dir, 'unpacked');
      execFileSync('unzip', ['-q', vsix, 'extension/dist/radish.js', 'extension/dist/vendor/*', '-d', unpacked]);
      const project = join(dir, 'project');
      mkdirSync(project);
      copyFileSync(join(ROOT, 'examples/ts-tasks/tasks.ts'), join(project, 'tasks.ts'));
      const queue = 'from-the-unpacked-vsix';
      worker = spawn(process.execPath, [join(unpacked, 'extension/dist/radish.js'), 'worker', '-A', 'tasks.ts', '-Q', queue, '-c', '2', '-n', 'vsix@test'],
        { cwd: project, env: { ...process.env, RADISH_BROKER_URL: redis.url, NODE_PATH: '', RADISH_TS_CACHE: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
      worker.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
      worker.stderr!.on('data', (d: Buffer) => { log += d.toString(); });

      const app = new Radish({ broker: redis.url });
      try {
        const sum = await app.send('tasks.add', [2, 3], {}, { queue });
        assert.equal(await sum.get({ timeout: 30_000 }).catch((err: unknown) => assert.fail(`${String(err)}\nworker log:\n${log}`)), 5);
        const failed = await app.send('tasks.fail', ['x'], {}, { queue });
        const err = await failed.get({ timeout: 10_000 }).then(() => assert.fail('tasks.fail succeeded'), (e: unknown) => e);
        assert.ok(err instanceof TaskFailedError, String(err));
        assert.equal(err.name, 'ValueError');
        assert.match(err.remoteTraceback ?? '', /tasks\.ts:49:\d+/, 'the traceback names the .ts line that threw');
      } finally {
        await app.close();
      }
    });
  });
});
