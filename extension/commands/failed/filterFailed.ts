import * as vscode from 'vscode';
import type { Services } from '../../services';

/**
 * Filter the Failed view with the search query language (`exc:Timeout`, `args:order-42`, `name:emails`, bare words
 * anywhere); empty clears it. The view is shown, so the user sees what the filter did (and its "Filtered: ..." row).
 */
export async function filterFailed(s: Services, text?: string): Promise<void> {
  const value = typeof text === 'string' ? text : await vscode.window.showInputBox({
    title: 'Radish: Filter failed tasks', value: s.failed.filterText,
    prompt: 'exc:<exception type or message>, args:<part>, kwargs:<part>, result:<part>, name:<part>, id:<part>, or words found anywhere; empty shows all',
  });
  if (value === undefined) return;
  s.failed.filterText = value.trim();
  void vscode.commands.executeCommand('setContext', 'radish.failedFiltered', s.failed.filterText !== '');
  s.failed.searchAgain();
  if (s.failed.filterText) await vscode.commands.executeCommand('radish.failed.focus');
}
