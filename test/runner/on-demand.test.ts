/**
 * What the built runner loads, and when. dist/radish.js holds neither the AMQP client, nor Prometheus' client, nor
 * the TypeScript transpiler: each is a file of its own under dist/vendor, required on first use (runner/on-demand),
 * so a Redis worker never loads the first two. TypeScript task modules are transpiled once per content
 * (runner/worker/transpile-cache.ts): a worker restarted on unchanged modules does not load the transpiler at all,
 * an edit is picked up at once, and stack traces still name the .ts lines.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TranspileCache, transpileCacheDir } from '../../runner/worker/transpile-cache';
import { startRedis, type TestRedis } from '../support/redis';
import { rabbitVhost } from '../support/rabbitmq';

const ROOT = resolve(__dirname, '../..');
const DIST = join(ROOT, 'dist', 'radish.js');
/** Source text, for a child's script: the sorted names of the dist/vendor files that process has loaded. */
const VENDOR_LOADED = `Object.keys(require.cache).filter((k) => k.includes(${JSON.stringify(join('dist', 'vendor'))})).map((k) => k.replace(/^.*[\\\\/]/, '')).sort()`;

/**
 * Run `script` in a fresh Node process with the built runner as `radish` and the cache in `cache`; it prints one JSON
 * line, and `vendor` in it lists the dist/vendor files loaded.
 */
