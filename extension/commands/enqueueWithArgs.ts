import * as vscode from 'vscode';
import { enqueue } from '../enqueue';
import type { Services } from '../services';
import { errorMessage } from '../../runner/errors';

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
  try {
    return await enqueue(s, task ? { task } : {});
  } catch (err) {
    void vscode.window.showErrorMessage(`Radish: could not enqueue: ${errorMessage(err)}`);
    return undefined;
  }
}
