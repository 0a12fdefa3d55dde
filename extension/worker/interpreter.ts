/**
 * Which interpreter really runs the local worker: the file PATH finds (as spawn finds it), what it says it is, and,
 * when `radish.python.interpreter` is not set, which Python to use at all (`python3` is not a given: a Windows venv
 * has only `python.exe`, and python.org installs add the `py` launcher). No VS Code here: tested under mocha.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';

/** A command and the arguments that come before the worker's own (`py -3`). */
export interface Command {
  command: string;
  args: readonly string[];
}

/**
 * The Pythons to try when none is configured, in order. Windows: `python` first (a venv or conda env on PATH has
 * only `python.exe`; `python3.exe` there is usually the Microsoft Store's alias, which runs no Python), then the
 * `py -3` launcher of python.org installs, then `python3` (the Store's real Python). Elsewhere: `python3`, then
 * `python` for systems that have only that. A configured one is the only candidate.
 */
export function pythonCandidates(platform: NodeJS.Platform, configured?: string): Command[] {
  if (configured) return [{ command: configured, args: [] }];
  if (platform === 'win32') return [{ command: 'python', args: [] }, { command: 'py', args: ['-3'] }, { command: 'python3', args: [] }];
  return [{ command: 'python3', args: [] }, { command: 'python', args: [] }];
}

/** Whether `command` names a file (relative or absolute) rather than a name to look up on PATH. */
function isPath(command: string, platform: NodeJS.Platform): boolean {
  return platform === 'win32' ? /[\\/]/.test(command) : command.includes('/');
}

/**
 * The file `command` runs: the command itself when it names a path (relative to `cwd`), else the first executable
 * file of that name on the PATH of `env`. On Windows a name gets the extensions of PATHEXT (`python` ->
 * `python.exe`, or pyenv-win's `python.bat`), as cmd.exe finds it; a name without one is never run as it is.
 * Undefined when there is none.
 */
export function findExecutable(command: string, env: NodeJS.ProcessEnv, cwd: string, platform: NodeJS.Platform = process.platform): string | undefined {
  const runnable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  const windows = platform === 'win32';
  const pathExt = (env.PATHEXT ?? env.Pathext ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean);
  // As Windows runs it: a name with an extension as it is first, then with each of PATHEXT's.
  const extensions = windows ? [...(path.extname(command) ? [''] : []), ...pathExt] : [''];
  const first = (base: string) => extensions.map((ext) => base + ext).find(runnable);
  if (isPath(command, platform)) return first(path.resolve(cwd, command));
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const found = first(path.resolve(cwd, dir, command));
    if (found) return found;
  }
  return undefined;
}

/** A batch file (pyenv-win's shims): Node runs it only through cmd.exe. */
export function isBatchFile(file: string): boolean {
  return /\.(bat|cmd)$/i.test(file);
}

/**
 * The command line for `cmd.exe /d /s /c <line>` that runs `words` (a batch file and its arguments) exactly: each
 * word in double quotes, the whole in one more pair, which /s strips. Only fixed probe arguments go through here;
 * the worker itself is never started through a shell. Throws on a word that cannot be quoted for cmd.
 */
