/**
 * Consumer processes: spawned with their stderr kept (the last lines explain a crash), stopped with SIGTERM
 * (a warm shutdown) and killed if they do not exit. Every child is tracked so that an error or Ctrl-C in the
 * bench never leaves one behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type Redis from 'ioredis';
import { sleep } from './clock';
import { BenchError } from './errors';
import type { Consumer } from './system';

const live = new Set<ChildProcess>();

/** SIGKILL every child still running (for `process.on('exit')`, which cannot wait). */
export function killChildrenNow(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export interface ChildConsumer extends Consumer {
  /** Why the process is gone, when it exited before `stop()`. */
  error(): string | undefined;
}

export async function spawnConsumer(label: string, command: string, args: string[], cwd: string): Promise<ChildConsumer> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  let stopping = false;
  let failure: string | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    live.delete(child);
    if (!stopping) {
      const last = stderr.trim().split('\n').filter(Boolean).pop();
      failure = `${label} exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`;
    }
    resolve();
  }));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new BenchError(`cannot start ${label}: ${err.message}`)));
  });
  return {
    error: () => failure,
    async stop() {
      if (stopping) return exited;
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * Wait until a Redis client of that connection name is blocked waiting for work (BRPOP, or Radish's BLMOVE): the consumer has connected, loaded
 * its tasks and is waiting for work, so a drain timed from now does not count its start-up.
 */
export async function waitForBlockedClient(admin: Redis, name: string, consumer: ChildConsumer, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const clients = await admin.client('LIST') as string;
    if (clients.split('\n').some((line) => line.includes(` name=${name} `) && / cmd=(brpop|blmove) /.test(line))) return;
    const failure = consumer.error();
    if (failure) throw new BenchError(failure);
    if (Date.now() > deadline) {
      await consumer.stop();
      throw new BenchError(`${name} was not consuming after ${timeoutMs / 1000}s`);
    }
    await sleep(20);
  }
}
