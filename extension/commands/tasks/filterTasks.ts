import * as vscode from 'vscode';
import type { Services } from '../../services';

/**
 * Filter the Tasks view with the search query language (`args:order-42`, `exc:Timeout`, `kwargs:`, `result:`,
 * `name:emails state:FAILURE`, `id:6f1c`, bare words anywhere); empty clears it. The view is shown, so the user sees
 * what the filter did (and its "Filtered: ..." row).
 */
export async function filterTasks(s: Services, text?: string): Promise<void> {
  const value = typeof text === 'string' ? text : await vscode.window.showInputBox({
    title: 'Radish: Filter tasks', value: s.taskView.filterText,
    prompt: 'args:<part>, kwargs:<part>, result:<part>, exc:<exception>, name:<part>, state:FAILURE (SENT, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED), id:<part>, or words found anywhere; empty shows all',
  });
  if (value === undefined) return;
  s.taskView.filterText = value.trim();
  void vscode.commands.executeCommand('setContext', 'radish.tasksFiltered', s.taskView.filterText !== '');
  s.taskView.searchAgain();
  if (s.taskView.filterText) await vscode.commands.executeCommand('radish.tasks.focus');
}
