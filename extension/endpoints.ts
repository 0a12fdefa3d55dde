/**
 * Where the extension connects: the broker (Redis or RabbitMQ) and the result backend (Redis), each from the first
 * that names it, scope by scope (folder, workspace, user: the most specific wins, as VS Code's own settings do):
 * `radish.brokerUrl`, or the deprecated `radish.redisUrl` set where it was before; then the Celery project's own
 * settings (its `CELERY_BROKER_URL`, `result_backend`...: discovery/python-broker.ts); then Redis on this machine.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProjectBroker } from './discovery/projectBroker';
import { decideEndpoints, type Endpoints, type Named } from './urls';

export { DEFAULT_BROKER_URL, isAmqpUrl, isRedisUrl, withPassword, type Endpoints, type Named } from './urls';

type Scope = 'workspaceFolderValue' | 'workspaceValue' | 'globalValue';
const SCOPES: Scope[] = ['workspaceFolderValue', 'workspaceValue', 'globalValue'];

/** The first of `keys` set (non-empty) in the most specific scope, with the name it was set under. */
function configured(keys: readonly { key: string; from: string }[]): Named | undefined {
  const config = vscode.workspace.getConfiguration('radish');
  const inspected = keys.map(({ key, from }) => ({ from, values: config.inspect<string>(key) }));
  for (const scope of SCOPES) {
    for (const { from, values } of inspected) {
      const url = values?.[scope]?.trim();
      if (url) return { url, from };
    }
  }
  return undefined;
}

/** The broker the settings name, if they name one. */
export function configuredBroker(): Named | undefined {
  return configured([{ key: 'brokerUrl', from: 'radish.brokerUrl' }, { key: 'redisUrl', from: 'radish.redisUrl (deprecated)' }]);
}

/** The result backend the settings name, if they name one. */
export function configuredBackend(): Named | undefined {
  return configured([{ key: 'resultBackendUrl', from: 'radish.resultBackendUrl' }]);
}

/** Where the endpoints are now: the settings, then the project (scanned only when a setting is missing). */
export async function resolveEndpoints(project: ProjectBroker): Promise<Endpoints> {
  const broker = configuredBroker();
  const backend = configuredBackend();
  const named = broker && backend ? {} : await project.choice(broker?.url);
  const relative = (file: string) => vscode.workspace.asRelativePath(file, false).split(path.sep).join('/');
  return decideEndpoints({ broker, backend }, {
    ...(named.broker ? { broker: { url: named.broker.url, from: relative(named.broker.file) } } : {}),
    ...(named.backend ? { backend: { url: named.backend.url, from: relative(named.backend.file) } } : {}),
  });
}

/** Settings read by {@link resolveEndpoints}: a change to one of them means connecting again. */
export const ENDPOINT_SETTINGS = ['radish.brokerUrl', 'radish.redisUrl', 'radish.resultBackendUrl', 'radish.rabbitmq.managementUrl'];