function inChild(script: string, cache: string, cwd: string): Record<string, unknown> {
  const prelude = `const radish = require(${JSON.stringify(DIST)});
const vendor = () => ${VENDOR_LOADED};
`;
  const out = execFileSync(process.execPath, ['-e', prelude + script], { cwd, encoding: 'utf8', env: { ...process.env, RADISH_TS_CACHE: cache } });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('loading on demand', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'radish-on-demand-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('the TypeScript transpile cache', () => {
    const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
    let calls = 0;
    const transpile = (code: string) => () => {
      calls++;
      return code;
    };

    beforeEach(() => {
      calls = 0;
    });

    it('transpiles a source once: the second read is the kept output, written whole and for this user only', () => {
      const cacheDir = join(dir, 'unit-1');
      const cache = new TranspileCache('t1', cacheDir);
      assert.equal(cache.get('let a: number = 1;', '/p/a.ts', ['typescript'], transpile('let a = 1;')), 'let a = 1;');
      assert.equal(cache.get('let a: number = 1;', '/p/a.ts', ['typescript'], transpile('other')), 'let a = 1;');
      assert.equal(calls, 1);
      const entries = readdirSync(cacheDir);
      assert.equal(entries.length, 1);
      assert.match(entries[0]!, /^[0-9a-f]{64}\.js$/, 'no temporary file left');
      if (process.platform !== 'win32') {
        assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
        assert.equal(statSync(join(cacheDir, entries[0]!)).mode & 0o777, 0o600);
      }
      // Another process (a new TranspileCache) reads it too.
      assert.equal(new TranspileCache('t1', cacheDir).get('let a: number = 1;', '/p/a.ts', ['typescript'], transpile('x')), 'let a = 1;');
      assert.equal(calls, 1);
    });

    it('keeps apart what differs: the source, the path (its source map names it), the transforms, the transpiler', () => {
      const cacheDir = join(dir, 'unit-2');
      const cache = new TranspileCache('t1', cacheDir);
      cache.get('s', '/p/a.ts', ['typescript'], transpile('1'));
      assert.equal(cache.get('s2', '/p/a.ts', ['typescript'], transpile('2')), '2');
      assert.equal(cache.get('s', '/p/b.ts', ['typescript'], transpile('3')), '3');
      assert.equal(cache.get('s', '/p/a.ts', ['typescript', 'jsx'], transpile('4')), '4');
      assert.equal(new TranspileCache('t2', cacheDir).get('s', '/p/a.ts', ['typescript'], transpile('5')), '5');
      assert.equal(calls, 5);
      assert.equal(readdirSync(cacheDir).length, 5);
    });

    it('transpiles every time, without an error, when the cache cannot be written or is off', () => {
      const blocked = join(dir, 'a-file');
      write('a-file', 'not a directory');
      const cache = new TranspileCache('t1', join(blocked, 'ts'));
      assert.equal(cache.get('s', '/p/a.ts', ['typescript'], transpile('1')), '1');
      assert.equal(cache.get('s', '/p/a.ts', ['typescript'], transpile('1')), '1');
      const off = new TranspileCache('t1', undefined);
      assert.equal(off.get('s', '/p/a.ts', ['typescript'], transpile('1')), '1');
      assert.equal(calls, 3);
      if (process.platform !== 'win32' && process.getuid?.() !== 0) {
        const readOnly = join(dir, 'read-only');
        mkdirSync(readOnly, { mode: 0o500 });
        assert.equal(new TranspileCache('t1', readOnly).get('s', '/p/a.ts', ['typescript'], transpile('1')), '1');
        chmodSync(readOnly, 0o700);
      }
    });

    it('past 1,000 entries drops the oldest half, keeping the one just written', () => {
      const cacheDir = join(dir, 'unit-prune');
      mkdirSync(cacheDir);
      const old = Date.now() / 1000 - 3600;
      for (let i = 0; i < 1000; i++) {
        const path = join(cacheDir, `${String(i).padStart(64, '0')}.js`);
        writeFileSync(path, '');
        utimesSync(path, old + i, old + i);
      }
      const cache = new TranspileCache('t1', cacheDir);
      cache.get('new', '/p/new.ts', ['typescript'], transpile('kept'));
      const left = readdirSync(cacheDir);
      assert.equal(left.length, 500);
      assert.ok(!left.includes(`${'0'.repeat(64)}.js`), 'the oldest went');
      assert.ok(left.includes(`${String(999).padStart(64, '0')}.js`), 'the newest of the old stayed');
      assert.equal(new TranspileCache('t1', cacheDir).get('new', '/p/new.ts', ['typescript'], transpile('again')), 'kept');
    });

    it('prunes by last use: an old entry read again outlives newer ones no longer read', () => {
      const cacheDir = join(dir, 'unit-prune-use');
      const cache = new TranspileCache('t1', cacheDir);
      cache.get('used', '/p/used.ts', ['typescript'], transpile('still used'));
      const [used] = readdirSync(cacheDir);
      const old = Date.now() / 1000 - 7200;
      utimesSync(join(cacheDir, used!), old, old);
      for (let i = 0; i < 1000; i++) {
        const path = join(cacheDir, `${String(i).padStart(64, '0')}.js`);
        writeFileSync(path, '');
        utimesSync(path, old + 60 + i, old + 60 + i);
      }
      // A restart reads it (a hit), then another module is transpiled, which prunes.
      const restarted = new TranspileCache('t1', cacheDir);
      assert.equal(restarted.get('used', '/p/used.ts', ['typescript'], transpile('again')), 'still used');
      restarted.get('new', '/p/new.ts', ['typescript'], transpile('new'));
      const left = readdirSync(cacheDir);
      assert.equal(left.length, 500);
      assert.ok(left.includes(used!), 'the entry read at the restart stayed, though written first');
      assert.equal(calls, 2);
    });

    it('lives in the user\'s cache directory on each OS, or where RADISH_TS_CACHE says, or nowhere with `off`', () => {
      assert.equal(transpileCacheDir({ RADISH_TS_CACHE: 'off' }, 'linux'), undefined);
      assert.equal(transpileCacheDir({ RADISH_TS_CACHE: '/somewhere' }, 'linux'), '/somewhere');
      assert.equal(transpileCacheDir({ XDG_CACHE_HOME: '/xdg' }, 'linux'), join('/xdg', 'radish', 'ts'));
      assert.match(transpileCacheDir({}, 'linux')!, /[\\/]\.cache[\\/]radish[\\/]ts$/);
      assert.match(transpileCacheDir({}, 'darwin')!, /[\\/]Library[\\/]Caches[\\/]radish[\\/]ts$/);
      assert.equal(transpileCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32'), join('C:\\Users\\u\\AppData\\Local', 'radish', 'Cache', 'ts'));
    });

    it('in the built runner: a restart on an unchanged module does not load the transpiler; an edit runs at once; traces name the .ts line', () => {
      const project = join(dir, 'project');
      const cache = join(dir, 'built-cache');
      mkdirSync(project);
      const module = (n: number) => `export const value = (): number => ${n};\n\nexport function fail(): never {\n  throw new Error('boom');\n}\n`;
      writeFileSync(join(project, 'mod.ts'), module(1));
      const script = `radish.registerLoader();
const m = require('./mod.ts');
let stack = '';
try { m.fail(); } catch (e) { stack = e.stack; }
console.log(JSON.stringify({ value: m.value(), vendor: vendor(), line: /mod\\.ts:(\\d+)/.exec(stack)?.[1] }));`;
      assert.deepEqual(inChild(script, cache, project), { value: 1, vendor: ['sucrase.js'], line: '4' }, 'first load');
      assert.deepEqual(inChild(script, cache, project), { value: 1, vendor: [], line: '4' }, 'restart, unchanged');
      writeFileSync(join(project, 'mod.ts'), module(2));
      assert.deepEqual(inChild(script, cache, project), { value: 2, vendor: ['sucrase.js'], line: '4' }, 'after an edit');
      assert.deepEqual(inChild(script, cache, project), { value: 2, vendor: [], line: '4' }, 'restart after the edit');
      assert.deepEqual(inChild(script, 'off', project), { value: 2, vendor: ['sucrase.js'], line: '4' }, 'cache off');
    });
  });

  describe('the built runner\'s clients', () => {
    let redis: TestRedis;

    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await redis?.stop();
    });

    /** A worker started through the CLI in a child, serving tasks.js: what it loaded from dist/vendor once ready. */
    function workerLoads(args: string[], module = 'tasks.js'): Promise<string[]> {
      const project = join(dir, 'worker-project');
      if (!existsSync(project)) {
        mkdirSync(project);
        writeFileSync(join(project, 'tasks.js'), `const { Radish } = require('radish');\nexports.app = new Radish();\nexports.app.task('t.noop', () => null);\n`);
        writeFileSync(join(project, 'tasks.ts'), `import { Radish } from 'radish';\nexport const app = new Radish();\napp.task('t.noop', (): null => null);\n`);
      }
      // Told on stdin once its log says it is ready, the child prints what it loaded and exits.
      const script = `const radish = require(${JSON.stringify(DIST)});
radish.runCli(['worker', '-A', ${JSON.stringify(module)}, '-l', 'info', ...${JSON.stringify(args)}]);
process.stdin.once('data', () => {
  console.log('VENDOR ' + JSON.stringify(${VENDOR_LOADED}));
  process.exit(0);
});`;
      return new Promise((done, fail) => {
        const child = spawn(process.execPath, ['-e', script], { cwd: project, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, RADISH_TS_CACHE: 'off' } });
        let log = '';
        const read = (d: Buffer) => {
          const before = log;
          log += d.toString();
          if (!/ ready\. queues:/.test(before) && / ready\. queues:/.test(log)) child.stdin.write('\n');
        };
        child.stdout.on('data', read);
        child.stderr.on('data', read);
        child.on('error', fail);
        child.on('exit', () => {
          const line = /^VENDOR (.*)$/m.exec(log)?.[1];
          if (!line) fail(new Error(`the worker did not report what it loaded:\n${log}`));
          else done(JSON.parse(line) as string[]);
        });
      });
    }

    it('a Redis worker loads neither the AMQP client nor Prometheus\' client', async () => {
      assert.deepEqual(await workerLoads(['--broker', redis.url]), []);
    });

    it('a worker on a TypeScript module lets the transpiler go once its modules are loaded', async () => {
      assert.deepEqual(await workerLoads(['--broker', redis.url], 'tasks.ts'), []);
    });

    it('a metrics endpoint loads Prometheus\' client, and only that', async () => {
      assert.deepEqual(await workerLoads(['--broker', redis.url, '--metrics-port', '0', '--metrics-host', '127.0.0.1']), ['prom-client.js']);
    });

    describe('on RabbitMQ', () => {
      const rabbit = rabbitVhost();

      it('a worker loads the AMQP client, from beside the runner', async () => {
        assert.deepEqual(await workerLoads(['--broker', rabbit.url, '--result-backend', redis.url]), ['amqplib.js']);
      });
    });
  });
});
