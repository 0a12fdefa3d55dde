/**
 * Loading task modules: TypeScript straight from source, transpiled file by file as Node requires it, and
 * `import ... from 'radish'` inside them resolved to this very runner, so the user installs nothing beyond Radish and
 * the module registers on our classes.
 *
 * The transpiler is sucrase: plain JavaScript shipped with this runner and loaded when the first TypeScript module
 * does, so the loader works wherever Node does (every OS and CPU VS Code runs on, musl too) with no native binary and
 * nothing left running, at about a millisecond a file once warm. What it wrote is kept per content
 * (./transpile-cache.ts), so a restart on unchanged modules does not load it at all. It keeps every line where it was,
 * so stack traces name the .ts lines (the inline source map adds the columns). It transpiles what task modules use:
 * type syntax, enums (const enums too, as plain enums), parameter properties, `import type`, ES imports and exports (to
 * CommonJS), JSX in .tsx. Class fields, `import()` and the rest of modern JavaScript are left to Node as written. What
 * it cannot run, each a clear error naming the line: top-level await (the module is CommonJS), decorators, namespaces
 * holding values, and syntax the running Node lacks (`using`, `accessor`).
 */
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { errorMessage } from '../errors';
import { VERSION } from '../version';
import { releaseSucrase, sucrase, type Sucrase } from '../on-demand/load';
import { resolveApiFrom } from '../telemetry/otel-api';
import { TranspileCache, transpileCacheDir } from './transpile-cache';

interface LoaderOptions {
  /** Module that `require('radish')` gives task modules. Default: the file this code was bundled into. */
  radishPath?: string;
}

/** What `import ... from` names Radish: its npm package, and the short name the examples and older projects use. */
export const RADISH_IMPORTS: readonly string[] = ['@radish-queue/radish', 'radish'];

/** Sucrase's version, set at build time (esbuild `define`), so a transpiler upgrade never reads older output. */
declare const RADISH_SUCRASE_VERSION: string | undefined;
const SUCRASE_VERSION = typeof RADISH_SUCRASE_VERSION === 'string' ? RADISH_SUCRASE_VERSION : 'dev';

type CompilableModule = NodeJS.Module & { _compile(code: string, filename: string): void };
type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
const ModuleInternals = Module as unknown as { _resolveFilename: ResolveFilename; _extensions: NodeJS.RequireExtensions };

const TS_TRANSFORMS: Record<string, Sucrase.Transform[]> = {
  '.ts': ['typescript', 'imports'], '.mts': ['typescript', 'imports'], '.cts': ['typescript', 'imports'],
  '.tsx': ['typescript', 'imports', 'jsx'],
};
/** TypeScript's own rule: an import of `./x.js` from TypeScript means `./x.ts` (or .tsx) until it is compiled. */
const TS_TWINS: Record<string, string[]> = { '.js': ['.ts', '.tsx'], '.jsx': ['.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'] };
let registeredWith: string | undefined;

