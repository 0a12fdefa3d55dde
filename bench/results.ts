/**
 * Celery's result backend layout (`celery-task-meta-<id>`), shared by Radish, celery-node and Python Celery: the
 * bench reads the stored result of every task it gave a consumer, to check none was lost and to read latencies.
 */
import type Redis from 'ioredis';
import { Keys } from 'radish';
import { now, sleep } from './clock';
import { BenchError } from './errors';

const BATCH = 1000;

/**
 * The stored result of every given task, waiting up to a second for stragglers (a worker may store a result a
 * round-trip after the bench saw the task finish); a missing one is an error.
 */
export async function storedResults(admin: Redis, ids: readonly string[], system: string): Promise<string[]> {
  const raws: (string | null)[] = [];
  for (let i = 0; i < ids.length; i += BATCH) raws.push(...await admin.mget(ids.slice(i, i + BATCH).map((id) => Keys.result(id))));
  const deadline = now() + 1000;
  for (;;) {
    const missing = raws.flatMap((raw, i) => (raw === null ? [i] : []));
    if (missing.length === 0) return raws as string[];
    if (now() > deadline) throw new BenchError(`${system}: ${missing.length} of ${ids.length} finished tasks have no stored result`);
    await sleep(20);
    const found = await admin.mget(missing.slice(0, BATCH).map((i) => Keys.result(ids[i]!)));
    found.forEach((raw, j) => { raws[missing[j]!] = raw; });
  }
}

/** The `result` field of stored results that must all be numbers (the latency task's delays, in ms). */
export function numericResults(raws: readonly string[], system: string): number[] {
  return raws.map((raw) => {
    const value = (JSON.parse(raw) as { result?: unknown }).result;
    if (typeof value !== 'number') throw new BenchError(`${system}: bench.latency returned ${JSON.stringify(value)}`);
    return value;
  });
}

/**
 * Messages still waiting in `list` or held unacked under kombu's `unacked` hash: for a system that acks late, what
 * is in neither has finished (its result stored before, or with, its ack).
 */
export async function unfinished(admin: Redis, list: string, unacked: string): Promise<number> {
  const replies = await admin.multi().llen(list).hlen(unacked).exec();
  return replies?.reduce((sum, [err, n]) => {
    if (err) throw err;
    return sum + Number(n);
  }, 0) ?? 0;
}
