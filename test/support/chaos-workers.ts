/**
 * Real worker processes for the chaos tests: the CLI started under fixed node names, restarted at once when killed
 * (as a supervisor does) or when they exit by themselves (reported as a crash), with what they logged counted: how
 * many times each task ran, and every warning and error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type Redis from 'ioredis';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { poll } from './wait';

const CLI = resolve(__dirname, '../../dist/radish.js');

/** What `tasks.chaos(i)` returns. */
export const chaosValue = (i: number): number => i * 3 + 1;

/**
 * The verdict on the tasks of a chaos run: wait up to `waitMs` for every result, then read them all. `missing` are
 * the ids with no result stored; `wrong` the results that are not SUCCESS with `chaosValue` of the task's index.
 */
export async function chaosResults(redis: Redis, ids: readonly string[], waitMs: number): Promise<{ missing: string[]; wrong: string[] }> {
  const keys = ids.map((id) => `celery-task-meta-${id}`);
  await poll(async () => {
    let present = 0;
    for (let i = 0; i < keys.length; i += 500) present += await redis.exists(...keys.slice(i, i + 500));
    return present === keys.length;
  }, waitMs, 250);
  const values: (string | null)[] = [];
  for (let i = 0; i < keys.length; i += 500) values.push(...await redis.mget(...keys.slice(i, i + 500)));
  const missing: string[] = [];
  const wrong: string[] = [];
  values.forEach((raw, i) => {
    if (raw === null) return void missing.push(ids[i]!);
    const meta = JSON.parse(raw) as { status: string; result: unknown };
    if (meta.status !== 'SUCCESS' || meta.result !== chaosValue(i)) wrong.push(`${ids[i]}: ${meta.status} ${JSON.stringify(meta.result)} (expected ${chaosValue(i)})`);
  });
  return { missing, wrong };
}

/** A task module with `tasks.chaos(i)`: a few ms of work, then i * 3 + 1. */
export function taskModule(): string {
  const dir = mkdtempSync(join(tmpdir(), 'radish-chaos-'));
  writeFileSync(join(dir, 'tasks.ts'), `
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.chaos', async (i: number) => {
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 6)));
  return i * 3 + 1;
});
`);
  return join(dir, 'tasks.ts');
}

export interface Incarnation {
  child: ChildProcess;
  exited: Promise<void>;
  /** Killed or stopped by the test (any other exit is reported as a crash). */
  expected: boolean;
  tail: string[];
}

/** Two CLI workers kept running: restarted at once when killed, and after any other exit (reported). */
export class Workers {
  readonly current = new Map<string, Incarnation>();
  /** How many times each task id was logged as succeeded, by every incarnation of every worker. */
  readonly runs = new Map<string, number>();
  readonly crashes: string[] = [];
  /** Every warning and error the workers logged (recoveries, Redis outages), for the report of a failure. */
  readonly warnings: string[] = [];
  spawned = 0;
  private stopping = false;

  /** @param env the workers' environment beyond this process's: the broker (`RADISH_BROKER_URL`), the backend... */
  constructor(private readonly tasks: string, private readonly env: Record<string, string>) {}

  start(name: string): void {
    this.spawned++;
    const child = spawn(process.execPath, [CLI, 'worker', '-A', this.tasks, '-c', '20', '-n', name, '-l', 'info'],
      { env: { ...process.env, ...this.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const inc: Incarnation = { child, exited: new Promise((r) => child.once('exit', () => r())), expected: false, tail: [] };
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = /\] Task tasks\.chaos\[([^\]]+)\] succeeded in /.exec(line);
        if (m) this.runs.set(m[1]!, (this.runs.get(m[1]!) ?? 0) + 1);
        else if (!/\] Task tasks\.chaos\[[^\]]+\] received$/.test(line)) {
          if (/: (WARNING|ERROR|CRITICAL)\//.test(line)) this.warnings.push(`${name}: ${line}`);
          inc.tail.push(line);
          if (inc.tail.length > 40) inc.tail.shift();
        }
      }
    });
    child.once('exit', (code, signal) => {
      if (inc.expected || this.stopping) return;
      this.crashes.push(`${name} exited by itself (code ${code}, signal ${signal}):\n${inc.tail.join('\n')}`);
      setTimeout(() => { if (!this.stopping) this.start(name); }, 250);
    });
    this.current.set(name, inc);
  }

  /** SIGKILL the worker and start it again under the same node name. */
  async kill(name: string): Promise<void> {
    const inc = this.current.get(name)!;
    inc.expected = true;
    inc.child.kill('SIGKILL');
    await inc.exited;
    this.start(name);
  }

  /** Warm shutdown of every worker (SIGTERM), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.current.values()].map(async (inc) => {
      inc.expected = true;
      if (inc.child.exitCode !== null || inc.child.signalCode !== null) return;
      inc.child.kill('SIGTERM');
      const timer = setTimeout(() => inc.child.kill('SIGKILL'), 10_000);
      await inc.exited;
      clearTimeout(timer);
    }));
  }
}
