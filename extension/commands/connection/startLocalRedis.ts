import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import type { Services } from '../../services';

/** The redis-server this window started, if it still runs: it is this window's, and stops when the window closes. */
let started: { child: ChildProcess; port: string } | undefined;

/** How long redis-server may take to say it is ready. */
const READY_MS = 10_000;

/**
 * Start a local `redis-server` (no persistence) on the configured port, as a child of this window, stopped when the
 * window closes (a daemon would outlive it, unseen). The Redis in question is the broker when it is Redis, else the
 * result backend (beside RabbitMQ, or apart from the broker when that is the one that does not answer).
 */
export async function startLocalRedis(s: Services): Promise<void> {
  await s.connection.resolve();
  // The result backend beside RabbitMQ, or one apart from a Redis broker that does not answer; else the broker.
  const backend = s.connection.isAmqp || (s.connection.problem?.kind === 'backend' && s.connection.backendUrl !== undefined);
  const target = backend ? s.connection.backendUrl : s.connection.url;
  const shown = backend ? s.connection.displayBackendUrl : s.connection.displayUrl;
  if (!target) throw new Error('the broker is RabbitMQ and no result backend is set: set radish.resultBackendUrl to a local Redis (redis://127.0.0.1:6379/0) first.');
  let port = '6379';
  let local = true;
  try {
    const url = new URL(target);
    port = url.port || '6379';
    local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname);
  } catch {
    // not a host:port URL (sentinel, unix socket): fall back to the default port
  }
  const setting = backend ? 'radish.resultBackendUrl' : 'radish.brokerUrl';
  if (!local) throw new Error(`the configured ${backend ? 'result backend' : 'Redis'} (${shown}) is not on this machine; set a local URL in ${setting} first.`);
  if (started && started.child.exitCode === null && started.port === port) {
    void vscode.window.showInformationMessage(`Radish: redis-server on 127.0.0.1:${port} is already running (started by this window).`);
    return;
  }
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const failure = await ready(child);
  if (failure !== undefined) {
    child.kill();
    throw new Error(`could not start redis-server: ${failure}. Install it (e.g. apt-get install redis-server) or point ${setting} at a running Redis.`);
  }
  started = { child, port };
  s.context.subscriptions.push({ dispose: () => { child.kill(); } });
  void vscode.window.showInformationMessage(`Radish: started redis-server on 127.0.0.1:${port} (no persistence); it stops when this window closes.`);
  await s.connection.reset();
  s.refresh.refreshNow();
}

/** Undefined once redis-server says it accepts connections; else why it did not (its last words, or a timeout). */
function ready(child: ChildProcess): Promise<string | undefined> {
  return new Promise((resolve) => {
    let output = '';
    const timer = setTimeout(() => resolve(`not ready after ${READY_MS / 1000} s`), READY_MS);
    const settle = (why: string | undefined) => {
      clearTimeout(timer);
      resolve(why);
    };
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) settle(undefined);
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('error', (err) => settle(err.message));
    child.once('exit', (code) => {
      const last = output.trim().split('\n').filter((l) => /#|error|Error/.test(l)).at(-1)?.replace(/^\d+:\w \S+ \S+ \S+ \S+ [#*] /, '');
      settle(last || `exit code ${code}`);
    });
  });
}
