/** Shared by the extension-host suites. */
import { existsSync, readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { Services } from '../../extension/services';

/**
 * Activate the extension (suites start before onStartupFinished) and point it at the test Redis (REDIS_URL), unless
 * `asConfigured`: then the workspace's own settings say where the broker is.
 */
export async function activate(options: { asConfigured?: boolean } = {}): Promise<Services> {
  const ext = vscode.extensions.getExtension<Services>('radish-dev.radish');
  if (!ext) throw new Error('the Radish extension is not loaded');
  const wasActive = ext.isActive;
  const started = performance.now();
  const services = await ext.activate();
  // Reported, not asserted: timing belongs in the benchmark, not in a test that can flake.
  if (!wasActive) console.log(`      activation took ${(performance.now() - started).toFixed(1)} ms (activate() itself: ${services.activationMs.toFixed(1)} ms)`);
  if (options.asConfigured) return services;
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set for the extension host');
  await vscode.workspace.getConfiguration('radish').update('brokerUrl', url, vscode.ConfigurationTarget.Workspace);
  await services.connection.reset();
  return services;
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** A process's environment, where /proc shows it (Linux); undefined elsewhere. */
export function procEnviron(pid: number): Record<string, string> | undefined {
  const file = `/proc/${pid}/environ`;
  if (!existsSync(file)) return undefined;
  return Object.fromEntries(readFileSync(file, 'utf8').split('\0').filter(Boolean).map((kv) => {
    const at = kv.indexOf('=');
    return [kv.slice(0, at), kv.slice(at + 1)];
  }));
}
