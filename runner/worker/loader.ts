/**
 * Loading task modules: TypeScript straight from source (esbuild transpiles each file as Node requires it,
 * with source maps so stack traces name the .ts lines), and `import ... from 'radish'` inside them resolved
 * to this very runner, so the user installs nothing beyond Radish and the module registers on our classes.
 */
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
    else if (code === 'MODULE_NOT_FOUND' && errorMessage(err).includes(path)) throw new Error(`cannot find task module ${spec} (looked for ${path})`);
    else throw err;
  }
  return { path, exports };
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
