/**
 * The recent failures, where the user is looking (the status bar's failure count, a burst notification's "Show
 * Failures", the palette): a quick pick of the failed tasks in the history, newest first, each with its exception,
 * an Open button and a Retry button. Choosing one opens it. The Tasks view is left as it was.
 */
import * as vscode from 'vscode';
import type { TaskRecord } from '../../../runner/index';
import type { Services } from '../../services';
import { ago } from '../../views/items';

/** How many failures the list reads from the history. */
const LIMIT = 100;

const OPEN: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('go-to-file'), tooltip: 'Open' };
const RETRY: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('debug-rerun'), tooltip: 'Retry' };

interface FailureItem extends vscode.QuickPickItem {
  record: TaskRecord;
}

function itemOf(record: TaskRecord): FailureItem {
  const when = record.failed ?? record.updated;
  return {
    label: `$(error) ${record.name ?? record.id}`,
    description: [record.id.slice(0, 8), record.hostname, when ? ago(when) : undefined].filter(Boolean).join(' · '),
    detail: record.exception ?? 'no exception was reported',
    buttons: [OPEN, RETRY],
    record,
  };
}

export async function showFailures(s: Services): Promise<void> {
  const monitor = await s.live.ensure();
  if (!monitor) throw new Error(`cannot read the task history: ${s.live.connectionError ?? s.live.startError ?? 'not connected'}`);
  const pick = vscode.window.createQuickPick<FailureItem>();
  pick.title = 'Radish: Recent failures';
  pick.placeholder = 'Choose a failed task to open it; its buttons open or retry it';
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  pick.busy = true;
  pick.show();
  const node = (record: TaskRecord) => ({ kind: 'record' as const, record });
  const done = new Promise<void>((resolve) => {
    pick.onDidHide(() => resolve());
    pick.onDidAccept(() => {
      const chosen = pick.selectedItems[0];
      pick.hide();
      if (chosen) void vscode.commands.executeCommand('radish.openTask', node(chosen.record));
    });
    pick.onDidTriggerItemButton(({ item, button }) => {
      pick.hide();
      if (button === OPEN) void vscode.commands.executeCommand('radish.openTask', node(item.record));
      // Through the command, so it reports as every command does (and counts as the user's retry).
      else void vscode.commands.executeCommand('radish.retryTask', node(item.record));
    });
  });
  try {
    const records = await monitor.history.recent({ limit: LIMIT, filter: { state: 'FAILURE' } });
    pick.items = records.map(itemOf);
    if (records.length === 0) pick.placeholder = 'No failed task in the history';
  } finally {
    pick.busy = false;
  }
  await done;
  pick.dispose();
}
