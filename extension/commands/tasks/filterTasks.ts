import * as vscode from 'vscode';
import type { Services } from '../../services';

/**
 * Filter the Tasks view by name, state or id (`emails state:FAILURE`, `id:6f1c`); empty clears it. The view is shown,
 * so the user sees what the filter did (and its "Filtered: ..." row).
 */
export async function filterTasks(s: Services, text?: string): Promise<void> {
  const value = typeof text === 'string' ? text : await vscode.window.showInputBox({
    title: 'Radish: Filter tasks', value: s.taskView.filterText,
    prompt: 'Part of a task name, state:FAILURE (SENT, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED), id:<part of an id>; empty shows all',
  });
  if (value === undefined) return;
  s.taskView.filterText = value.trim();
  void vscode.commands.executeCommand('setContext', 'radish.tasksFiltered', s.taskView.filterText !== '');
  s.taskView.refresh();
  if (s.taskView.filterText) await vscode.commands.executeCommand('radish.tasks.focus');
}
