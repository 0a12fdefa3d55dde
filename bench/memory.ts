/**
 * A Radish worker's memory, as `ps` would show it (VmRSS of the `radish worker` process and of the processes it
 * keeps, e.g. a process pool's children): idle, and holding
 * 10,000 messages it cannot run yet, either ETA tasks an hour ahead (held without a prefetch limit, as Celery
 * holds them) or tasks prefetched behind one that never ends (`-c 1 --prefetch-multiplier 10000`).
 *
 * Idle is read twice. Just started (1 s after it is ready), a worker still holds its start-up: Node grows its young
 * generation while modules load (ioredis' alone takes it from 1 to 8 MB a half) and gives it back only when V8's
 * memory reducer runs, some 8-10 s after the last start-up collection. Idle proper is a worker that has sat idle:
 * the median of once-a-second reads from 10 to 30 s after it is ready (an idle worker still polls its queues every
 * 100 ms, so its heap keeps moving a little). The target is read against that, and the table gives both.
 *
 * The idle worker starts with an empty TypeScript transpile cache (its own, in a temporary directory), as after an
 * edit or in a new container: it loads the transpiler for bench/tasks.ts, the worst case. A restart on unchanged
 * modules does not load it at all.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type Redis from 'ioredis';
import { Keys, Radish, type SendRequest } from 'radish';
import { waitForBlockedClient, type ChildConsumer } from './child';
import { now, sleep } from './clock';
import { BenchError } from './errors';
import { spawnRadishWorker } from './radish-system';

export interface MemoryResult {
  /** Messages held in the two loaded measurements. */
  held: number;
  /** 1 s after it is ready. */
  started: Rss;
  /** Idle: the median of the reads from 10 to 30 s after it is ready (the lowest and highest of them beside it). */
  idle: Rss & { lowMB: number; highMB: number };
  /** Holding ETA tasks, holding prefetched tasks. */
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

/** A loaded worker is read this long after it holds its messages (their memory is what is measured). */
const SETTLE_MS = 1000;
/** The idle worker's reads: once a second from IDLE_FROM_S to IDLE_TO_S after it is ready. */
const IDLE_FROM_S = 10;
const IDLE_TO_S = 30;
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

async function startWorker(admin: Redis, url: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ChildConsumer> {
  const worker = await spawnRadishWorker(url, args, env);
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

/** An idle worker just started, and idle for a while (see the top of this file); then kill it. */
async function idleRss(worker: ChildConsumer): Promise<{ started: Rss; idle: MemoryResult['idle'] }> {
  await sleep(SETTLE_MS);
  const started = treeRss(worker.pid);
  const reads: Rss[] = [];
  for (let s = 2; s <= IDLE_TO_S; s++) {
    await sleep(1000);
    if (s >= IDLE_FROM_S) reads.push(treeRss(worker.pid));
  }
  await worker.kill();
  reads.sort((a, b) => a.totalMB - b.totalMB);
  const median = reads[Math.floor(reads.length / 2)]!;
  return { started, idle: { ...median, lowMB: reads[0]!.totalMB, highMB: reads[reads.length - 1]!.totalMB } };
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
    const emptyCache = mkdtempSync(join(tmpdir(), 'radish-bench-ts-cache-'));
    let worker = await startWorker(admin, url, ['-c', '50'], { RADISH_TS_CACHE: emptyCache });
    const { started, idle } = await idleRss(worker).finally(() => rmSync(emptyCache, { recursive: true, force: true }));

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
    return { held, started, idle, eta, prefetched, heldEta, heldPrefetched };
  } finally {
    await client.close();
  }
}
