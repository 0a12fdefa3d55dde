/**
 * Task discovery (extension/discovery): where tasks are defined, read from source text. Where a real answer is at
 * hand it is the judge: the TypeScript fixtures are loaded by the runner and compared with what it registered,
 * the Python fixtures are imported by real Celery (skipped, saying why, when Celery is missing).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { discoverInText, findPythonTasks, findTaskAt, findTypeScriptTasks, languageOf, type TaskDefinitionSite } from '../../extension/discovery/index';
import { pythonString } from '../../extension/discovery/python-literals';
import { findPythonRoutes, projectRoutes, routesForTask, type CeleryRoute, type RouteSource } from '../../extension/discovery/python-routes';
import { requireCelery } from '../support/celery';

const ROOT = resolve(__dirname, '../..');
const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

/** 0-based position of the `occurrence`-th (from 0) `needle` in `text`, counting lines as VS Code does. */
function pos(text: string, needle: string, occurrence = 0): { line: number; character: number } {
  let at = -1;
  for (let n = 0; n <= occurrence; n++) {
    at = text.indexOf(needle, at + 1);
    assert.notEqual(at, -1, `fixture has no ${JSON.stringify(needle)} #${occurrence}`);
  }
  const before = text.slice(0, at).split(/\r\n|\r|\n/);
  return { line: before.length - 1, character: (before[before.length - 1] ?? '').length };
}

/** Position just after `needle`. */
function endOf(text: string, needle: string, occurrence = 0): { line: number; character: number } {
  const p = pos(text, needle, occurrence);
  const lines = needle.split(/\r\n|\r|\n/);
  const last = lines[lines.length - 1] ?? '';
  return lines.length === 1 ? { line: p.line, character: p.character + last.length } : { line: p.line + lines.length - 1, character: last.length };
}

function byName(sites: readonly TaskDefinitionSite[], name: string): TaskDefinitionSite {
  const site = sites.find((s) => s.name === name);
  assert.ok(site, `no site named ${name} among ${sites.map((s) => s.name).join(', ')}`);
  return site;
}

function summary(sites: readonly TaskDefinitionSite[]): { name: string; params: string[]; options: TaskDefinitionSite['options'] }[] {
  return sites.map(({ name, params, options }) => ({ name, params, options }));
}

/** Tasks a TypeScript module registers when the runner loads it: name -> parameter names (null: destructured). */
function registeredByRunner(file: string): Map<string, (string | null)[]> {
  // The mocha hook (test/support/register.js) loads .ts and resolves `radish` to runner/index.ts, the same
  // module the Radish class above comes from.
  const exports = require(file) as Record<string, unknown>;
  const app = Object.values(exports).find((v): v is Radish => v instanceof Radish);
  assert.ok(app, `${file} exports no Radish app`);
  return new Map(app.taskNames.map((name) => [name, app.lookup(name)?.params.names ?? []]));
}

