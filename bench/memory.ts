/**
 * A Radish worker's memory, as `ps` would show it (VmRSS of the `radish worker` process and of the processes it
 * keeps, e.g. a process pool's children): idle, and holding
 * 10,000 messages it cannot run yet, either ETA tasks an hour ahead (held without a prefetch limit, as Celery
 * holds them) or tasks prefetched behind one that never ends (`-c 1 --prefetch-multiplier 10000`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type Redis from 'ioredis';
import { Keys, Radish, type SendRequest } from 'radish';
import { waitForBlockedClient, type ChildConsumer } from './child';
import { now, sleep } from './clock';
import { BenchError } from './errors';
import { spawnRadishWorker } from './radish-system';

export interface MemoryResult {
  /** Messages held in the two loaded measurements. */
  held: number;
  /** Idle after start-up, holding ETA tasks, holding prefetched tasks. */
  idle: Rss;
  eta: Rss;
  prefetched: Rss;
  /** What the worker really held when measured (unacked entries), in case it held fewer than asked. */
  heldEta: number;
  heldPrefetched: number;
}

/** VmRSS in MB (10^6 bytes, so no flattering rounding against the targets). */
export interface Rss {
  /** The worker and every process under it: what the machine pays for one worker. */
  totalMB: number;
  workerMB: number;
  /** The processes under the worker, by command, e.g. `{ node: 42.1 }`. */
  children: Record<string, number>;
}

/** Long enough for start-up garbage to be collected and the heap to settle, short enough for --quick. */
const SETTLE_MS = 1000;
const BATCH = 1000;

function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kB === undefined) throw new BenchError(`no VmRSS in /proc/${pid}/status (is this Linux?)`);
  return (Number(kB) * 1024) / 1e6;
}

/** Every process under `pid` (children of all its threads, recursively). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const child of children.split(/\s+/).filter(Boolean).map(Number)) found.push(child, ...descendants(child));
  }
  return found;
}

function treeRss(pid: number): Rss {
  const workerMB = rssMB(pid);
  const children: Record<string, number> = {};
  for (const child of descendants(pid)) {
    const name = basename(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[0] ?? String(child));
    children[name] = (children[name] ?? 0) + rssMB(child);
  }
  return { totalMB: workerMB + Object.values(children).reduce((a, b) => a + b, 0), workerMB, children };
}

async function startWorker(admin: Redis, url: string, args: string[]): Promise<ChildConsumer> {
  const worker = await spawnRadishWorker(url, args);
  await waitForBlockedClient(admin, 'radish-consumer', worker);
  return worker;
}

async function send(client: Radish, n: number, request: SendRequest): Promise<void> {
  for (let sent = 0; sent < n; sent += BATCH) {
    await client.sendMany(Array.from({ length: Math.min(BATCH, n - sent) }, () => request));
  }
}

/** Wait until the worker holds `n` messages (none left queued, `n` unacked), or 30 s; returns what it holds. */
async function waitHeld(admin: Redis, worker: ChildConsumer, n: number): Promise<number> {
  const keys = new Keys();
  const deadline = now() + 30_000;
  for (;;) {
    const [[, queued], [, unacked]] = (await admin.multi().llen(keys.queue('celery')).hlen(keys.unacked).exec()) as [[unknown, number], [unknown, number]];
    if ((queued === 0 && unacked >= n) || now() > deadline) return unacked;
    const failure = worker.error();
    if (failure) throw new BenchError(failure);
    await sleep(50);
  }
}

/** Sample the worker's RSS once it has settled, then kill it (its held tasks would hold up a warm shutdown). */
async function settledRss(worker: ChildConsumer): Promise<Rss> {
  await sleep(SETTLE_MS);
  const rss = treeRss(worker.pid);
  await worker.kill();
  return rss;
}

export async function measureMemory(admin: Redis, url: string, held: number): Promise<MemoryResult> {
  const client = new Radish({ broker: url });
  try {
    await admin.flushall();
    // The bench's concurrency; ETA tasks hold no prefetch slot, so it does not limit them.
    let worker = await startWorker(admin, url, ['-c', '50']);
    const idle = await settledRss(worker);

    await admin.flushall();
    worker = await startWorker(admin, url, ['-c', '50']);
    await send(client, held, { name: 'bench.noop', countdown: 3600 });
    const heldEta = await waitHeld(admin, worker, held);
    const eta = await settledRss(worker);

    await admin.flushall();
    worker = await startWorker(admin, url, ['-c', '1', '--prefetch-multiplier', String(held)]);
    await send(client, held, { name: 'bench.hold' });
    const heldPrefetched = await waitHeld(admin, worker, held);
    const prefetched = await settledRss(worker);
    await admin.flushall();
    return { held, idle, eta, prefetched, heldEta, heldPrefetched };
  } finally {
    await client.close();
  }
}
