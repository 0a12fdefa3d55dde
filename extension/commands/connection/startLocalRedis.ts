import { spawn } from 'node:child_process';
import * as vscode from 'vscode';
import type { Services } from '../../services';

/** Start a local `redis-server` (no persistence) on the configured port when one is installed. */
export async function startLocalRedis(s: Services): Promise<void> {
  let port = '6379';
  let local = true;
  try {
    const url = new URL(s.connection.url);
    port = url.port || '6379';
    local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname);
  } catch {
    // not a host:port URL (sentinel, unix socket): fall back to the default port
  }
  if (!local) throw new Error(`the configured Redis (${s.connection.displayUrl}) is not on this machine; set a local URL first.`);
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes'], { stdio: 'ignore' });
  const code = await new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (c) => resolve(c ?? -1));
  });
  if (code !== 0) throw new Error(`could not start redis-server (${code}). Install it (e.g. apt-get install redis-server) or point radish.redisUrl at a running Redis.`);
  void vscode.window.showInformationMessage(`Radish: started redis-server on 127.0.0.1:${port} (no persistence).`);
  await s.connection.reset();
  s.refresh.refreshNow();
}
