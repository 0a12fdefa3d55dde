import * as vscode from 'vscode';
import { enqueue } from '../enqueue';
import type { Services } from '../services';

/**
 * "Enqueue with args...": from a CodeLens (task name), a Tasks view item (`{ name }`), or the editor context menu
 * (no argument: the task definition around the cursor).
 */
export async function enqueueWithArgs(s: Services, target?: string | { name: string }): Promise<string | undefined> {
  let task = typeof target === 'string' ? target : target?.name;
  if (!task) {
    const editor = vscode.window.activeTextEditor;
    if (editor) task = s.tasks.at(editor.document.uri, editor.selection.active)?.name;
  }
  return enqueue(s, task ? { task } : {});
}
