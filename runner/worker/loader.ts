/**
 * Loading task modules: TypeScript straight from source (esbuild transpiles each file as Node requires it,
 * with source maps so stack traces name the .ts lines), and `import ... from 'radish'` inside them resolved
 * to this very runner, so the user installs nothing beyond Radish and the module registers on our classes.
 */
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Loader } from 'esbuild';
import { errorMessage } from '../errors';

interface LoaderOptions {
  /** Module that `require('radish')` gives task modules. Default: the file this code was bundled into. */
  radishPath?: string;
}

type CompilableModule = NodeJS.Module & { _compile(code: string, filename: string): void };
type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
const ModuleInternals = Module as unknown as { _resolveFilename: ResolveFilename; _extensions: NodeJS.RequireExtensions };

const TS_LOADERS: Record<string, Loader> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx' };
let registeredWith: string | undefined;

/**
 * esbuild, loaded on first use (commands that never load TypeScript, call and inspect, start faster without it),
 * with its sync API in one-shot mode. By default that API starts a worker thread (a V8 isolate of its own) holding
 * an esbuild service process, both alive as long as the worker: 20 MB of an idle worker's RSS, spent on files
 * compiled once at start. Stopping them afterwards leaves the service process unreaped (a zombie; its thread's
 * event loop, which would reap it, is gone). With `ESBUILD_WORKER_THREADS=0`, read once as esbuild loads, each
 * transformSync runs esbuild in a process that has exited and been reaped when the call returns: nothing is left
 * running, for a few milliseconds per TypeScript file loaded.
 */
function esbuild(): typeof import('esbuild') {
  const before = process.env.ESBUILD_WORKER_THREADS;
  process.env.ESBUILD_WORKER_THREADS = '0';
  try {
    return require('esbuild') as typeof import('esbuild');
  } finally {
    // Only esbuild's load reads it: task code and the processes it starts see the environment they were given.
    if (before === undefined) delete process.env.ESBUILD_WORKER_THREADS;
    else process.env.ESBUILD_WORKER_THREADS = before;
  }
}

/** Install the TypeScript require hook (once per process). */
export function registerLoader(options: LoaderOptions = {}): void {
  const radishPath = options.radishPath ?? __filename;
  if (registeredWith !== undefined) return;
  registeredWith = radishPath;
  process.setSourceMapsEnabled(true);
  for (const [ext, loader] of Object.entries(TS_LOADERS)) {
    ModuleInternals._extensions[ext] = (module, filename) => {
      const source = readFileSync(filename, 'utf8');
      const { code } = esbuild().transformSync(source, {
        loader, format: 'cjs', target: 'node20', sourcefile: filename, sourcemap: 'inline',
        tsconfigRaw: { compilerOptions: { experimentalDecorators: true, useDefineForClassFields: true } },
      });
      (module as CompilableModule)._compile(code, filename);
    };
  }
  ModuleInternals._extensions['.lua'] = (module, filename) => {
    module.exports = { __esModule: true, default: readFileSync(filename, 'utf8') };
  };
  const original = ModuleInternals._resolveFilename;
  ModuleInternals._resolveFilename = function resolveRadish(request, parent, isMain, opts) {
    if (request === 'radish') return radishPath;
    return original.call(this, request, parent, isMain, opts);
  };
}

/** What a task module exported, searched for the app. */
export interface LoadedModule {
  path: string;
  exports: Record<string, unknown>;
}