export function cmdLine(words: readonly string[]): string {
  for (const w of words) if (/["\r\n]/.test(w)) throw new Error(`cannot pass ${JSON.stringify(w)} through cmd.exe`);
  return `"${words.map((w) => `"${w}"`).join(' ')}"`;
}

export interface Interpreter {
  /** The command as configured (`python3`, `/usr/bin/python3`, `py`, `node`, VS Code's own runtime). */
  command: string;
  /** Arguments before the worker's (`-3` for `py -3`). */
  args?: readonly string[];
  /** The file that is run: the command's path, or where PATH finds it; undefined when there is none. */
  file?: string;
  /**
   * What the interpreter says it is (Python's `sys.executable`, Node's `process.execPath`): a pyenv shim or a
   * symlink names the real interpreter, a venv's python its own path.
   */
  executable?: string;
  /** `Python 3.11.2`, `Node.js v20.19.0`; undefined when it did not say within a few seconds. */
  version?: string;
}

/** What each interpreter is asked: its executable, then its version, one a line (no `"`: it may go through cmd.exe). */
const ASK: Record<'python' | 'node', string[]> = {
  python: ['-c', 'import sys; print(sys.executable); print(sys.version.split()[0])'],
  node: ['-p', "process.execPath + '\\n' + process.version"],
};

export interface DescribeOptions {
  /** Arguments before the question (`-3` for `py -3`). */
  args?: readonly string[];
  /** Default `process.platform`. */
  platform?: NodeJS.Platform;
}

/**
 * Which interpreter `command` really is, for the worker's log: found as spawn would find it (same PATH, same cwd),
 * then asked once (a few tens of ms; at most 3 s) for its own path and version. VS Code's own runtime is not asked.
 */
export async function describeInterpreter(kind: 'python' | 'node', command: string, env: NodeJS.ProcessEnv, cwd: string,
  options: DescribeOptions = {}): Promise<Interpreter> {
  const platform = options.platform ?? process.platform;
  const args = options.args ?? [];
  const given = { command, ...(args.length ? { args } : {}) };
  const file = findExecutable(command, env, cwd, platform);
  if (kind === 'node' && command === process.execPath) {
    return { ...given, file: file ?? command, executable: process.execPath, version: `Node.js ${process.version}` };
  }
  if (!file) return given;
  const [program, argv, verbatim] = platform === 'win32' && isBatchFile(file)
    ? [env.ComSpec ?? env.COMSPEC ?? 'cmd.exe', ['/d', '/s', '/c', cmdLine([file, ...args, ...ASK[kind]])], true]
    : [file, [...args, ...ASK[kind]], false];
  const out = await new Promise<string>((resolve) => {
    execFile(program, argv, { cwd, env, timeout: 3000, windowsHide: true, windowsVerbatimArguments: verbatim },
      (err, stdout) => resolve(err ? '' : String(stdout)));
  });
  const [executable, version] = out.trim().split(/\r?\n/);
  return {
    ...given, file,
    ...(executable ? { executable } : {}),
    ...(version ? { version: `${kind === 'python' ? 'Python' : 'Node.js'} ${version}` } : {}),
  };
}

/**
 * The first of `candidates` that runs and says what it is; when none does, the first one as far as it was found
 * (its log line then says it is missing, and starting it reports the error).
 */
export async function resolveInterpreter(kind: 'python' | 'node', candidates: readonly Command[], env: NodeJS.ProcessEnv, cwd: string,
  platform: NodeJS.Platform = process.platform): Promise<Interpreter> {
  let fallback: Interpreter | undefined;
  for (const c of candidates) {
    const i = await describeInterpreter(kind, c.command, env, cwd, { args: c.args, platform });
    if (i.executable) return i;
    fallback ??= i;
  }
  return fallback ?? { command: candidates[0]?.command ?? kind };
}

/**
 * What to start for interpreter `i`. On Windows, the file the interpreter named itself (`sys.executable`) when it
 * did: a real .exe, so a `.bat` shim needs no shell and `py -3` no launcher in between. Elsewhere the command as
 * given (a pyenv shim keeps choosing by `.python-version`).
 */
export function launchCommand(i: Interpreter, platform: NodeJS.Platform = process.platform): Command {
  if (platform === 'win32' && i.executable) return { command: i.executable, args: [] };
  return { command: i.command, args: i.args ?? [] };
}

/**
 * One line for the log: the interpreter by its absolute path and version, and how it was found when that is not
 * plain (`Interpreter: /root/.pyenv/versions/3.11.7/bin/python3 (Python 3.11.7), started as
 * /root/.pyenv/shims/python3, python3 on PATH`).
 */
export function interpreterLine(i: Interpreter): string {
  const named = [i.command, ...(i.args ?? [])].join(' ');
  if (!i.file) {
    return `Interpreter: ${named} not found (${/[\\/]/.test(i.command) ? 'no such executable file' : 'not on PATH'})`;
  }
  const shown = i.executable ?? i.file;
  const how = [
    ...(shown !== i.file ? [`started as ${i.file}`] : []),
    ...(i.command !== i.file && !path.isAbsolute(i.command) ? [`${named} on PATH`] : []),
  ];
  return `Interpreter: ${shown} (${i.version ?? 'version unknown'})${how.length ? `, ${how.join(', ')}` : ''}`;
}
