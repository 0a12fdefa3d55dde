import { spawn } from 'node:child_process';
import * as vscode from 'vscode';
import type { Services } from '../services';

/** Start a local `redis-server` (no persistence) on the configured port when one is installed. */
export async function startLocalRedis(s: Services): Promise<void> {
  let port = '6379';
  try {
    const url = new URL(s.connection.url);
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname)) {
      void vscode.window.showErrorMessage(`Radish: the configured Redis (${s.connection.displayUrl}) is not on this machine; set a local URL first.`);
      return;
    }
    port = url.port || '6379';
  } catch {
    // not a host:port URL (sentinel, unix socket): fall back to the default port
  }
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes'], { stdio: 'ignore' });
  const code = await new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (c) => resolve(c ?? -1));
  });
  if (code !== 0) {
    void vscode.window.showErrorMessage(`Radish: could not start redis-server (${code}). Install it (e.g. apt-get install redis-server) or point radish.redisUrl at a running Redis.`);
    return;
  }
  void vscode.window.showInformationMessage(`Radish: started redis-server on 127.0.0.1:${port} (no persistence).`);
  await s.connection.reset();
  s.refresh.refreshNow();
}
