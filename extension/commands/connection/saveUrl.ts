/**
 * Saving a connection URL setting where the user says: the workspace's settings are .vscode/settings.json, often
 * committed with the project, so that is the user's choice, not a default. Shared by Set Broker URL and Set Result
 * Backend URL.
 */
import * as vscode from 'vscode';

interface TargetPick extends vscode.QuickPickItem {
  target: vscode.ConfigurationTarget;
  where: string;
}

/** Where the URL is saved; without a workspace, the user settings (the only place there is). */
export async function askTarget(what: string): Promise<TargetPick | undefined> {
  const user: TargetPick = {
    label: 'User Settings', description: 'only you, in every workspace', target: vscode.ConfigurationTarget.Global, where: 'your user settings',
  };
  if (!vscode.workspace.workspaceFolders?.length) return user;
  const workspace: TargetPick = {
    label: 'Workspace Settings', description: '.vscode/settings.json: everyone who opens this project, if it is committed',
    target: vscode.ConfigurationTarget.Workspace, where: 'the workspace settings (.vscode/settings.json)',
  };
  return vscode.window.showQuickPick([workspace, user], { title: `Radish: Save the ${what} where?`, ignoreFocusOut: true });
}

/**
 * Save `value` as `radish.<key>` in `target` (an empty value removes it), dropping the deprecated `replaces` settings
 * there (the new one now says it). Returns what to add to the "saved" message when a workspace value that wins over
 * the user's is left in place.
 */
export async function saveUrl(key: string, value: string, target: vscode.ConfigurationTarget, replaces: readonly string[] = []): Promise<string> {
  const config = vscode.workspace.getConfiguration('radish');
  await config.update(key, value || undefined, target);
  for (const old of replaces) {
    const set = config.inspect<string>(old);
    const there = target === vscode.ConfigurationTarget.Global ? set?.globalValue : set?.workspaceValue;
    if (there !== undefined) await config.update(old, undefined, target);
  }
  // A workspace value wins over the user's: saying "saved" alone would hide that the new URL is not the one used.
  if (target !== vscode.ConfigurationTarget.Global) return '';
  const shadowing = [key, ...replaces].filter((k) => {
    const set = config.inspect<string>(k);
    return Boolean(set?.workspaceValue?.trim() || set?.workspaceFolderValue?.trim());
  });
  return shadowing.length
    ? ` This workspace's settings (.vscode/settings.json) set radish.${shadowing[0]} too, and theirs is used here.`
    : '';
}

/** A URL with a password in it: the secret store is the place for that. */
export function hasPassword(text: string): boolean {
  return /\/\/[^/@;]*:[^/@;]+@/.test(text);
}
