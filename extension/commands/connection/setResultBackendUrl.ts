import * as vscode from 'vscode';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { errorMessage } from '../../../runner/errors';
import { askTarget, hasPassword, saveUrl } from './saveUrl';
import { targetOf } from './setBrokerUrl';

/**
 * Ask for the result backend's URL (a Redis: results, failures, the task history and the workers' presence live
 * there), then where to keep it. Needed beside RabbitMQ, which keeps no results; beside a Redis broker, empty means
 * the broker itself.
 */
export async function setResultBackendUrl(s: Services, given?: string, where?: 'user' | 'workspace'): Promise<void> {
  await s.connection.resolve();
  const rabbit = s.connection.isAmqp;
  const value = typeof given === 'string' ? given : await vscode.window.showInputBox({
    title: 'Radish: Result Backend URL',
    prompt: `A Redis: redis://host:6379/0, rediss://... (TLS), sentinel://... ${rabbit
      ? 'RabbitMQ keeps no results, so Radish needs one beside it.' : 'Empty: the broker itself.'} Set the password separately.`,
    value: s.connection.backendUrl ?? (rabbit ? 'redis://127.0.0.1:6379/0' : ''),
    ignoreFocusOut: true,
    validateInput: (text) => backendUrlProblem(text, rabbit),
  });
  if (value === undefined) return;
  const problem = backendUrlProblem(value, rabbit);
  if (problem) throw new Error(problem);
  const target = where === 'user' || where === 'workspace' ? targetOf(where) : await askTarget('result backend URL');
  if (target === undefined) return;
  const shadowed = await saveUrl('resultBackendUrl', value.trim(), target.target);
  void vscode.window.showInformationMessage(`Radish: result backend URL ${value.trim() ? 'saved' : 'removed'} in ${target.where}.${shadowed}`);
  await s.connection.reset();
  s.refresh.refreshNow();
}

/** Why a result backend URL cannot be used, or undefined when it can. */
function backendUrlProblem(text: string, rabbit: boolean): string | undefined {
  const url = text.trim();
  if (!url) return rabbit ? 'RabbitMQ keeps no results: name a Redis, e.g. redis://127.0.0.1:6379/0' : undefined;
  try {
    runner().redisOptions({ url });
  } catch (err) {
    return `${errorMessage(err)}: the result backend must be a Redis`;
  }
  return hasPassword(url) ? 'Leave the password out of the URL: use "Radish: Set Password..." (kept in the secret store).' : undefined;
}
