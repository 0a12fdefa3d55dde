import * as vscode from 'vscode';
import { isAmqpUrl } from '../../endpoints';
import { runner } from '../../runner';
import type { Services } from '../../services';
import { errorMessage } from '../../../runner/errors';
import { askTarget, hasPassword, saveUrl } from './saveUrl';

/**
 * Ask for the broker URL, Redis or RabbitMQ (validated as you type), then where to keep it. The password never goes
 * in it. A RabbitMQ broker keeps no results: when no result backend is set, the user is offered to set one.
 */
export async function setBrokerUrl(s: Services, given?: string, where?: 'user' | 'workspace'): Promise<void> {
  await s.connection.resolve();
  const value = typeof given === 'string' ? given : await vscode.window.showInputBox({
    title: 'Radish: Broker URL',
    prompt: 'redis://host:6379/0, rediss://... (TLS), sentinel://host:26379/0?master_name=mymaster, amqp://user@host:5672/vhost (RabbitMQ), amqps://... Set the password separately.',
    value: s.connection.url,
    ignoreFocusOut: true,
    validateInput: brokerUrlProblem,
  });
  if (value === undefined) return;
  const problem = brokerUrlProblem(value);
  if (problem) throw new Error(problem);
  const target = where === 'user' || where === 'workspace' ? targetOf(where) : await askTarget('broker URL');
  if (target === undefined) return;
  const shadowed = await saveUrl('brokerUrl', value.trim(), target.target, ['redisUrl']);
  await s.connection.reset();
  // RabbitMQ with no result backend named anywhere (settings or project): the next step is offered.
  const endpoints = await s.connection.resolve();
  if (isAmqpUrl(endpoints.broker.url) && !endpoints.backend) {
    void vscode.window.showInformationMessage(`Radish: broker URL saved in ${target.where}.${shadowed} RabbitMQ keeps no results: set a Redis result backend beside it.`,
      'Set Result Backend URL').then((choice) => {
      if (choice) void vscode.commands.executeCommand('radish.setResultBackendUrl');
    });
  } else {
    void vscode.window.showInformationMessage(`Radish: broker URL saved in ${target.where}.${shadowed}`);
  }
  s.refresh.refreshNow();
}

/** Why a broker URL cannot be used, or undefined when it can. */
export function brokerUrlProblem(text: string): string | undefined {
  const url = text.trim();
  try {
    if (isAmqpUrl(url)) {
      for (const part of url.split(';').filter((p) => p.trim())) new URL(part.trim().replace(/^[a-z+]+:/i, 'http:'));
    } else {
      runner().redisOptions({ url });
    }
  } catch (err) {
    return isAmqpUrl(url) ? `invalid AMQP URL: ${errorMessage(err)}` : errorMessage(err);
  }
  // RabbitMQ's own default user is no secret.
  if (hasPassword(url) && !/\/\/guest:guest@/.test(url)) return 'Leave the password out of the URL: use "Radish: Set Password..." (kept in the secret store).';
  return undefined;
}

/** A target given by a caller other than the palette (a test, another extension). */
export function targetOf(where: 'user' | 'workspace'): { target: vscode.ConfigurationTarget; where: string } {
  return where === 'user'
    ? { target: vscode.ConfigurationTarget.Global, where: 'your user settings' }
    : { target: vscode.ConfigurationTarget.Workspace, where: 'the workspace settings (.vscode/settings.json)' };
}
