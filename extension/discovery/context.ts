/**
 * The context keys that gate the editor context menu's "Enqueue with Args..." (package.json `menus.editor/context`).
 * They say which files hold task definitions, never where the cursor is: a key derived from the cursor is set after
 * the right-click has already built the menu, so the entry missed the first right-click (and lingered outside a
 * task). The command finds the task under the click itself when it runs.
 *
 * - `radish.taskFiles`: the paths (`resourcePath`) of the files with task definitions, updated with the index.
 * - `radish.tasksIndexed`: true once the first scan is done. Until then the entry shows in every file of a language
 *   discovery reads, so a right-click right after opening a file does not miss it either.
 */
import * as vscode from 'vscode';
import type { TaskIndex } from './workspace';

export function publishTaskFiles(index: TaskIndex): vscode.Disposable {
  const publish = async (): Promise<void> => {
    await vscode.commands.executeCommand('setContext', 'radish.taskFiles', index.files());
    // After the file list, so the menu never sees "indexed" with the list of before.
    if (index.indexed) await vscode.commands.executeCommand('setContext', 'radish.tasksIndexed', true);
  };
  void publish();
  return index.onDidChange(() => void publish());
}
