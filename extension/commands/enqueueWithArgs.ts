import * as vscode from 'vscode';
import { enqueue, type EnqueueRequest } from '../enqueue';
import type { Services } from '../services';

/** What VS Code passes: a task name (CodeLens), a Tasks view definition node, the document's URI (editor context menu). */
export type Target = string | { name: string } | { site: { name: string } } | vscode.Uri;

/**
 * "Enqueue with Args...": the whole flow for one task. From a CodeLens or a Tasks view row, that task. From the editor
 * context menu (or the palette), the task under the cursor, read from the document as it is when the command runs:
 * VS Code has moved the cursor to the right-click by then, and no context key has to have caught up. Outside any
 * task, a pick of this file's tasks; in a file without tasks, of every task.
 */
export async function enqueueWithArgs(s: Services, target?: Target): Promise<string | undefined> {
  return enqueue(s, await targetRequest(s, target));
}

/** Which task a command was invoked for (see {@link enqueueWithArgs}): the task, this file's tasks, or any. */
export async function targetRequest(s: Services, target?: Target): Promise<EnqueueRequest> {
  const task = typeof target === 'string' ? target
    : target && 'site' in target ? target.site.name
    : target && 'name' in target && typeof target.name === 'string' ? target.name
    : undefined;
  if (task) return { task };
  const editor = editorOf(target instanceof vscode.Uri ? target : undefined);
  if (!editor) return {};
  const sites = await s.tasks.ofDocument(editor.document);
  const site = s.tasks.around(sites, editor.selection.active);
  if (site) return { task: site.name };
  return sites.length ? { file: editor.document.uri.fsPath } : {};
}

/** The editor showing `uri` (the one the menu was opened on), else the active one. */
function editorOf(uri: vscode.Uri | undefined): vscode.TextEditor | undefined {
  const active = vscode.window.activeTextEditor;
  if (!uri || active?.document.uri.toString() === uri.toString()) return active;
  return vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString()) ?? active;
}
