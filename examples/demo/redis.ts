/**
 * The demo's Redis: a throwaway `redis-server` whenever the binary is installed, even when RADISH_BROKER_URL
 * or REDIS_URL is set (those may well point at the user's own data); else the server they name, else the local
 * default, each checked first to hold none of the demo's queues.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answers, freePort } from '../../test/support/net';
import { Radish, redactUrl } from '@radish-queue/radish';

export interface DemoRedis {
  url: string;
  /** One line for the user: which server, and why that one. */
  description: string;
  /** Stop the server if the demo started it (idempotent); a no-op for an existing server. */
  stop(): Promise<void>;
}

const LOCAL_DEFAULT = 'redis://127.0.0.1:6379/0';
const ENV_NAMES = ['RADISH_BROKER_URL', 'REDIS_URL'] as const;

/** Pick the server: a throwaway one, else the one the environment names, else the local default. */
export async function chooseRedis(queues: readonly string[]): Promise<DemoRedis> {
  const configured = ENV_NAMES.filter((name) => process.env[name]);
  const own = await startThrowaway();
  if (own) {
    const note = configured.length ? ` (used rather than ${configured.join(' / ')}, so your data stays untouched)` : '';
    return { ...own, description: own.description + note };
  }
  const skipped: string[] = [];
  for (const name of configured) {
    const url = process.env[name] ?? '';
    const problem = await probe(url);
    if (!problem) return existing(url, `existing server from ${name}, ${redactUrl(url)} (no redis-server binary to start a throwaway one)`, queues);
    skipped.push(`${name}=${redactUrl(url)} did not answer: ${problem}`);
  }
  const note = skipped.length ? `; ${skipped.join('; ')}` : '';
  const problem = await probe(LOCAL_DEFAULT);
  if (problem) {
    throw new Error(`no redis-server binary to start and nothing answers at ${LOCAL_DEFAULT} (${problem})${note}: install Redis (npm run setup) or set RADISH_BROKER_URL`);
  }
  return existing(LOCAL_DEFAULT, `existing server at ${LOCAL_DEFAULT} (no redis-server binary to start a throwaway one${note})`, queues);
}

/** Why the server cannot be used, or undefined when it answers. */
async function probe(url: string): Promise<string | undefined> {
  const app = new Radish({ broker: { url, connectTimeoutMs: 1500 } });
  try {
    await app.broker();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await app.close();
  }
}

/**
 * A server the demo did not start. Its worker would take whatever waits in these queues (a Celery project's
 * tasks, say) and dead-letter what it cannot run, so it refuses a server whose queues are not empty.
 */
async function existing(url: string, description: string, queues: readonly string[]): Promise<DemoRedis> {
  const app = new Radish({ broker: url });
  try {
    const broker = await app.broker();
    const busy = (await broker.depths(queues)).filter((d) => d.total > 0);
    const unacked = await broker.unackedCount();
    if (busy.length || unacked) {
      const what = [...busy.map((d) => `${d.total} in ${d.queue}`), ...(unacked ? [`${unacked} unacked`] : [])].join(', ');
      throw new Error(`${redactUrl(url)} already holds messages (${what}); the demo will not run a worker on someone else's queues: install redis-server (npm run setup) so it starts its own, or set RADISH_BROKER_URL to an empty database such as redis://127.0.0.1:6379/15`);
    }
  } finally {
    await app.close();
  }
  return { url, description, stop: async () => undefined };
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

/** Start `redis-server` on a free port with no persistence; undefined when the binary is not installed. */
async function startThrowaway(): Promise<DemoRedis | undefined> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'radish-demo-redis-'));
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    child.kill('SIGTERM');
    if (!(await exited(child, 3000))) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const spawned = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (err) => resolve(err));
  });
  if (spawned) {
    rmSync(dir, { recursive: true, force: true });
    if (spawned.code === 'ENOENT') return undefined;
    throw new Error(`cannot start redis-server: ${spawned.message}`);
  }
  const deadline = Date.now() + 5000;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      const last = output.trim().split('\n').pop() ?? '';
      throw new Error(`redis-server on port ${port} did not start${last ? `: ${last}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const url = `redis://127.0.0.1:${port}/0`;
  return { url, description: `throwaway redis-server at ${url} (no persistence, stopped at the end)`, stop };
}
