import * as vscode from 'vscode';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { errorMessage } from '../../../runner/errors';

/**
 * Ask for the Redis URL (validated as you type), then where to keep it: the workspace's settings are
 * .vscode/settings.json, often committed with the project, so that is the user's choice, not a default. The
 * password never goes in it.
 */
export async function setRedisUrl(s: Services): Promise<void> {
  const value = await vscode.window.showInputBox({
    title: 'Radish: Redis URL',
    prompt: 'redis://host:6379/0, rediss://... (TLS), sentinel://host:26379/0?master_name=mymaster. Set the password separately.',
    value: s.connection.url,
    ignoreFocusOut: true,
    validateInput: (text) => {
      try {
        runner().redisOptions({ url: text.trim() });
      } catch (err) {
        return errorMessage(err);
      }
      return /\/\/[^/@]*:[^/@]+@/.test(text) ? 'Leave the password out of the URL: use "Radish: Set Redis Password" (kept in the secret store).' : undefined;
    },
  });
  if (value === undefined) return;
  const target = await askTarget();
  if (target === undefined) return;
  const config = vscode.workspace.getConfiguration('radish');
  await config.update('redisUrl', value.trim(), target.target);
  // A workspace value wins over the user's: saying "saved" alone would hide that the new URL is not the one used.
  const shadowed = target.target === vscode.ConfigurationTarget.Global && config.inspect<string>('redisUrl')?.workspaceValue !== undefined;
  void vscode.window.showInformationMessage(`Radish: Redis URL saved in ${target.where}.${shadowed
    ? ' This workspace\'s settings (.vscode/settings.json) set radish.redisUrl too, and theirs is used here.' : ''}`);
  await s.connection.reset();
  s.refresh.refreshNow();
}

interface TargetPick extends vscode.QuickPickItem {
  target: vscode.ConfigurationTarget;
  where: string;
}

/** Where the URL is saved; without a workspace, the user settings (the only place there is). */
async function askTarget(): Promise<TargetPick | undefined> {
  const user: TargetPick = {
    label: 'User Settings', description: 'only you, in every workspace', target: vscode.ConfigurationTarget.Global, where: 'your user settings',
  };
  if (!vscode.workspace.workspaceFolders?.length) return user;
  const workspace: TargetPick = {
    label: 'Workspace Settings', description: '.vscode/settings.json: everyone who opens this project, if it is committed',
    target: vscode.ConfigurationTarget.Workspace, where: 'the workspace settings (.vscode/settings.json)',
  };
  return vscode.window.showQuickPick([workspace, user], { title: 'Radish: Save the Redis URL where?', ignoreFocusOut: true });
}
