/**
 * The four measurements, the same for every system: enqueue one call at a time, bulk enqueue, drain, and
 * enqueue-to-start latency at a fixed rate. Each starts from an empty server (FLUSHALL).
 */
import { now, sleep } from './clock';
import { cpuPerTask, readCpu, type DrainCpu } from './cpu';
import { BenchError } from './errors';
import { percentile } from './stats';
import type { Consumer, System } from './system';

export interface Plan {
  /** Tasks per enqueue, bulk and drain measurement. */
  n: number;
  /** Most single enqueue calls in flight at once. */
  inFlight: number;
  /** Stamped tasks sent per second, and for how long, in the latency measurement. */
  latencyRate: number;
  latencySeconds: number;
}

/** One run of one system. Rates in tasks/s, latencies in ms; absent when the system has no such API. */
export interface RunResult {
  enqueue: number;
  bulk?: number;
  drain: number;
  p50: number;
  p99: number;
  /** CPU per task over the timed drain (Linux only). */
  cpu?: DrainCpu;
}

/** The measurements that are one number each: what the table, the ratios and the targets read. */
export type Metric = Exclude<keyof RunResult, 'cpu'>;

/**
 * How often a wait checks progress: every POLL_MIN_MS near the end, so the end of a drain is seen at most that late
 * (about 1% of a quarter-second --quick drain), but rarely while much is left (a quarter of the time the rate so far
 * says is left, at most POLL_MAX_MS). A steady 2 ms poll was ~500 wake-ups of the bench and ~500 count queries a
 * second (bee-queue's checkHealth is a 6-command MULTI) on a 2-core machine where Redis and the worker need the CPU;
 * this is a few dozen per drain, the same for every system. (Measured on 2026-12-05, N=20,000: no system's drain moved
 * by more than run-to-run noise, ~5%; the poll is cheap, but now it cannot be a cause.)
 */
const POLL_MIN_MS = 2;
const POLL_MAX_MS = 20;
/** A wait that sees no progress for this long has stalled (a dead worker, a lost message). */
const STALL_MS = 15_000;

/** `n` single sends, `inFlight` at a time (as an app sending from many requests at once would). */
async function enqueueRate(system: System, n: number, inFlight: number): Promise<number> {
  await system.reset();
  if (system.enqueueSingles) {
    // A client in another process sends as it can (Python Celery's apply_async blocks: one call at a time).
    const t0 = now();
    await system.enqueueSingles(n);
    return n / ((now() - t0) / 1000);
  }
  let started = 0;
  const lane = async () => {
    while (started < n) {
      started++;
      await system.enqueueOne();
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return n / ((now() - t0) / 1000);
}

async function bulkRate(system: System, plan: Plan): Promise<number | undefined> {
  if (!system.enqueueBulk) return undefined;
  await system.reset();
  const t0 = now();
  await system.enqueueBulk(plan.n);
  return plan.n / ((now() - t0) / 1000);
}

/** Poll until `target` tasks are done (`from` of them were before the call); returns when, and how many were done. */
async function waitCompleted(system: System, consumer: Consumer, target: number, what: string, from = 0): Promise<{ at: number; done: number }> {
  let last = -1;
  const start = now();
  let progressAt = start;
  for (;;) {
    const done = await system.completed();
    const seen = now();
    if (done >= target) return { at: seen, done };
    const failure = consumer.error?.();
    if (failure) throw new BenchError(`${system.name} ${what}: ${failure}`);
    if (done !== last) {
      last = done;
      progressAt = seen;
    } else if (seen - progressAt > STALL_MS) {
      throw new BenchError(`${system.name} ${what} stalled at ${done}/${target} tasks for ${STALL_MS / 1000}s`);
    }
    // What is left at the rate so far (none known before the first task ends).
    const left = done > from ? (target - done) * ((seen - start) / (done - from)) : 0;
    await sleep(Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, left / 4)));
  }
}

