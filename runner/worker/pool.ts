/**
 * The contract between the worker and where its tasks run. The worker decides what runs and when (prefetch, ETA,
 * rate limits, acks); a pool runs one task call and reports how it ended. Two pools implement it:
 * `async` (in the worker's own event loop, the default) and `process` (child processes, like Celery's prefork).
 */
import type { TaskDefinition, TaskRequest } from '../task';
import type { Outcome } from './execute';

export type PoolKind = 'async' | 'process';

/** One task call handed to a pool. */
export interface PoolJob {
  def: TaskDefinition;
  request: TaskRequest;
  /** Seconds after which the task's AbortSignal aborts with SoftTimeLimitExceeded; null for none. */
  softTimeLimit: number | null;
  /**
   * Seconds after which the task is given up: the outcome is a TimeLimitExceeded failure at once. The async pool
   * cannot stop JavaScript that ignores its signal, so the outcome says `abandoned`; the process pool kills and
   * replaces the child. Null for none.
   */
  timeLimit: number | null;
  /**
   * The run's trace context as message headers, while tracing is on: the process pool runs the task in it, so what
   * the task sends is the run's child (the async pool runs it in the worker's own context already). Default none.
   */
  trace?: Readonly<Record<string, string>> | undefined;
}

export interface Pool {
  readonly kind: PoolKind;
  /** Tasks it can run at once. */
  readonly concurrency: number;
  /** Start the pool (spawn its processes). Resolves once it can run tasks. */
  start(): Promise<void>;
  /** Run one task call. Never rejects: every ending, including a crash or a time limit, is an Outcome. */
  run(job: PoolJob): Promise<Outcome>;
  /**
   * Stop a running task (revoke with terminate). Its `run()` resolves with a `revoked` outcome. The process pool
   * sends `signal` to the child (and replaces it); the async pool aborts the task's signal and abandons it.
   * Returns false when the task is not running in this pool.
   */
  terminate(taskId: string, signal?: NodeJS.Signals): boolean;
  /**
   * Close the pool. `warm` waits for running tasks; `cold` aborts them at once (process pool: kills the children),
   * and their `run()` resolves with an `interrupted` outcome. Idempotent.
   */
  close(mode: 'warm' | 'cold'): Promise<void>;
  /** Pids of the processes running tasks (the worker's own pid for the async pool). */
  pids(): number[];
  /** The pid of the process running this task (the worker's own for the async pool); null when it is not running here. */
  pidOf(taskId: string): number | null;
  /**
   * Run up to `concurrency` tasks at once from now on (the `pool_grow`/`pool_shrink` control commands). The process
   * pool forks children to grow; to shrink it retires idle children first and a busy one once its task ends, so a
   * running task is never killed (Celery's prefork refuses instead). Throws a RangeError below 1.
   */
  resize(concurrency: number): void;
}

/** A pool size as `resize()` and the constructors take it: a whole number from 1. */
export function checkConcurrency(concurrency: number): number {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer from 1, got ${concurrency}`);
  return concurrency;
}

/**
 * Arm the soft and hard time-limit timers of a job. Returns the function that disarms them (call it when the task
 * ends). Timers are unref'd: a pending limit never keeps the process alive on its own.
 */
export function armTimeLimits(job: PoolJob, onSoft: () => void, onHard: () => void): () => void {
  const timers: NodeJS.Timeout[] = [];
  const arm = (seconds: number | null, fire: () => void) => {
    if (seconds === null || !(seconds > 0)) return;
    const t = setTimeout(fire, Math.min(seconds * 1000, 2 ** 31 - 1));
    t.unref();
    timers.push(t);
  };
  arm(job.softTimeLimit, onSoft);
  arm(job.timeLimit, onHard);
  return () => { for (const t of timers) clearTimeout(t); };
}
