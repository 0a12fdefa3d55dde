/**
 * What kind of worker this workspace wants: a Radish worker on a TypeScript/JavaScript task module, or a Celery
 * worker on a Python app (`celery.py`, or a Django project whose settings package has one). Which interpreter really
 * runs it (the file PATH finds, what it says it is, which Python when none is set) is ./interpreter.ts, free of
 * VS Code so that it is tested on its own.
 */
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
 * The Python interpreter the user set (`radish.python.interpreter` in the folder, workspace or user settings), or
 * undefined when it is left at its default: then the platform's candidates are tried (interpreter.ts), since the
 * default `python3` is rarely a real Python on Windows.
 */
export function configuredPython(): string | undefined {
  const i = vscode.workspace.getConfiguration('radish').inspect<string>('python.interpreter');
  return (i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue)?.trim() || undefined;
}
