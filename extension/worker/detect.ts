/**
 * What kind of worker this workspace wants: a Radish worker on a TypeScript/JavaScript task module, or a Celery
 * worker on a Python app (`celery.py`, or a Django project whose settings package has one); and which interpreter
 * really runs it (the file PATH finds, and what it says it is).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export type WorkerPlan =
  | { kind: 'typescript'; module: string; cwd: string }
  | { kind: 'python'; app: string; cwd: string }
  /** Nothing to run: `folder` is the workspace folder that has no task module, undefined when no folder is open. */
  | { kind: 'none'; reason: string; folder?: vscode.Uri };

const EXCLUDE = '{**/node_modules/**,**/dist/**,**/out/**,**/.git/**,**/__pycache__/**}';

async function read(uri: vscode.Uri): Promise<string> {
  return Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
}

/** Detect (or take from settings) what the local worker runs. */
export async function planWorker(): Promise<WorkerPlan> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return { kind: 'none', reason: 'Open a folder first: the worker runs the tasks of a workspace.' };
  const config = vscode.workspace.getConfiguration('radish');
  const kind = config.get<string>('worker.kind') ?? 'auto';
  const configured = config.get<string>('worker.app')?.trim();
  const root = folder.uri.fsPath;
  if (configured) {
    const isPython = kind === 'python' || (kind === 'auto' && !/\.[cm]?[jt]sx?(:|$)/.test(configured));
    return isPython ? { kind: 'python', app: configured, cwd: root } : { kind: 'typescript', module: configured, cwd: root };
  }
  if (kind !== 'python') {
    const candidates = await vscode.workspace.findFiles('**/*.{ts,mts,cts,js,mjs,cjs}', EXCLUDE, 400);
    for (const uri of candidates.sort((a, b) => a.fsPath.length - b.fsPath.length)) {
      if (uri.fsPath.endsWith('.d.ts')) continue;
      const text = await read(uri);
      if (/new\s+Radish\s*\(/.test(text)) return { kind: 'typescript', module: vscode.workspace.asRelativePath(uri, false), cwd: root };
    }
  }
  if (kind !== 'typescript') {
    const celeryFiles = await vscode.workspace.findFiles('**/celery.py', EXCLUDE, 20);
    for (const uri of celeryFiles.sort((a, b) => a.fsPath.length - b.fsPath.length)) {
      if (!/Celery\s*\(/.test(await read(uri))) continue;
      // `-A shop` for shop/celery.py, run from the folder that contains the package.
      const pkgDir = vscode.Uri.joinPath(uri, '..');
      const cwd = vscode.Uri.joinPath(pkgDir, '..').fsPath;
      return { kind: 'python', app: pkgDir.path.split('/').pop() ?? 'celery', cwd };
    }
  }
  // Plain text: a notification shows it, and notifications render no Markdown but links.
  return {
    kind: 'none',
    folder: folder.uri,
    reason: 'No task module in this folder (a .ts or .js file with new Radish(...), or a Celery app). Create one with an example task, or set Worker: App in the settings to yours.',
  };
}

/**
 * The file `command` runs, as spawn finds it: the command itself when it names a path (relative to `cwd`), else the
 * first executable file of that name on the PATH of `env`. Undefined when there is none.
 */
export function findExecutable(command: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const runnable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/') || command.includes(path.sep)) {
    const file = path.resolve(cwd, command);
    return runnable(file) ? file : undefined;
  }
  const extensions = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';')] : [''];
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of extensions) {
      const file = path.resolve(cwd, dir, command + ext);
      if (runnable(file)) return file;
    }
  }
  return undefined;
}

export interface Interpreter {
  /** The command as configured (`python3`, `/usr/bin/python3`, `node`, VS Code's own runtime). */
  command: string;
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

/** What each interpreter is asked: its executable, then its version, one a line. */
const ASK: Record<'python' | 'node', string[]> = {
  python: ['-c', 'import sys; print(sys.executable); print(sys.version.split()[0])'],
  node: ['-p', 'process.execPath + "\\n" + process.version'],
};

/**
 * Which interpreter `command` really is, for the worker's log: found as spawn would find it (same PATH, same cwd),
 * then asked once (a few tens of ms; at most 3 s) for its own path and version. VS Code's own runtime is not asked.
 */
export async function describeInterpreter(kind: 'python' | 'node', command: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Interpreter> {
  const file = findExecutable(command, env, cwd);
  if (kind === 'node' && command === process.execPath) {
    return { command, file: file ?? command, executable: process.execPath, version: `Node.js ${process.version}` };
  }
  if (!file) return { command };
  const out = await new Promise<string>((resolve) => {
    execFile(file, ASK[kind], { cwd, env, timeout: 3000, windowsHide: true }, (err, stdout) => resolve(err ? '' : String(stdout)));
  });
  const [executable, version] = out.trim().split(/\r?\n/);
  return {
    command, file,
    ...(executable ? { executable } : {}),
    ...(version ? { version: `${kind === 'python' ? 'Python' : 'Node.js'} ${version}` } : {}),
  };
}

/**
 * One line for the log: the interpreter by its absolute path and version, and how it was found when that is not
 * plain (`Interpreter: /root/.pyenv/versions/3.11.7/bin/python3 (Python 3.11.7), started as
 * /root/.pyenv/shims/python3, python3 on PATH`).
 */
export function interpreterLine(i: Interpreter): string {
  if (!i.file) {
    return `Interpreter: ${i.command} not found (${i.command.includes('/') || i.command.includes(path.sep) ? 'no such executable file' : 'not on PATH'})`;
  }
  const shown = i.executable ?? i.file;
  const how = [
    ...(shown !== i.file ? [`started as ${i.file}`] : []),
    ...(i.command !== i.file && !path.isAbsolute(i.command) ? [`${i.command} on PATH`] : []),
  ];
  return `Interpreter: ${shown} (${i.version ?? 'version unknown'})${how.length ? `, ${how.join(', ')}` : ''}`;
}