/** Load a task module by path (`./tasks.ts`, `src/worker.js`). ES modules load through `import()`. */
export async function loadModule(spec: string, cwd = process.cwd()): Promise<LoadedModule> {
  registerLoader();
  const path = isAbsolute(spec) ? spec : resolve(cwd, spec);
  let exports: Record<string, unknown>;
  try {
    exports = path.endsWith('.mjs') ? await import(pathToFileURL(path).href) : require(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_REQUIRE_ESM') exports = await import(pathToFileURL(path).href);
    else if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') throw moduleNotFound(err as NodeJS.ErrnoException, spec, path, cwd);
    else throw err;
  }
  return { path, exports };
}

/**
 * A task module that exists but imports one that does not: what was imported and where (the importing file, which
 * may be a module the task module imports in turn, and the line of the import), e.g.
 * `Cannot find module './helpers' (imported from tasks.ts:9)`. The extension reads that location off the worker's
 * last line to open the editor there.
 */
export class MissingImportError extends Error {
  constructor(
    /** What the import asked for, as written (`./helpers`) or, from an ES module, as resolved. */
    readonly request: string,
    /** The importing file, absolute. */
    readonly file: string,
    /** 1-based line of the import in `file`, when it could be found. */
    readonly line: number | undefined,
    cwd: string,
  ) {
    const shown = relative(cwd, file);
    const where = shown && !shown.startsWith('..') && !isAbsolute(shown) ? shown : file;
    super(`Cannot find module '${request}' (imported from ${where}${line ? `:${line}` : ''})`);
    this.name = 'MissingImportError';
  }
}

/**
 * Node's "cannot find module", told apart: the task module itself is missing only when that is what Node looked
 * for; otherwise an import inside it (or deeper) failed, and that import is the cause to name.
 */
function moduleNotFound(err: NodeJS.ErrnoException & { requireStack?: string[] }, spec: string, path: string, cwd: string): Error {
  const message = errorMessage(err);
  const request = /^Cannot find (?:module|package) '([^']+)'/.exec(message)?.[1];
  if (request === undefined || request === path || request === pathToFileURL(path).href) {
    return new Error(`cannot find task module ${spec} (looked for ${path})`);
  }
  // CommonJS names the importer first in its require stack; an ES module's error says "imported from <file>".
  const esmImporter = / imported from (.+)$/m.exec(message)?.[1];
  const file = err.requireStack?.[0] ?? (esmImporter?.startsWith('file:') ? fileURLToPath(esmImporter) : esmImporter);
  if (!file) return err;
  return new MissingImportError(request, file, importLine(err, file, request), cwd);
}

/**
 * The line of `file` that imports `request`: from the stack (source-mapped, so a TypeScript line), else the first
 * line of the source that names it in quotes (ES modules fail before any of their code runs, so no frame names them).
 */
function importLine(err: Error, file: string, request: string): number | undefined {
  for (const frame of err.stack?.split('\n') ?? []) {
    const at = frame.lastIndexOf(`${file}:`);
    const m = at >= 0 ? /^:(\d+):\d+\)?$/.exec(frame.slice(at + file.length)) : null;
    if (m) return Number(m[1]);
  }
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const names = [request, request.replace(/^.*[\\/]/, './').replace(/\.[cm]?[jt]sx?$/, '')];
  const lines = source.split('\n');
  for (const name of names) {
    const i = lines.findIndex((l) => ['\'', '"', '`'].some((q) => l.includes(`${q}${name}${q}`) || l.includes(`${q}${name}.`)));
    if (i >= 0) return i + 1;
  }
  return undefined;
}

/**
 * The app a module defines: the export named by `attr` (from `-A module:attr`), else `app`, else the default
 * export, else the one export that looks like an app.
 */
export function findApp<T>(mod: LoadedModule, isApp: (v: unknown) => v is T, attr?: string): T {
  const exp = mod.exports;
  if (attr) {
    const v = exp[attr];
    if (isApp(v)) return v;
    throw new Error(`${mod.path} has no app export named ${JSON.stringify(attr)}`);
  }
  for (const v of [exp.app, exp.default, (exp.default as Record<string, unknown> | undefined)?.app]) if (isApp(v)) return v;
  const found = Object.values(exp).filter(isApp);
  if (found.length === 1) return found[0] as T;
  throw new Error(found.length
    ? `${mod.path} exports several apps; pick one with -A ${mod.path}:<name>`
    : `${mod.path} exports no Radish app (export const app = new Radish(...))`);
}

/** Split `-A path[:export]` (a Windows drive letter, `C:\\...`, is not a separator). */
export function splitAppSpec(spec: string): [string, string | undefined] {
  const at = spec.lastIndexOf(':');
  return at > 1 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
}