/** Tasks Celery registers after importing `modules` from `root`: name -> parameters a caller fills. */
function registeredByCelery(root: string, appModule: string, modules: string[], env: Record<string, string> = {}): Record<string, string[]> {
  const script = `
import importlib, inspect, json, os, sys
root, app_module, *modules = sys.argv[1:]
sys.path.insert(0, root)
if os.environ.get('DJANGO_SETTINGS_MODULE'):
    import django
    django.setup()
app = importlib.import_module(app_module).app
for m in modules:
    importlib.import_module(m)
out = {}
for name, task in app.tasks.items():
    if name.startswith('celery.'):
        continue
    params = inspect.signature(task.run).parameters.values()
    out[name] = [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', script, root, appModule, ...modules], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `celery import failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// TypeScript fixtures

/** Every definition form the runner accepts; the runner loads this file, so it must stay valid and runnable. */
const TS_FORMS = `import { Radish, type TaskContext } from 'radish';

export const app = new Radish({ defaultQueue: 'celery' });
const registry = { app };

const reportOptions = { queue: 'reports', priority: 3 } as const;

function withLogging<T>(task: T): T {
  return task;
}

function retrying<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => fn(...args);
}

/** An exported arrow function. */
export const add = app.task('forms.add', (x: number, y: number) => x + y);

// Inline options of every literal kind, and a function expression with a default holding a comma.
export const send = app.task('forms.send', { queue: 'emails', priority: 9, ignoreResult: true, softTimeLimit: 1_000 }, async function send(to: string, subject = 'hi, (there)') {
  return { to, subject };
});

// Options from a constant of this file, and a template-literal name without substitutions.
export const report = app.task(\`forms.report\`, reportOptions, (kind: string, days = 7) => ({ kind, days }));

// bind: true passes the context first; a destructured parameter has no name of its own.
export const sync = app.task('forms.sync', { bind: true, maxRetries: 5 }, async (task: TaskContext, accountId: string, { force }: { force?: boolean } = {}) => [task.name, accountId, force]);

// A wrapped function: the runner cannot see through the wrapper, so the names are given.
export const wrapped = app.task('forms.wrapped', { params: ['url', 'width'] }, retrying((url: string, width: number) => url + width));

// With bind and params together, params still wins whole (as in runner/task.ts).
export const boundWithParams = app.task('forms.boundParams', { bind: true, params: ['a', 'b'] }, (task: TaskContext, ...rest: unknown[]) => [task.name, rest]);

// A function declared elsewhere in the file, with a TypeScript-only this parameter and a rest parameter.
function resize(this: void, path: string, ...sizes: number[]) {
  return [path, sizes];
}
export const resizeTask = app.task('forms.resize', resize);

// The call wrapped in another call, reached through a property chain, through an element access.
export const logged = withLogging(registry.app.task('forms.logged', (message: string) => message));
export const viaElement = app['task']('forms.element', () => 'ok');

export const multiline = (app as Radish)
  .task(
    'forms.multiline',
    { queue: 'slow' },
    async (
      first: string,
      second: number[] = [1, 2, 3],
    ) => [first, second],
  );
`;

/** Shapes that look like a task definition but are not one (this file is only parsed, never run). */
const TS_NOT_TASKS = `import gulp from 'gulp';
const name = 'dynamic';
app.task(name, () => 1);
app.task(\`forms.\${name}\`, () => 1);
app.task('no.function');
app.task('data.only', { queue: 'q' });
app.task('array.options', ['clean'], () => 1);
gulp.task('build', () => undefined);
const text = "app.task('in.a.string', () => 1)";
// app.task('in.a.comment', () => 1)
/* app.task('in.a.block.comment', () => 1) */
app.tasks('plural', () => 1);
app.task.call(app, 'via.call', () => 1);
`;

describe('discovery: TypeScript and JavaScript', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'radish-discovery-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds every task of the example project, with params and options, as the runner registers them', () => {
    const file = join(ROOT, 'examples/ts-tasks/tasks.ts');
    const text = readFileSync(file, 'utf8');
    const sites = findTypeScriptTasks(file, text);
    assert.deepEqual(summary(sites), [
      { name: 'tasks.add', params: ['x', 'y'], options: {} },
      { name: 'emails.send', params: ['to', 'subject'], options: {} },
      { name: 'images.thumbnail', params: ['url', 'width'], options: {} },
      { name: 'reports.build', params: ['kind', 'days'], options: {} },
      { name: 'tasks.fail', params: ['value'], options: {} },
      { name: 'tasks.flaky', params: ['attempts'], options: { bind: true, maxRetries: 5 } },
      { name: 'tasks.slow', params: ['seconds'], options: { bind: true } },
      { name: 'tasks.urgent', params: ['incident'], options: {} },
    ]);
    for (const site of sites) {
      assert.equal(site.file, file);
      assert.equal(site.language, 'typescript');
    }
    // The call expression, from `app` to the closing parenthesis, and the name literal with its quotes.
    const add = byName(sites, 'tasks.add');
    assert.deepEqual(add.range, { start: pos(text, "app.task('tasks.add'"), end: endOf(text, 'x + y)') });
    assert.deepEqual(add.nameRange, { start: pos(text, "'tasks.add'"), end: endOf(text, "'tasks.add'") });
    const flaky = byName(sites, 'tasks.flaky');
    assert.deepEqual(flaky.range.start, pos(text, "app.task('tasks.flaky'"));
    assert.deepEqual(flaky.range.end, endOf(text, '  return `succeeded on attempt ${attempt} of ${attempts}`;\n})'));

    const registered = registeredByRunner(file);
    assert.deepEqual(sites.map((s) => s.name).sort(), [...registered.keys()]);
    for (const site of sites) assert.deepEqual(site.params, registered.get(site.name), site.name);
  });

  it('reads every definition form the runner accepts, and agrees with the runner on names and params', () => {
    const file = join(dir, 'forms.ts');
    writeFileSync(file, TS_FORMS);
    const sites = findTypeScriptTasks(file, TS_FORMS);
    assert.deepEqual(summary(sites), [
      { name: 'forms.add', params: ['x', 'y'], options: {} },
      { name: 'forms.send', params: ['to', 'subject'], options: { queue: 'emails', priority: 9, ignoreResult: true, softTimeLimit: 1000 } },
      { name: 'forms.report', params: ['kind', 'days'], options: { queue: 'reports', priority: 3 } },
      { name: 'forms.sync', params: ['accountId', '{ force }'], options: { bind: true, maxRetries: 5 } },
      { name: 'forms.wrapped', params: ['url', 'width'], options: {} },
      { name: 'forms.boundParams', params: ['a', 'b'], options: { bind: true } },
      { name: 'forms.resize', params: ['path'], options: {} },
      { name: 'forms.logged', params: ['message'], options: {} },
      { name: 'forms.element', params: [], options: {} },
      { name: 'forms.multiline', params: ['first', 'second'], options: { queue: 'slow' } },
    ]);
    const multiline = byName(sites, 'forms.multiline');
    assert.deepEqual(multiline.range, { start: pos(TS_FORMS, '(app as Radish)'), end: endOf(TS_FORMS, '    ) => [first, second],\n  )') });
    assert.deepEqual(multiline.nameRange.start, pos(TS_FORMS, "'forms.multiline'"));

    const registered = registeredByRunner(file);
    assert.deepEqual(sites.map((s) => s.name).sort(), [...registered.keys()]);
    for (const site of sites) {
      // The runner has no name for a destructured parameter; discovery shows its pattern.
      const names = registered.get(site.name)?.map((n, i) => n ?? site.params[i]);
      assert.deepEqual(site.params, names, site.name);
    }
  });

  it('reads the function inside a wrapper when no params option names them (a best guess the runner cannot make)', () => {
    const text = `const retrying = (fn) => (...args) => fn(...args);\nexport const t = app.task('wrap.guess', retrying(async (orderId: string, attempt = 1) => orderId));\n`;
    const [site] = findTypeScriptTasks('/p/w.ts', text);
    assert.deepEqual(site?.params, ['orderId', 'attempt']);
  });

  it('ignores non-literal names, non-function arguments, gulp, strings and comments', () => {
    assert.deepEqual(findTypeScriptTasks('/p/not-tasks.ts', TS_NOT_TASKS), []);
  });

  it('reads options as literals only: negative numbers, strings, booleans; skips computed values', () => {
    const text = `app.task('opts', { priority: -1, 'queue': "q", ignoreResult: false, timeLimit: LIMIT, maxRetries: 2 * 3, [key]: 1, ...base, bind: true }, (ctx, a) => a);`;
    const [site] = findTypeScriptTasks('/p/o.ts', text);
    assert.deepEqual(site?.options, { priority: -1, queue: 'q', ignoreResult: false, bind: true });
    assert.deepEqual(site?.params, ['a']);
    // Options from a call: a task all the same, with nothing readable.
    assert.deepEqual(summary(findTypeScriptTasks('/p/o.ts', `app.task('built', taskOptions({ queue: 'q' }), (a: number) => a);`)), [{ name: 'built', params: ['a'], options: {} }]);
  });

  it('reads JavaScript (CommonJS and ES modules) and JSX in .tsx files', () => {
    const cjs = `const { Radish } = require('radish');
const app = new Radish();
exports.add = app.task('js.add', function (a, b) { return a + b; });
module.exports.slow = app.task('js.slow', { queue: 'slow', bind: true }, async (task, seconds = 1) => seconds);
`;
    for (const file of ['/p/tasks.js', '/p/tasks.cjs', '/p/tasks.mjs']) {
      const sites = discoverInText(file, cjs);
      assert.deepEqual(summary(sites), [
        { name: 'js.add', params: ['a', 'b'], options: {} },
        { name: 'js.slow', params: ['seconds'], options: { queue: 'slow', bind: true } },
      ], file);
      assert.ok(sites.every((s) => s.language === 'javascript'));
    }
    const tsx = `export const render = app.task('ui.render', (props: { title: string }) => <h1 className="t">{props.title}</h1>);\nexport const after = app.task('ui.after', (n: number) => n);\n`;
    const sites = discoverInText('/p/ui.tsx', tsx);
    assert.deepEqual(sites.map((s) => s.name), ['ui.render', 'ui.after']);
    assert.ok(sites.every((s) => s.language === 'typescript'));
  });

  it('never throws on syntax errors and still finds the definitions the parser recovers', () => {
    const broken = `export const a = app.task('broken.before', (x: number) => x);
export const b = app.task('broken.body', (x: number) => { return x +; });
export const c = app.task('broken.unclosed', (y) => y;
export const d = app.task('broken.last', () => 1);
`;
    let sites: TaskDefinitionSite[] = [];
    assert.doesNotThrow(() => {
      sites = discoverInText('/p/broken.ts', broken);
    });
    const names = sites.map((s) => s.name);
    assert.ok(names.includes('broken.before'), names.join());
    assert.ok(names.includes('broken.last'), names.join());
    for (const text of ['app.task(', 'app.task(\'x\',', '}}}{{{ app.task("y", () =>', '\u0000\uffff', 'export const = = app.task']) {
      assert.doesNotThrow(() => discoverInText('/p/garbage.ts', text), text);
    }
  });

  it('finds nothing in files without tasks', () => {
    assert.deepEqual(discoverInText('/p/empty.ts', ''), []);
    assert.deepEqual(discoverInText('/p/plain.ts', 'export const x = 1;\nfunction task() { return 2; }\ntask();\n'), []);
  });

  it('counts lines as the editor does (CRLF, lone CR, U+2028 inside a string)', () => {
    const text = "const s = 'a\u2028b';\rexport const t = app.task('crlf.task',\r\n  (x: number) => x);\r\n";
    const [site] = findTypeScriptTasks('/p/crlf.ts', text);
    // U+2028 is no line break for VS Code, though it is one for the TypeScript compiler.
    assert.deepEqual(site?.range, { start: { line: 1, character: 17 }, end: { line: 2, character: 19 } });
    assert.deepEqual(site?.nameRange, { start: { line: 1, character: 26 }, end: { line: 1, character: 37 } });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Python fixtures: a Celery project `proj` written to a temporary folder, imported by real Celery.

const PY_CELERY = `from celery import Celery

app = Celery('proj')
`;

const PY_TASKS = `"""Tasks of proj, in every decorator style Celery projects use.

An example in a docstring is not a definition:

    @app.task
    def not_a_task(x):
        pass
"""
import functools
from typing import Dict, Tuple

from celery import shared_task

from proj.celery import app

celery = app  # some projects name their app \`celery\`

EXAMPLE = '@app.task'
'@app.task'
"""
@shared_task
def also_not_a_task(): ...
"""

# @app.task
# def commented_out(x): ...


def task(fn):
    """Invoke/Fabric-style \`@task\`: not Celery's."""
    return fn


def retrying(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@app.task
def add(x, y):
    return x + y


@app.task()  # called with no arguments
def ping():
    return 'pong'


@celery.task(name='proj.multiply', queue='math', priority=5)
def mul(x: int, y: int = 2) -> int:
    def helper(z):  # nested and not decorated: not a task
        return z * y

    return helper(x)


@shared_task
async def fetch(url: str, timeout: float = 1.5):
    return url


@shared_task(
    bind=True,
    name="proj.reports.build",  # a comment inside the arguments
    max_retries=3,
    default_retry_delay=1.5,
    acks_late=True,
    rate_limit='10/m',
    autoretry_for=(ConnectionError,),
    countdown=-2,
)
def build_report(
    self,
    kind: str,
    options: Dict[str, Tuple[int, int]] = {'size': (1, 2)},
    sep: str = ", ",
    fmt=lambda a, b: f"{a}, {b!r:>{10}}",
    *extra,
    notify: bool = False,
    **meta,
) -> dict:
    text = """
@app.task
def inside_a_string():
    pass
"""
    return {'kind': kind, 'text': text}


@app.task(bind=True)
@retrying
def sync(self, account_id, *, force=False):
    return account_id


@shared_task(name='proj.' 'concat')
def concatenated(a, /, b):
    return a + b


@functools.lru_cache(maxsize=2)
def cached(n):
    return n


@task
def invoke_style(c):
    return c


class Plain:
    @property
    def value(self):
        return 1


@app.task(queue='\u{1F389}', name='proj.gr\\u00fc\\u00dfe')
def grüßen(name):
    return 'hallo ' + name
`;

const PY_PACKAGE_INIT = `from proj.celery import app


@app.task
def from_init(x):
    return x
`;

describe('discovery: Python', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'radish-discovery-py-'));
    const files: Record<string, string> = {
      'proj/__init__.py': '',
      'proj/celery.py': PY_CELERY,
      'proj/tasks.py': PY_TASKS,
      'proj/billing/__init__.py': PY_PACKAGE_INIT,
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, name)), { recursive: true });
      writeFileSync(join(root, name), text);
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const EXPECTED_PROJ = [
    { name: 'proj.tasks.add', params: ['x', 'y'], options: {} },
    { name: 'proj.tasks.ping', params: [], options: {} },
    { name: 'proj.multiply', params: ['x', 'y'], options: { name: 'proj.multiply', queue: 'math', priority: 5 } },
    { name: 'proj.tasks.fetch', params: ['url', 'timeout'], options: {} },
    {
      name: 'proj.reports.build',
      params: ['kind', 'options', 'sep', 'fmt', 'notify'],
      options: { bind: true, name: 'proj.reports.build', max_retries: 3, default_retry_delay: 1.5, acks_late: true, rate_limit: '10/m', countdown: -2 },
    },
    { name: 'proj.tasks.sync', params: ['account_id', 'force'], options: { bind: true } },
    { name: 'proj.concat', params: ['a', 'b'], options: { name: 'proj.concat' } },
    { name: 'proj.grüße', params: ['name'], options: { queue: '\u{1F389}', name: 'proj.grüße' } },
  ];

  it('finds every decorator form, with Celery\'s names, params and literal options', () => {
    const sites = findPythonTasks(join(root, 'proj/tasks.py'), PY_TASKS, 'proj.tasks');
    assert.deepEqual(summary(sites), EXPECTED_PROJ);
    assert.ok(sites.every((s) => s.language === 'python'));
  });

  it('agrees with real Celery on names and parameters', function () {
    requireCelery(this);
    const celery = registeredByCelery(root, 'proj.celery', ['proj.tasks', 'proj.billing']);
    const discovered = [
      ...findPythonTasks(join(root, 'proj/tasks.py'), PY_TASKS, 'proj.tasks'),
      // What the extension's module walk gives for a package's __init__.py.
      ...findPythonTasks(join(root, 'proj/billing/__init__.py'), PY_PACKAGE_INIT, 'proj.billing.__init__'),
    ];
    assert.deepEqual(Object.fromEntries(discovered.map((s) => [s.name, s.params])), celery);
    assert.deepEqual(Object.keys(celery).sort(), discovered.map((s) => s.name).sort());
  });

  it('ranges cover the decorators through the end of the body; the name range is the name= literal or the def name', () => {
    const sites = findPythonTasks('/p/proj/tasks.py', PY_TASKS, 'proj.tasks');
    const mul = byName(sites, 'proj.multiply');
    assert.deepEqual(mul.range, { start: pos(PY_TASKS, "@celery.task(name='proj.multiply'"), end: endOf(PY_TASKS, '    return helper(x)') });
    assert.deepEqual(mul.nameRange, { start: pos(PY_TASKS, "'proj.multiply'"), end: endOf(PY_TASKS, "'proj.multiply'") });
    const add = byName(sites, 'proj.tasks.add');
    assert.deepEqual(add.range, { start: pos(PY_TASKS, '@app.task\ndef add'), end: endOf(PY_TASKS, '    return x + y') });
    assert.deepEqual(add.nameRange, { start: pos(PY_TASKS, 'add(x, y)'), end: endOf(PY_TASKS, 'def add') });
    // The multi-line string inside the body belongs to it; the body ends at the return after it.
    const report = byName(sites, 'proj.reports.build');
    assert.deepEqual(report.range, { start: pos(PY_TASKS, '@shared_task(\n    bind=True'), end: endOf(PY_TASKS, "    return {'kind': kind, 'text': text}") });
    // A two-decorator stack starts at the first decorator.
    assert.deepEqual(byName(sites, 'proj.tasks.sync').range.start, pos(PY_TASKS, '@app.task(bind=True)\n@retrying'));
    // Columns count UTF-16 units, as VS Code does: the emoji before the name is two of them.
    const gruessen = byName(sites, 'proj.grüße');
    assert.equal(gruessen.nameRange.start.character, "@app.task(queue='".length + 2 + "', name=".length);
    assert.deepEqual(gruessen.nameRange, { start: pos(PY_TASKS, "'proj.gr\\u00fc"), end: endOf(PY_TASKS, "\\u00dfe'") });
    assert.deepEqual(gruessen.range.end, endOf(PY_TASKS, "    return 'hallo ' + name"));
  });

  it('reads the Django example project like Celery does', function () {
    const projectRoot = join(ROOT, 'examples/django-celery');
    const file = join(projectRoot, 'orders/tasks.py');
    const sites = findPythonTasks(file, readFileSync(file, 'utf8'), 'orders.tasks');
    assert.deepEqual(summary(sites), [
      { name: 'orders.tasks.send_confirmation', params: ['order_id', 'email'], options: {} },
      { name: 'orders.charge', params: ['order_id', 'amount', 'failures'], options: { name: 'orders.charge', bind: true, max_retries: 3 } },
      { name: 'orders.tasks.order_total', params: ['items', 'tax_rate'], options: {} },
      { name: 'orders.tasks.build_invoice', params: ['order_id', 'seconds'], options: {} },
      { name: 'orders.tasks.fail_loudly', params: ['order_id'], options: {} },
      { name: 'orders.tasks.add_in_typescript', params: ['x', 'y'], options: {} },
    ]);
    requireCelery(this);
    const celery = registeredByCelery(projectRoot, 'shop.celery', ['orders.tasks'], { DJANGO_SETTINGS_MODULE: 'shop.settings' });
    assert.deepEqual(Object.fromEntries(sites.map((s) => [s.name, s.params])), celery);
  });

  it('names a task of a package __init__.py after the package, and defaults the module to the file name', () => {
    const init = findPythonTasks('/p/proj/billing/__init__.py', PY_PACKAGE_INIT, 'proj.billing.__init__');
    assert.deepEqual(init.map((s) => s.name), ['proj.billing.from_init']);
    assert.deepEqual(findPythonTasks('/p/proj/billing/__init__.py', PY_PACKAGE_INIT).map((s) => s.name), ['billing.from_init']);
    assert.deepEqual(findPythonTasks('/p/jobs.py', '@shared_task\ndef go():\n    pass\n').map((s) => s.name), ['jobs.go']);
  });

  it('ignores @app.task in strings, docstrings and comments, and decorators that are not Celery\'s', () => {
    const text = `x = 1
'@app.task'
"@shared_task"
'''
@app.task
def in_docstring(): pass
'''
s = ("@app.task"
     "@shared_task")
# @app.task
#@shared_task
@task
def invoke_task(c): pass
@tasks.register
def registered(): pass
@app.tasks
def plural(): pass
@app.task.something
def attribute_of_task(): pass
@shared_task
class NotAFunction: pass
def plain():
    """@app.task"""
    return '@app.task'
`;
    assert.deepEqual(findPythonTasks('/p/m.py', text, 'm'), []);
  });

  it('handles tabs, CRLF line ends, backslash continuations and one-line defs', () => {
    const text = 'class Holder:\r\n\t@app.task(queue=\\\r\n\t\t"tabs")\r\n\tdef tabbed(self_not_bound, x):\r\n\t\treturn x\r\n\r\n\t@shared_task\r\n\tdef one_liner(y): return y\r\n';
    const sites = findPythonTasks('/p/t.py', text, 't');
    assert.deepEqual(summary(sites), [
      { name: 't.tabbed', params: ['self_not_bound', 'x'], options: { queue: 'tabs' } },
      { name: 't.one_liner', params: ['y'], options: {} },
    ]);
    assert.deepEqual(sites[0]?.range, { start: { line: 1, character: 1 }, end: { line: 4, character: 10 } });
    assert.deepEqual(sites[1]?.range, { start: { line: 6, character: 1 }, end: { line: 7, character: 27 } });
  });

  it('decodes string options as Python does', () => {
    assert.equal(pythonString(String.raw`'a\tb\x41\u00e9\101\q'`), 'a\tbAé' + 'A' + '\\q');
    assert.equal(pythonString(String.raw`r'a\tb'`), String.raw`a\tb`);
    assert.equal(pythonString(`"""multi\nline"""`), 'multi\nline');
    assert.equal(pythonString(`f'{x}'`), undefined);
    assert.equal(pythonString(`b'bytes'`), undefined);
    const [site] = findPythonTasks('/p/n.py', `@app.task(name=f'{PREFIX}.x', queue=QUEUE, priority=None, serializer='json')\ndef x(): pass\n`, 'n');
    // A name Celery computes at import time cannot be read; the default name is the best answer.
    assert.equal(site?.name, 'n.x');
    assert.deepEqual(site?.options, { serializer: 'json' });
  });

  it('keeps finding tasks while a decorator is being typed (an unclosed bracket)', () => {
    const text = `@app.task(queue='q'\ndef first(a):\n    return f"{a\n\n\n@shared_task\ndef second(b):\n    return b\n`;
    const sites = findPythonTasks('/p/edit.py', text, 'edit');
    assert.deepEqual(summary(sites), [
      { name: 'edit.first', params: ['a'], options: { queue: 'q' } },
      { name: 'edit.second', params: ['b'], options: {} },
    ]);
  });

  it('finds nothing in files without tasks, and never throws on garbage', () => {
    assert.deepEqual(findPythonTasks('/p/e.py', '', 'e'), []);
    assert.deepEqual(findPythonTasks('/p/e.py', 'import os\n\ndef f(x):\n    return x\n', 'e'), []);
    for (const text of ['@', '@app.task', '@app.task\n', '@app.task\ndef', '@app.task\ndef f(', "@app.task(name='x", '"""unterminated\n@app.task\ndef f(): pass', ')))]]]\n@app.task\ndef g(): pass', '\\', 'f"{', "f'{x:{'"]) {
      assert.doesNotThrow(() => findPythonTasks('/p/g.py', text, 'g'), text);
    }
    assert.deepEqual(findPythonTasks('/p/g.py', ')))]]]\n@app.task\ndef g(): pass', 'g').map((s) => s.name), ['g.g']);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('discovery: dispatch and position lookup', () => {
  it('dispatches by file extension', () => {
    const ts = "app.task('x.y', (a) => a);";
    for (const ext of ['.ts', '.tsx', '.mts', '.cts']) assert.equal(discoverInText('/p/f' + ext, ts)[0]?.language, 'typescript', ext);
    for (const ext of ['.js', '.mjs', '.cjs', '.jsx']) assert.equal(discoverInText('/p/f' + ext, ts)[0]?.language, 'javascript', ext);
    assert.equal(discoverInText('/p/f.py', '@shared_task\ndef y(a): pass\n', 'f')[0]?.name, 'f.y');
    assert.deepEqual(discoverInText('/p/f.d.ts', ts), []);
    assert.deepEqual(discoverInText('/p/f.rb', ts), []);
    assert.equal(languageOf('/p/F.PY'), 'python');
    assert.equal(languageOf('/p/types.d.mts'), undefined);
  });

  it('finds the definition around a position, the innermost when they nest, both ends included', () => {
    const text = `export const outer = app.task('outer', () => {
  const inner = app.task('inner', (x: number) => x);
  return inner;
});
const other = 1;
`;
    const sites = findTypeScriptTasks('/p/nest.ts', text);
    assert.equal(findTaskAt(sites, 0, 21)?.name, 'outer');
    assert.equal(findTaskAt(sites, 0, 20), undefined);
    assert.equal(findTaskAt(sites, 1, 20)?.name, 'inner');
    assert.equal(findTaskAt(sites, 1, 51)?.name, 'inner');
    assert.equal(findTaskAt(sites, 1, 52)?.name, 'outer');
    assert.equal(findTaskAt(sites, 3, 2)?.name, 'outer');
    assert.equal(findTaskAt(sites, 3, 3), undefined);
    assert.equal(findTaskAt(sites, 4, 0), undefined);
    assert.equal(findTaskAt([], 0, 0), undefined);

    const py = findPythonTasks('/p/proj/tasks.py', PY_TASKS, 'proj.tasks');
    // Anywhere in a decorated function: the decorator, the signature, the nested helper's body.
    assert.equal(findTaskAt(py, pos(PY_TASKS, "@celery.task(name='proj.multiply'").line, 0)?.name, 'proj.multiply');
    assert.equal(findTaskAt(py, pos(PY_TASKS, 'return z * y').line, 10)?.name, 'proj.multiply');
    assert.equal(findTaskAt(py, pos(PY_TASKS, 'def cached').line, 4), undefined);
  });
});

describe('discovery: the arguments a call must give', () => {
  const required = (sites: TaskDefinitionSite[]) => Object.fromEntries(sites.map((s) => [s.name, [s.params.length, s.required]]));

  it('counts TypeScript parameters up to the last without a default or ?, the bound context not included', () => {
    const text = `import { Radish, type TaskContext } from 'radish';
const app = new Radish();
app.task('t.none', () => 1);
app.task('t.two', (x: number, y: number) => x + y);
app.task('t.default', (x: number, y = 2) => x + y);
app.task('t.optional', (x?: number) => x);
app.task('t.gap', (x = 1, y: number) => x + y);
app.task('t.bound', { bind: true }, (task: TaskContext, url: string, width = 128) => url + width);
`;
    assert.deepEqual(required(findTypeScriptTasks('/p/tasks.ts', text)), {
      't.none': [0, 0], 't.two': [2, 2], 't.default': [2, 1], 't.optional': [1, 0], 't.gap': [2, 2], 't.bound': [2, 1],
    });
  });

  it('counts Python parameters without a default, keyword-only ones and the bound self not included', () => {
    const text = `from celery import shared_task

@shared_task
def none():
    pass

@shared_task
def two(x, y):
    return x + y

@shared_task
def default(x, y=2):
    return x + y

@shared_task
def keyword_only(x, *, y):
    return x + y

@shared_task(bind=True)
def bound(self, url, width=128):
    return url
`;
    assert.deepEqual(required(findPythonTasks('/p/shop/tasks.py', text, 'shop.tasks')), {
      'shop.tasks.none': [0, 0], 'shop.tasks.two': [2, 2], 'shop.tasks.default': [2, 1], 'shop.tasks.keyword_only': [2, 1], 'shop.tasks.bound': [2, 1],
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Python task routes: Celery's `task_routes`, read as literals, in the runner's shape. Real Celery's router is the
// judge: it routes the same names, and the runner's router given what discovery read must agree.

/** Queue and priority per task name, as Celery's router decides them for the app `appModule` of `root`. */
function routedByCelery(root: string, appModule: string, names: string[], env: Record<string, string> = {}): Record<string, [string, number]> {
  const script = `
import importlib, json, os, sys
root, app_module, *names = sys.argv[1:]
sys.path.insert(0, root)
if os.environ.get('DJANGO_SETTINGS_MODULE'):
    import django
    django.setup()
app = importlib.import_module(app_module).app
out = {}
for name in names:
    options = app.amqp.router.route({}, name)
    out[name] = [options['queue'].name, options.get('priority') or 0]
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', script, root, appModule, ...names], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `celery routing failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, [string, number]>;
}

/** Queue and priority per task name, as the runner's router (what the extension's enqueue uses) decides them. */
function routedByRunner(table: readonly CeleryRoute[] | undefined, names: string[]): Record<string, [string, number]> {
  return Object.fromEntries(names.map((name) => {
    const { queue, priority } = new Radish({ routes: table ? routesForTask(table, name) : {}, defaultQueue: 'celery' }).route(name);
    return [name, [queue, priority]];
  }));
}

/** Every form a table takes: a tuple of maps, patterns across dots, fnmatch's ? and [!..], names, list of pairs. */
const PY_ROUTED_APP = `from celery import Celery

app = Celery('routed')
REPORTS = 'reports'
ORDERED = [
    ('billing.*', {'queue': 'billing'}),
    ('billing.refund', 'refunds'),  # an exact name, checked before the patterns of its map
    ('*', {'queue': 'fallback', 'priority': 1}),
]
app.conf.task_routes = (
    {
        'proj.tasks.*': {'queue': 'proj', 'priority': 3},
        'proj.tasks.add': 'math',  # exact: wins over the pattern before it
        'proj.*.report?': {'queue': REPORTS, 'routing_key': 'reports.x'},
        'proj.mail.[!x]*': {'queue': 'mail', 'routing_key': 'mail.send', 'exchange': 'mail'},
        'proj.odd?': 'odd',  # no *: an exact name, the ? is no wildcard here
        "proj.deep." "*": dict(queue='deep', priority=7),
    },
    ORDERED,
)
`;

const ROUTED_NAMES = [
  'proj.tasks.add', 'proj.tasks.mul', 'proj.tasks.sub.deeper', 'proj.x.report1', 'proj.x.y.reportZ', 'proj.x.report',
  'proj.mail.send', 'proj.mail.xsend', 'proj.odd?', 'proj.odd1', 'proj.deep.a.b', 'billing.refund', 'billing.charge',
  'other', 'proj',
];

describe('discovery: Python task routes', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'radish-discovery-routes-'));
    const files: Record<string, string> = {
      'routed/__init__.py': '',
      'routed/celery.py': PY_ROUTED_APP,
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, name)), { recursive: true });
      writeFileSync(join(root, name), text);
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads app.conf.task_routes: maps, tuples of maps, lists of pairs, names of this file, dict(...)', () => {
    const facts = findPythonRoutes(PY_ROUTED_APP);
    assert.deepEqual(facts.app, [
      // Celery looks a map's exact names up before its patterns.
      { key: 'proj.tasks.add', target: 'math' },
      { key: 'proj.odd?', target: 'odd' },
      { key: 'proj.tasks.*', target: { queue: 'proj', priority: 3 } },
      { key: 'proj.*.report?', target: { queue: 'reports' } },
      { key: 'proj.mail.[!x]*', target: { queue: 'mail' } },
      { key: 'proj.deep.*', target: { queue: 'deep', priority: 7 } },
      { key: 'billing.refund', target: 'refunds' },
      { key: 'billing.*', target: { queue: 'billing' } },
      { key: '*', target: { queue: 'fallback', priority: 1 } },
    ]);
    assert.deepEqual(facts.settings, []);
  });

  it('routes every name as real Celery does', function () {
    const table = projectRoutes([{ file: join(root, 'routed/celery.py'), root, facts: findPythonRoutes(PY_ROUTED_APP) }], join(root, 'routed/tasks.py'));
    const ours = routedByRunner(table, ROUTED_NAMES);
    // Written down too, so the test says something where Celery is missing.
    assert.deepEqual(ours, {
      'proj.tasks.add': ['math', 0], 'proj.tasks.mul': ['proj', 3], 'proj.tasks.sub.deeper': ['proj', 3],
      'proj.x.report1': ['reports', 0], 'proj.x.y.reportZ': ['reports', 0], 'proj.x.report': ['fallback', 1],
      'proj.mail.send': ['mail', 0], 'proj.mail.xsend': ['fallback', 1], 'proj.odd?': ['odd', 0], 'proj.odd1': ['fallback', 1],
      'proj.deep.a.b': ['deep', 7], 'billing.refund': ['refunds', 0], 'billing.charge': ['billing', 0],
      other: ['fallback', 1], proj: ['fallback', 1],
    });
    requireCelery(this);
    assert.deepEqual(ours, routedByCelery(root, 'routed.celery', ROUTED_NAMES));
  });

  it('gives a task the runner routes of its app: fnmatch\'s ? and [..], which the runner has not, decided for its name', () => {
    const table = findPythonRoutes(PY_ROUTED_APP).app ?? [];
    const routes = routesForTask(table, 'proj.x.report1');
    assert.deepEqual(routes, {
      'proj.tasks.add': 'math',
      'proj.odd?': 'odd',
      'proj.tasks.*': { queue: 'proj', priority: 3 },
      'proj.x.report1': { queue: 'reports' },
      'proj.deep.*': { queue: 'deep', priority: 7 },
      'billing.refund': 'refunds',
      'billing.*': { queue: 'billing' },
      '*': { queue: 'fallback', priority: 1 },
    });
    // The pattern that does not match this name is left out rather than misread by the runner's glob.
    assert.equal(routesForTask(table, 'proj.mail.xsend')['proj.mail.[!x]*'], undefined);
  });

  it('reads app.conf.update(task_routes=...), app.conf.update({...}), Celery(..., task_routes=...), conf[...]: the last one wins', () => {
    const update = `app = Celery('p')\napp.conf.update(\n    broker_url='redis://',\n    task_routes={'a.*': 'qa'},\n)\n`;
    assert.deepEqual(findPythonRoutes(update).app, [{ key: 'a.*', target: 'qa' }]);
    const updateDict = `app = Celery('p')\napp.conf.update({'result_expires': 10, 'task_routes': {'b.*': {'queue': 'qb'}}})\n`;
    assert.deepEqual(findPythonRoutes(updateDict).app, [{ key: 'b.*', target: { queue: 'qb' } }]);
    const ctor = `from celery import Celery\napp = Celery('p', broker='redis://', task_routes={'c': 'qc'})\n`;
    assert.deepEqual(findPythonRoutes(ctor).app, [{ key: 'c', target: 'qc' }]);
    const item = `app = celery.Celery('p')\napp.conf['task_routes'] = {'d': 'qd'}\n`;
    assert.deepEqual(findPythonRoutes(item).app, [{ key: 'd', target: 'qd' }]);
    const last = `app = Celery('p', task_routes={'x': 'first'})\napp.conf.task_routes = {'x': 'second'}\nif True:\n    app.conf.update(task_routes={'x': 'third'})\n`;
    assert.deepEqual(findPythonRoutes(last).app, [{ key: 'x', target: 'third' }]);
    // Set to something that cannot be read: the app has routes, unknown ones (they hide the settings'), none here.
    assert.deepEqual(findPythonRoutes(`from .routing import ROUTES\napp = Celery('p')\napp.conf.task_routes = ROUTES\n`).app, []);
    assert.equal(findPythonRoutes(`app = Celery('p')\napp.conf.broker_url = 'redis://'\n`).app, undefined);
  });

  it('reads settings modules: CELERY_TASK_ROUTES, a namespace of config_from_object, celeryconfig task_routes, CELERY_ROUTES', () => {
    const django = findPythonRoutes(`CELERY_BROKER_URL = 'redis://'\nCELERY_TASK_ROUTES = {\n    'orders.*': {'queue': 'orders'},\n}\nMYAPP_TASK_ROUTES = {'x': 'y'}\n`);
    assert.deepEqual(django.settings, [
      { name: 'CELERY_TASK_ROUTES', routes: [{ key: 'orders.*', target: { queue: 'orders' } }] },
      { name: 'MYAPP_TASK_ROUTES', routes: [{ key: 'x', target: 'y' }] },
    ]);
    assert.deepEqual(findPythonRoutes(`broker_url = 'redis://'\ntask_routes = {'a.*': 'qa'}\n`).settings, [{ name: 'task_routes', routes: [{ key: 'a.*', target: 'qa' }] }]);
    assert.deepEqual(findPythonRoutes(`CELERY_ROUTES = {'old.*': 'legacy'}\n`).settings, [{ name: 'CELERY_ROUTES', routes: [{ key: 'old.*', target: 'legacy' }] }]);
    // Only module-level assignments are settings.
    assert.deepEqual(findPythonRoutes(`def f():\n    task_routes = {'a': 'b'}\n`).settings, []);
    const app = findPythonRoutes(`app = Celery('p')\napp.config_from_object('django.conf:settings', namespace='MYAPP')\napp.config_from_object("proj.config.celery_settings")\n`);
    assert.deepEqual(app.namespaces, ['MYAPP']);
    assert.deepEqual(app.configModules, ['proj.config.celery_settings']);
  });

  it('skips what it cannot read literally, without failing: regex keys, routers, Queue objects, spreads', () => {
    const text = `import re
from kombu import Queue
from proj.routers import route_task

app = Celery('p')
app.conf.task_routes = [
    route_task,
    'proj.routers.route_task',
    {
        re.compile(r'(video|image)\\.tasks\\..*'): {'queue': 'media'},
        'media.tasks.*': {'queue': 'media'},
        **EXTRA,
        'video.tasks.encode': {'queue': Queue('video')},
        'video.*': {'exchange': 'media', 'routing_key': 'video'},
        'video.tasks.*': 'never-reached-for-video',
        'lambda.*': lambda name: 'q',
        f'{PREFIX}.*': 'computed',
        'plain.*': 'plain',
    },
    [(re.compile('x'), 'y'), ('pair.*', 'pairs'), 'not-a-pair'],
    {x: y for x, y in PAIRS},
]
`;
    const table = findPythonRoutes(text).app;
    assert.deepEqual(table, [
      { key: 'video.tasks.encode' },
      { key: 'media.tasks.*', target: { queue: 'media' } },
      { key: 'video.*' },
      { key: 'video.tasks.*', target: 'never-reached-for-video' },
      { key: 'lambda.*' },
      { key: 'plain.*', target: 'plain' },
      { key: 'pair.*', target: 'pairs' },
    ]);
    // A route Celery would stop at but that says no readable queue leaves the task to the default queue.
    const names = ['video.tasks.encode', 'video.tasks.cut', 'media.tasks.x', 'plain.a', 'pair.b', 'lambda.z', 'none'];
    assert.deepEqual(routedByRunner(table, names), {
      'video.tasks.encode': ['celery', 0], 'video.tasks.cut': ['celery', 0], 'media.tasks.x': ['media', 0],
      'plain.a': ['plain', 0], 'pair.b': ['pairs', 0], 'lambda.z': ['celery', 0], none: ['celery', 0],
    });
    for (const garbage of ['app.conf.task_routes = {', 'app.conf.task_routes = {"a": {"queue": ', 'app.conf.update(task_routes=', 'CELERY_TASK_ROUTES = [(', 'task_routes = ((((', 'app.conf.task_routes = {1: 2, None: 3, "k": 4}', ')))= {', 'app.conf.task_routes = {"a": "b",, "c": "d"}']) {
      assert.doesNotThrow(() => findPythonRoutes(garbage), garbage);
    }
    assert.deepEqual(findPythonRoutes('app.conf.task_routes = {1: 2, None: 3, "k": 4, "ok": "q"}').app, [{ key: 'k' }, { key: 'ok', target: 'q' }]);
  });

  it('picks the routes of the task\'s project: the deepest package root holding it, the app\'s over the settings\', none when two disagree', () => {
    const source = (file: string, sourceRoot: string, text: string): RouteSource => ({ file, root: sourceRoot, facts: findPythonRoutes(text) });
    const settings = source('/w/shop/settings.py', '/w', `CELERY_TASK_ROUTES = {'orders.*': 'orders'}\nOTHER_TASK_ROUTES = {'orders.*': 'other-ns'}\n`);
    const celery = source('/w/shop/celery.py', '/w', `app = Celery('shop')\napp.config_from_object('django.conf:settings', namespace='CELERY')\n`);
    assert.deepEqual(projectRoutes([settings, celery], '/w/orders/tasks.py'), [{ key: 'orders.*', target: 'orders' }]);
    // Another namespace counts once an app of the project reads it.
    const otherNs = source('/w/shop/celery.py', '/w', `app = Celery('shop')\napp.config_from_object('django.conf:settings', namespace='OTHER')\n`);
    assert.deepEqual(projectRoutes([source('/w/shop/settings.py', '/w', `OTHER_TASK_ROUTES = {'orders.*': 'other-ns'}\n`), otherNs], '/w/orders/tasks.py'), [{ key: 'orders.*', target: 'other-ns' }]);
    // Routes set on the app win over the settings it reads.
    const onApp = source('/w/shop/celery.py', '/w', `app = Celery('shop')\napp.conf.task_routes = {'orders.*': 'app'}\n`);
    assert.deepEqual(projectRoutes([settings, onApp], '/w/orders/tasks.py'), [{ key: 'orders.*', target: 'app' }]);
    // Routes set on the app to something unreadable hide the settings' too: no routes rather than the wrong ones.
    const unreadable = source('/w/shop/celery.py', '/w', `from .routing import ROUTES\napp = Celery('shop')\napp.conf.task_routes = ROUTES\n`);
    assert.deepEqual(projectRoutes([settings, unreadable], '/w/orders/tasks.py'), []);
    // Celery 3's CELERY_ROUTES counts only where no namespace is used (with one, Celery reads new names only).
    const old = source('/w/shop/settings.py', '/w', `CELERY_ROUTES = {'orders.*': 'legacy'}\n`);
    assert.deepEqual(projectRoutes([old], '/w/orders/tasks.py'), [{ key: 'orders.*', target: 'legacy' }]);
    assert.equal(projectRoutes([old, celery], '/w/orders/tasks.py'), undefined);
    // A task outside the project's root gets none of them.
    assert.equal(projectRoutes([settings, onApp], '/elsewhere/tasks.py'), undefined);
    // A project nested in another (its own root) uses its own routes.
    const nested = source('/w/services/billing/billing/celery.py', '/w/services/billing', `app = Celery('billing')\napp.conf.task_routes = {'*': 'billing'}\n`);
    assert.deepEqual(projectRoutes([settings, onApp, nested], '/w/services/billing/billing/tasks.py'), [{ key: '*', target: 'billing' }]);
    assert.deepEqual(projectRoutes([settings, onApp, nested], '/w/orders/tasks.py'), [{ key: 'orders.*', target: 'app' }]);
    // Two apps of one root with different routes: whose a task is cannot be told.
    const second = source('/w/jobs/celery.py', '/w', `app = Celery('jobs')\napp.conf.task_routes = {'*': 'jobs'}\n`);
    assert.equal(projectRoutes([onApp, second], '/w/orders/tasks.py'), undefined);
    // ...unless the task is in the file of one of them.
    assert.deepEqual(projectRoutes([onApp, second], '/w/jobs/celery.py'), [{ key: '*', target: 'jobs' }]);
    // A lowercase task_routes is a setting in celeryconfig.py, or in a module an app names in config_from_object.
    const celeryconfig = source('/p/celeryconfig.py', '/p', `task_routes = {'a.*': 'cfg'}\n`);
    assert.deepEqual(projectRoutes([celeryconfig], '/p/tasks.py'), [{ key: 'a.*', target: 'cfg' }]);
    const named = source('/p/proj/conf/celery_settings.py', '/p', `task_routes = {'a.*': 'named'}\n`);
    assert.equal(projectRoutes([named], '/p/proj/tasks.py'), undefined);
    const app = source('/p/proj/celery.py', '/p', `app = Celery('proj')\napp.config_from_object('proj.conf.celery_settings')\n`);
    assert.deepEqual(projectRoutes([named, app], '/p/proj/tasks.py'), [{ key: 'a.*', target: 'named' }]);
  });

  it('gives each task of a file that configures its app the routes of that app', () => {
    const text = `from celery import Celery

app = Celery('single')
app.conf.task_routes = {'single.slow*': {'queue': 'slow', 'priority': 2}, 'single.s?m*': 'short'}


@app.task
def slow_add(x, y):
    return x + y


@app.task
def fast(x):
    return x


@app.task
def sum(x):
    return x
`;
    const sites = findPythonTasks('/p/single.py', text, 'single');
    assert.deepEqual(Object.fromEntries(sites.map((s) => [s.name, s.appRoutes])), {
      'single.slow_add': { 'single.slow*': { queue: 'slow', priority: 2 } },
      'single.fast': { 'single.slow*': { queue: 'slow', priority: 2 } },
      'single.sum': { 'single.slow*': { queue: 'slow', priority: 2 }, 'single.sum': 'short' },
    });
    assert.equal(findPythonTasks('/p/plain.py', '@shared_task\ndef f(): pass\n', 'plain')[0]?.appRoutes, undefined);
  });

  it('reads the Django example\'s CELERY_TASK_ROUTES and routes as its Celery app does', function () {
    const projectRoot = join(ROOT, 'examples/django-celery');
    const sources = ['shop/settings.py', 'shop/celery.py'].map((f) => ({ file: join(projectRoot, f), root: projectRoot, facts: findPythonRoutes(readFileSync(join(projectRoot, f), 'utf8')) }));
    const table = projectRoutes(sources, join(projectRoot, 'orders/tasks.py'));
    const names = ['tasks.add', 'emails.send', 'images.resize', 'reports.build', 'orders.charge', 'orders.tasks.send_confirmation'];
    const ours = routedByRunner(table, names);
    assert.deepEqual(ours, {
      'tasks.add': ['radish', 0], 'emails.send': ['radish', 0], 'images.resize': ['radish', 0], 'reports.build': ['reports', 0],
      'orders.charge': ['celery', 0], 'orders.tasks.send_confirmation': ['celery', 0],
    });
    requireCelery(this);
    assert.deepEqual(ours, routedByCelery(projectRoot, 'shop.celery', names, { DJANGO_SETTINGS_MODULE: 'shop.settings' }));
  });
});
