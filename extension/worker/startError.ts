/**
 * Why the local worker did not start, and the one notification that says so with the next step: the real cause in
 * one line, and the buttons that fix it (trust the workspace, create or point at a task module, open the failing
 * line, show the log). Every way of starting a worker (Start, Restart, Restart after a crash) reports through here.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';

/** A place in the user's code: the file (absolute) and its 1-based line, and what to select on that line. */
export interface SourceLocation {
  file: string;
  line: number;
  /** Shown on the button: `tasks.ts:9`, relative to the worker's folder. */
  label: string;
  /** Text on that line to select (the import's module name), when known. */
  select?: string;
}

/** What the user can do about it. */
export type StartFix =
  | { kind: 'trust' }
  | { kind: 'openFolder' }
  | { kind: 'taskModule'; root: vscode.Uri }
  /** RabbitMQ without a result backend: set one. */
  | { kind: 'resultBackend' }
  | { kind: 'log'; location?: SourceLocation };

export class WorkerStartError extends Error {
  constructor(message: string, readonly fix: StartFix) {
    super(message);
    this.name = 'WorkerStartError';
  }
}

/** The file name offered for a new task module: tasks.ts, unless the folder has one (without an app) already. */
const TEMPLATE_NAMES = ['tasks.ts', 'radish-tasks.ts'];

const TEMPLATE = `/**
 * Radish tasks: each app.task(name, fn) is a task the worker runs. Start the worker with
 * "Radish: Start Worker", then send it a task with "Radish: Enqueue Task...".
 *
 * The worker started from VS Code runs this file as it is; \`npm install @radish-queue/radish\`
 * gives the editor its types.
 */
import { Radish } from '@radish-queue/radish';

// Its broker: the "radish.brokerUrl" setting (and "radish.resultBackendUrl"), when the worker is started from VS Code.
export const app = new Radish();

export const add = app.task('tasks.add', (x: number, y: number) => x + y);
`;

/**
 * The last line of the worker's output that says why it stopped, and where in the user's code, if it says: Radish's
 * CLI prints one line, `radish: <cause>` (a missing import ends with `(imported from <file>:<line>)`); Celery prints
 * a traceback whose last line is the exception and whose frames name the user's files.
 */
export function startupCause(tail: readonly string[], cwd: string): { cause: string | undefined; location: SourceLocation | undefined } {
  const lines = tail.map((l) => l.trim()).filter(Boolean);
  const radish = [...lines].reverse().find((l) => l.startsWith('radish: '));
  if (radish) {
    const cause = radish.replace(/^radish: (error: )?/, '');
    const m = / \(imported from (.+):(\d+)\)$/.exec(cause);
    const request = /^Cannot find (?:module|package) '([^']+)'/.exec(cause)?.[1];
    return { cause, location: m ? locate(m[1]!, Number(m[2]), cwd, request) : undefined };
  }
  const exception = [...lines].reverse().find((l) => /^([\w.]+(Error|Exception)|Error): /.test(l));
  let location: SourceLocation | undefined;
  for (const l of lines) {
    const frame = /^File "(.+)", line (\d+)/.exec(l);
    if (frame && isInside(path.resolve(cwd, frame[1]!), cwd)) location = locate(frame[1]!, Number(frame[2]), cwd);
  }
  return { cause: exception, location };
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function locate(file: string, line: number, cwd: string, select?: string): SourceLocation {
  const absolute = path.resolve(cwd, file);
  const label = `${isInside(absolute, cwd) ? path.relative(cwd, absolute) : path.basename(absolute)}:${line}`;
  return { file: absolute, line, label, select };
}

/** The next-step buttons, in the order shown. */
function actions(fix: StartFix, taskModuleName: string | undefined): string[] {
  switch (fix.kind) {
    case 'trust': return ['Manage Workspace Trust'];
    case 'openFolder': return ['Open Folder'];
    case 'taskModule': return [...(taskModuleName ? [`Create ${taskModuleName}`] : []), 'Open Settings'];
    case 'resultBackend': return ['Set Result Backend URL'];
    case 'log': return ['Show Log', ...(fix.location ? [`Open ${fix.location.label}`] : [])];
  }
}

async function freeName(root: vscode.Uri): Promise<string | undefined> {
  for (const name of TEMPLATE_NAMES) {
    const exists = await vscode.workspace.fs.stat(vscode.Uri.joinPath(root, name)).then(() => true, () => false);
    if (!exists) return name;
  }
  return undefined;
}

/** Open `location` in an editor, the import's module name selected (or the line's start). */
export async function openLocation(location: SourceLocation): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(location.file));
  const line = Math.min(Math.max(location.line - 1, 0), doc.lineCount - 1);
  const text = doc.lineAt(line).text;
  const at = location.select ? text.indexOf(location.select) : -1;
  const range = at >= 0 ? new vscode.Range(line, at, line, at + location.select!.length) : new vscode.Range(line, 0, line, 0);
  await vscode.window.showTextDocument(doc, { selection: range, preview: false });
}

async function createTaskModule(root: vscode.Uri, name: string): Promise<void> {
  const uri = vscode.Uri.joinPath(root, name);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(TEMPLATE, 'utf8'));
  await vscode.window.showTextDocument(uri, { preview: false });
  const choice = await vscode.window.showInformationMessage(`Radish: Created ${name} with an example task (tasks.add). Start the worker to run it.`, 'Start Worker');
  if (choice === 'Start Worker') await vscode.commands.executeCommand('radish.startWorker');
}

/**
 * The notification for a worker that did not start (not awaited by callers: a notification left open must not
 * keep a command running), and what its buttons do.
 */
export async function reportStartError(err: WorkerStartError, log: vscode.LogOutputChannel): Promise<void> {
  const fix = err.fix;
  const taskModuleName = fix.kind === 'taskModule' ? await freeName(fix.root) : undefined;
  const message = fix.kind === 'log' ? `Radish worker cannot start: ${err.message}` : `Radish: ${err.message}`;
  const offered = actions(fix, taskModuleName);
  const choice = await vscode.window.showErrorMessage(message, ...offered);
  if (choice === undefined) return;
  if (choice === 'Show Log') log.show();
  else if (choice === 'Manage Workspace Trust') await vscode.commands.executeCommand('workbench.trust.manage');
  else if (choice === 'Open Folder') await vscode.commands.executeCommand('workbench.action.files.openFolder');
  else if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'radish.worker.app');
  else if (choice === 'Set Result Backend URL') await vscode.commands.executeCommand('radish.setResultBackendUrl');
  else if (fix.kind === 'taskModule' && taskModuleName) await createTaskModule(fix.root, taskModuleName);
  else if (fix.kind === 'log' && fix.location) await openLocation(fix.location);
}