async function latency(system: System, consumer: Consumer, plan: Plan): Promise<{ p50: number; p99: number }> {
  await system.reset();
  const count = Math.round(plan.latencyRate * plan.latencySeconds);
  const interval = 1000 / plan.latencyRate;
  const sends: Promise<void>[] = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    // Each send is due at a fixed offset from the start, so timer lateness never accumulates into a lower rate.
    const wait = start + i * interval - now();
    if (wait > 0) await sleep(wait);
    sends.push(system.sendStamped(now()));
  }
  await Promise.all(sends);
  await waitCompleted(system, consumer, count, 'latency');
  const delays = await system.latencies();
  return { p50: percentile(delays, 50), p99: percentile(delays, 99) };
}

/**
 * Tasks run through every path before anything is timed: V8 compiles hot code only after thousands of calls,
 * and a long-running client or worker is warm, so a cold start is not what the bench should report.
 */
const WARM_UP = 2_000;

/** Warm this process's client paths (enqueue, bulk) once, before the first run. */
export async function warmUpClient(system: System): Promise<void> {
  await enqueueRate(system, WARM_UP, 100);
  if (system.enqueueBulk) await system.enqueueBulk(WARM_UP);
  await system.reset();
}

/**
 * Tasks a drain runs before it is timed: half the timed count, and WARM_UP at least. A worker process is started for
 * each run, and 2,000 tasks did not warm Radish's: a worker's later 20,000-task drains were 5-20% faster than its
 * first (V8 optimizes a long path later than a short one), so a long-running worker's pace was not what was reported.
 */
function drainWarmUp(n: number): number {
  return Math.max(WARM_UP, Math.round(n / 2));
}

/**
 * The drain rate of a running consumer on a backlog: `drainWarmUp(n) + n` tasks made visible at once, timed from the
 * end of the first `drainWarmUp(n)` (seen within a poll) to the end of the last, over the tasks finished in between.
 *
 * The first tasks warm the consumer (as a long-running worker is warm) and take it from idle to full concurrency, so
 * no system's wake-up is timed: how a staged backlog is released differs (a RENAME wakes a blocked pop at once;
 * BullMQ's resume wakes its worker through its marker, measured at 11-14 ms to the first completion, and the worker
 * then fetches one job per round-trip up to its concurrency: its first 1,000 jobs took 85-107 ms against 64 ms on a
 * backlog). Timed from the release, that start cost BullMQ 5-10% of a 20,000-task drain: staging, not pace.
 */
export async function warmDrain(system: System, consumer: Consumer, n: number, redisPid?: number): Promise<{ rate: number; cpu?: DrainCpu }> {
  const warmUp = drainWarmUp(n);
  await system.stage(warmUp + n);
  await system.release();
  const start = await waitCompleted(system, consumer, warmUp, 'drain warm-up');
  const cpuFrom = readCpu(redisPid);
  const end = await waitCompleted(system, consumer, warmUp + n, 'drain', start.done);
  const cpu = cpuPerTask(cpuFrom, readCpu(redisPid), end.done - start.done);
  await system.verify?.();
  return { rate: (end.done - start.done) / ((end.at - start.at) / 1000), ...(cpu ? { cpu } : {}) };
}

/**
 * Every measurement once, on an empty server each time. The consumer runs only for drain and latency.
 * @param redisPid the bench's redis-server, whose CPU the drain reads (with the machine's).
 */
export async function measureRun(system: System, plan: Plan, redisPid?: number): Promise<RunResult> {
  const enqueue = await enqueueRate(system, plan.n, plan.inFlight);
  const bulk = await bulkRate(system, plan);
  await system.reset();
  const consumer = await system.startConsumer();
  try {
    const { rate: drain, cpu } = await warmDrain(system, consumer, plan.n, redisPid);
    const { p50, p99 } = await latency(system, consumer, plan);
    return { enqueue, ...(bulk === undefined ? {} : { bulk }), drain, p50, p99, ...(cpu ? { cpu } : {}) };
  } finally {
    await consumer.stop();
  }
}
