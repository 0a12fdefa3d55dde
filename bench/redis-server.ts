/**
 * A throwaway `redis-server` on a free port, without persistence, so the bench never touches a developer's
 * Redis (port 6379) and every run starts from the same empty server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answers, freePort } from '../test/support/net';
import { sleep } from './clock';
import { BenchError } from './errors';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** The server's process id (its CPU is read from /proc). */
  readonly pid: number;
  /** SIGTERM, wait for the exit, remove its directory. Idempotent. */
  stop(): Promise<void>;
  /** Synchronous last resort for `process.on('exit')`: SIGKILL without waiting. */
  killNow(): void;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'radish-bench-'));
  const child: ChildProcess = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000); });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(new BenchError(err.code === 'ENOENT'
        ? 'redis-server not found on PATH (install it, e.g. `apt-get install redis-server`, or run `npm run setup`)'
        : `cannot start redis-server: ${err.message}`));
    });
  });
  const deadline = Date.now() + 10_000;
  while (!(await answers(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      cleanup();
      const why = stderr.trim().split('\n').pop() ?? '';
      throw new BenchError(`redis-server did not start on port ${port}${why ? `: ${why}` : ''}`);
    }
    await sleep(20);
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    pid: child.pid!,
    stop() {
      stopping ??= (async () => {
        if (!exited) child.kill('SIGTERM');
        await exit;
        cleanup();
      })();
      return stopping;
    },
    killNow() {
      if (!exited) child.kill('SIGKILL');
      cleanup();
    },
  };
}
