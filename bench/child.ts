/**
 * Consumer processes: spawned with their stderr kept (the last lines explain a crash), stopped with SIGTERM
 * (a warm shutdown) and killed if they do not exit. Every child is tracked so that an error or Ctrl-C in the
 * bench never leaves one behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { sleep } from './clock';
import { BenchError } from './errors';
import type { Consumer } from './system';

const live = new Set<ChildProcess>();

/** Consumers that dist/bench.js runs as a process of its own (`--consumer KIND URL CONCURRENCY`, see consumer-process.ts). */
export type ConsumerKind = 'baseline' | 'bullmq' | 'bee-queue' | 'celery-node';

/** Start dist/bench.js as a consumer process of that kind (the bench needs no second build entry). */
export function spawnBenchConsumer(kind: ConsumerKind, url: string, concurrency: number): Promise<ChildConsumer> {
  return spawnConsumer(`${kind} consumer`, process.execPath, [join(__dirname, 'bench.js'), '--consumer', kind, url, String(concurrency)], join(__dirname, '..'));
}

/** SIGKILL every child still running (for `process.on('exit')`, which cannot wait). */
export function killChildrenNow(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export interface ChildConsumer extends Consumer {
  /** Why the process is gone, when it exited before `stop()`. */
  error(): string | undefined;
  /** The process id (for /proc/<pid>/status). */
  readonly pid: number;
  /** SIGKILL and wait for the exit: for a worker that holds tasks that never end, which a warm shutdown would wait for. */
  kill(): Promise<void>;
}

export async function spawnConsumer(label: string, command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<ChildConsumer> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], ...(env ? { env } : {}) });
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
    pid: child.pid!,
    async kill() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
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

/** The blocking pops consumers wait in: BRPOP (baseline, celery-node, Celery), BLMOVE (Radish), BRPOPLPUSH (bee-queue), BZPOPMIN (BullMQ's marker). */
const BLOCKED = / cmd=(brpop|blmove|brpoplpush|bzpopmin) /;

/**
 * Wait until `count` Redis clients (of that connection name, or of any name when the consumer cannot name its
 * connections: the bench's own connections never block) are blocked waiting for work: the consumers have
 * connected, loaded their tasks and wait, so a drain timed from now does not count their start-up.
 */
export async function waitForBlockedClient(
  admin: Redis, name: string | undefined, consumers: ChildConsumer | ChildConsumer[], timeoutMs = 30_000, count = 1,
): Promise<void> {
  const all = Array.isArray(consumers) ? consumers : [consumers];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const clients = await admin.client('LIST') as string;
    const blocked = clients.split('\n').filter((line) => (name === undefined || line.includes(` name=${name} `)) && BLOCKED.test(line));
    if (blocked.length >= count) return;
    const failure = all.map((c) => c.error()).find(Boolean);
    if (failure) throw new BenchError(failure);
    if (Date.now() > deadline) {
      await Promise.all(all.map((c) => c.stop()));
      throw new BenchError(`${name ?? 'consumer'} was not consuming after ${timeoutMs / 1000}s`);
    }
    await sleep(20);
  }
}