/** Install the TypeScript require hook (once per process). */
export function registerLoader(options: LoaderOptions = {}): void {
  const radishPath = options.radishPath ?? __filename;
  if (registeredWith !== undefined) return;
  registeredWith = radishPath;
  process.setSourceMapsEnabled(true);
  const cache = new TranspileCache(`radish ${VERSION}, sucrase ${SUCRASE_VERSION}`, transpileCacheDir());
  for (const [ext, transforms] of Object.entries(TS_TRANSFORMS)) {
    ModuleInternals._extensions[ext] = (module, filename) => {
      const source = readFileSync(filename, 'utf8');
      const code = cache.get(source, filename, transforms, () => transpile(source, filename, transforms));
      try {
        (module as CompilableModule)._compile(code, filename);
      } catch (err) {
        throw unrunnableSyntax(err, code, source, filename) ?? err;
      }
    };
  }
  ModuleInternals._extensions['.lua'] = (module, filename) => {
    module.exports = { __esModule: true, default: readFileSync(filename, 'utf8') };
  };
  const original = ModuleInternals._resolveFilename;
  ModuleInternals._resolveFilename = function resolveRadish(request, parent, isMain, opts) {
    if (RADISH_IMPORTS.includes(request)) return radishPath;
    try {
      return original.call(this, request, parent, isMain, opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      for (const twin of tsTwins(request, parent)) {
        try {
          return original.call(this, twin, parent, isMain, opts);
        } catch {
          // not this one either; the error names the import as written
        }
      }
      throw err;
    }
  };
}

function transpile(source: string, filename: string, transforms: Sucrase.Transform[]): string {
  const line = valueNamespaceLine(source);
  if (line !== undefined) {
    throw new SyntaxError(`${filename}:${line}: a namespace holding values is not supported in a task module (Radish's `
      + 'TypeScript loader would drop it); export its members from the module, or an object');
  }
  const { code, sourceMap } = sucrase().transform(source, {
    transforms,
    filePath: filename,
    // Node 20 runs today's JavaScript as written: class fields stay fields (TypeScript's semantics for ES2022, and
    // tsc's default there), and what Node cannot run fails loudly instead of being rewritten or dropped.
    disableESTransforms: true,
    // import() stays import(), as tsc and esbuild leave it for Node: it loads ES modules too.
    preserveDynamicImport: true,
    production: true,
    sourceMapOptions: { compiledFilename: filename },
  });
  // A file URL, not a path: Node resolves `sources` as URLs, and `C:\...` would read as a URL scheme.
  const map = JSON.stringify({ ...sourceMap, sources: [pathToFileURL(filename).href] });
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(map).toString('base64')}`;
}

/** Candidates for a relative `.js` (.jsx, .mjs, .cjs) import from a TypeScript file that found no such file. */
function tsTwins(request: string, parent: unknown): string[] {
  const from = (parent as { filename?: unknown } | null | undefined)?.filename;
  if (typeof from !== 'string' || !/\.[cm]?tsx?$/.test(from) || !/^\.\.?[\\/]/.test(request)) return [];
  const ext = /\.[cm]?jsx?$/.exec(request)?.[0];
  return ext ? (TS_TWINS[ext] ?? []).map((twin) => request.slice(0, -ext.length) + twin) : [];
}

const NAMESPACE_START = /^[ \t]*(?:export[ \t]+)?(?:namespace|module)[ \t]+[A-Za-z_$][\w$.]*[ \t]*\{/m;

/**
 * The line of the first namespace (or `module X {}`) that holds values. Sucrase treats every namespace as types and
 * leaves it out, which is right for type-only ones and silently wrong for the others: those are refused instead.
 * Only sources with something like a namespace are parsed a second time.
 */
function valueNamespaceLine(source: string): number | undefined {
  if (!NAMESPACE_START.test(source)) return undefined;
  const { parse, TokenType: T, ContextualKeyword: K } = sucrase();
  const values = new Set([T._const, T._let, T._var, T._function, T._class, T._enum]);
  const { tokens } = parse(source, false, true, false);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!t.isType || (t.contextualKeyword !== K._namespace && t.contextualKeyword !== K._module)) continue;
    if (tokens[i - 1]?.type === T._declare || tokens[i + 1]?.type !== T.name) continue;
    let depth = 0;
    for (let j = i + 2; j < tokens.length; j++) {
      const type = tokens[j]!.type;
      if (type === T.braceL) depth++;
      else if (type === T.braceR && --depth === 0) break;
      else if (values.has(type) && tokens[j - 1]?.type !== T._declare) return source.slice(0, t.start).split('\n').length;
    }
  }
  return undefined;
}

/**
 * When a transpiled module fails to compile (not to run): a SyntaxError naming the .ts file and line, with the reason
 * when it is one of the known limits. Node's own message names no file, and for top-level await it talks of ES module
 * graphs (Node >= 20.19 retries such a file as an ES module).
 */
function unrunnableSyntax(err: unknown, code: string, source: string, filename: string): SyntaxError | undefined {
  if (!(err instanceof SyntaxError) && (err as NodeJS.ErrnoException | undefined)?.code !== 'ERR_REQUIRE_ASYNC_MODULE') return undefined;
  let compileError: unknown;
  try {
    new Script(Module.wrap(code), { filename });
    return undefined; // it compiles: the error came from running it, or from a module it imports
  } catch (e) {
    compileError = e;
  }
  if (!(compileError instanceof SyntaxError)) return undefined;
  const line = Number(new RegExp(`^${escapeRegExp(filename)}:(\\d+)`).exec(compileError.stack ?? '')?.[1]) || undefined;
  const text = line ? source.split('\n')[line - 1] ?? '' : '';
  const reason = /await is only valid/.test(compileError.message)
    ? 'top-level await is not supported in a TypeScript task module, which loads as CommonJS: await inside a function'
    : /(^|[\s(])@[A-Za-z_$]/.test(text) ? 'decorators are not supported by Radish\'s TypeScript loader'
      : /\busing\s+[A-Za-z_$]/.test(text) ? `\`using\` declarations are not supported by Node ${process.version}`
        : /\baccessor\s+[A-Za-z_$#[]/.test(text) ? `\`accessor\` fields are not supported by Node ${process.version}`
          : compileError.message;
  return new SyntaxError(`${filename}${line ? `:${line}` : ''}: ${reason}`, { cause: err });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  // Radish's tracing uses the application's own @opentelemetry/api, resolved from its task module (an optional peer).
  resolveApiFrom(path);
  let exports: Record<string, unknown>;
  try {
    exports = path.endsWith('.mjs') ? await import(pathToFileURL(path).href) : require(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_REQUIRE_ESM') exports = await import(pathToFileURL(path).href);
    else if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') throw moduleNotFound(err as NodeJS.ErrnoException, spec, path, cwd);
    else throw err;
  } finally {
    releaseSucrase();
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
