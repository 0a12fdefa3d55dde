import * as vscode from 'vscode';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { errorMessage } from '../../../runner/errors';

/** Ask for the Redis URL (validated as you type) and save it in the workspace settings, without the password. */
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
  const target = vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('radish').update('redisUrl', value.trim(), target);
  await s.connection.reset();
  s.refresh.refreshNow();
}
