/**
 * The default pool: tasks run in the worker's own event loop, as many at once as `concurrency`. Cheap and fast for
 * I/O-bound work. It cannot stop code that ignores its AbortSignal: a hard time limit or a terminate fails or
 * revokes the task and frees its slot at once, and the outcome says the code may still be running.
 */
import { SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded } from '../errors';
import { execute, type Outcome } from './execute';
import { armTimeLimits, checkConcurrency, type Pool, type PoolJob } from './pool';

interface Running {
  /** Only for tasks that can see their signal (`bind: true`): no one else could observe an abort. */
  controller: AbortController | undefined;
  /** Ends the job's `run()` early (time limit, terminate, cold shutdown); later endings are ignored. */
  end(outcome: Outcome): void;
  started: number;
}

/** The signal of a task that cannot see it (not `bind: true`): never aborted, shared, so it costs nothing per task. */
const UNSEEN_SIGNAL = new AbortController().signal;

export class AsyncPool implements Pool {
  readonly kind = 'async';
  private readonly running = new Map<string, Running>();
  private readonly drained: (() => void)[] = [];

  /** Tasks run at once: the worker holds to it (this pool runs whatever it is given). */
  private size: number;

  constructor(concurrency: number) {
    this.size = checkConcurrency(concurrency);
  }

  get concurrency(): number {
    return this.size;
  }

  resize(concurrency: number): void {
    this.size = checkConcurrency(concurrency);
  }

  async start(): Promise<void> {}

  run(job: PoolJob): Promise<Outcome> {
    // An AbortController (an EventTarget) per task is a measurable share of a no-op task's cost and of the GC's:
    // made only for a task that can see its signal.
    const controller = job.def.options.bind ? new AbortController() : undefined;
    const started = performance.now();
    return new Promise<Outcome>((resolve) => {
      let ended = false;
      let disarm: (() => void) | undefined;
      const end = (outcome: Outcome) => {
        if (ended) return;
        ended = true;
        disarm?.();
        if (this.running.get(job.request.id) === running) this.running.delete(job.request.id);
        if (this.running.size === 0 && this.drained.length > 0) for (const resolve of this.drained.splice(0)) resolve();
        resolve(outcome);
      };
      const running: Running = { controller, end, started };
      if (job.softTimeLimit !== null || job.timeLimit !== null) {
        disarm = armTimeLimits(job,
          () => controller?.abort(new SoftTimeLimitExceeded(job.softTimeLimit!)),
          () => {
            controller?.abort(new TimeLimitExceeded(job.timeLimit!));
            end({ kind: 'failure', error: new TimeLimitExceeded(job.timeLimit!), runtime: (performance.now() - started) / 1000, abandoned: true });
          });
      }
      this.running.set(job.request.id, running);
      void execute(job.def, job.request, controller?.signal ?? UNSEEN_SIGNAL).then(end);
    });
  }

  terminate(taskId: string, signal: NodeJS.Signals = 'SIGTERM'): boolean {
    const job = this.running.get(taskId);
    if (!job) return false;
    job.controller?.abort(new TaskRevokedError('terminated'));
    job.end({ kind: 'revoked', signal, runtime: (performance.now() - job.started) / 1000 });
    return true;
  }

  async close(mode: 'warm' | 'cold'): Promise<void> {
    if (mode === 'cold') {
      for (const job of [...this.running.values()]) {
        job.controller?.abort(new TaskRevokedError('terminated'));
        job.end({ kind: 'interrupted', runtime: (performance.now() - job.started) / 1000 });
      }
    }
    if (this.running.size > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  pids(): number[] {
    return [process.pid];
  }

  pidOf(taskId: string): number | null {
    return this.running.has(taskId) ? process.pid : null;
  }
}
