/**
 * The job book: where each message a worker holds is (an ETA wait, a rate limit's wait, the queue for a concurrency
 * slot, running, or having its outcome written; in none while it is being discarded), and the prefetch slots they
 * take. The worker's gauges (`stats.active`, `reserved`, `scheduled`) are read from here, so they cannot drift.
 */
import type { Job, WorkerStats } from './recorder';

/** What a worker holds, as `inspect active/reserved/scheduled/query_task` list it. */
export interface HeldJobs {
  active: readonly Readonly<Job>[];
  reserved: readonly Readonly<Job>[];
  scheduled: readonly Readonly<Job>[];
}

/** {@link WorkerStats} whose gauges are views of a {@link JobBook}: only the outcome counters can be written. */
export interface LiveWorkerStats extends Omit<WorkerStats, 'active' | 'reserved' | 'scheduled'> {
  /** Tasks running now (not those whose outcome is being written). */
  readonly active: number;
  /** Tasks waiting for a concurrency slot (not those waiting for their rate limit's turn). */
  readonly reserved: number;
  /** ETA waits. */
  readonly scheduled: number;
}

export class JobBook {
  /** ETA waits: held unacked, but without a prefetch or concurrency slot (as Celery does). */
  private readonly scheduled = new Set<Job>();
  /** Waiting for their rate limit's turn: they hold a prefetch slot, not a concurrency slot. */
  private readonly throttled = new Set<Job>();
  /** Due, waiting for a concurrency slot, in arrival order. */
  private readonly ready: Job[] = [];
  private readonly running = new Set<Job>();
  /** The task has ended and its outcome is being written (result, ack): held, but no longer running. */
  private readonly finishing = new Set<Job>();
  /**
   * Prefetch slots taken: everything held except ETA waits, plus jobs being discarded, which are in none of the
   * sets above but keep their slot until the discard is recorded. That is why this is a count and not a sum.
   */
  private taken = 0;

  /** The worker's counters; `active`, `reserved` and `scheduled` are read live from this book. */
  readonly stats: LiveWorkerStats;

  /**
   * @param etaWaits told how many ETA waits start (+) or end (-), for a broker that bounds unacked messages per
   *   consumer and must let that many more through (AMQP's QoS, raised for ETA tasks as Celery raises it).
   */
  constructor(private readonly etaWaits: (delta: number) => void = () => undefined) {
    const { running, ready, scheduled } = this;
    this.stats = {
      processed: 0, succeeded: 0, failed: 0, retried: 0,
      get active() { return running.size; },
      get reserved() { return ready.length; },
      get scheduled() { return scheduled.size; },
    };
  }

  /** Prefetch slots taken (see {@link take}). */
  get inFlight(): number {
    return this.taken;
  }

  /** Tasks running now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Whether a task runs or has its outcome written: what a warm shutdown waits for. */
  get busy(): boolean {
    return this.running.size > 0 || this.finishing.size > 0;
  }

  /** Take a prefetch slot for a job that is due (arrived without an ETA, or its ETA came). */
  take(): void {
    this.taken++;
  }

  /** A job that took a slot is done with (ran, discarded or given back): give its slot back. */
  release(): void {
    this.taken--;
  }

  /** Hold a job until its ETA. */
  schedule(job: Job): void {
    if (this.scheduled.has(job)) return;
    this.scheduled.add(job);
    this.etaWaits(1);
  }

  /** Its ETA came: no longer an ETA wait (it takes a slot next). */
  unschedule(job: Job): void {
    if (this.scheduled.delete(job)) this.etaWaits(-1);
  }

  /** Hold a job until its rate limit's turn. */
  throttle(job: Job): void {
    this.throttled.add(job);
  }

  /** Its rate limit's turn came. */
  unthrottle(job: Job): void {
    this.throttled.delete(job);
  }

  /** Queue a due job for a concurrency slot. */
  queue(job: Job): void {
    this.ready.push(job);
  }

  /** The next job to get a concurrency slot, taken off the queue; the caller runs or discards it. */
  next(): Job | undefined {
    return this.ready.shift();
  }

  /** A job starts running. */
  start(job: Job): void {
    this.running.add(job);
  }

  /** A job's task has ended: its concurrency slot is free while its outcome is written. */
  ended(job: Job): void {
    this.running.delete(job);
    this.finishing.add(job);
  }

  /** A job that started is done with, however it went (its prefetch slot is given back with {@link release}). */
  done(job: Job): void {
    this.running.delete(job);
    this.finishing.delete(job);
  }

  /**
   * Take out the waits (ETA and rate limit) of the jobs with these ids, their timers cleared. `slot` says the job
   * held a prefetch slot (a rate limit's wait does; an ETA wait does not), to be given back once it is discarded.
   */
  removeWaiting(ids: ReadonlySet<string>): { job: Job; slot: boolean }[] {
    const removed: { job: Job; slot: boolean }[] = [];
    for (const job of [...this.scheduled, ...this.throttled]) {
      if (!ids.has(job.msg.id)) continue;
      clearTimeout(job.timer);
      const slot = this.throttled.delete(job);
      if (this.scheduled.delete(job)) this.etaWaits(-1);
      removed.push({ job, slot });
    }
    return removed;
  }

  /**
   * Take out every job that has not started (queued, rate-limited and ETA waits, in that order), their timers
   * cleared: a stopping worker gives them back. Their prefetch slots are not given back: nothing runs any more.
   */
  drainWaiting(): Job[] {
    for (const job of [...this.scheduled, ...this.throttled]) clearTimeout(job.timer);
    const pending = [...this.ready.splice(0), ...this.throttled, ...this.scheduled];
    if (this.scheduled.size) this.etaWaits(-this.scheduled.size);
    this.scheduled.clear();
    this.throttled.clear();
    return pending;
  }

  /** Held messages that are still unacked in Redis (what recovery must not restore and refresh keeps fresh). */
  held(): Job[] {
    return [...this.scheduled, ...this.throttled, ...this.ready, ...this.running, ...this.finishing].filter((j) => j.delivery.tag && !j.acked);
  }

  /** Copies, for inspect; the jobs themselves must not be changed. */
  heldJobs(): HeldJobs {
    // A job whose outcome is being written is still listed as active, as Celery lists a request until it is acked.
    return { active: [...this.running, ...this.finishing], reserved: [...this.ready, ...this.throttled], scheduled: [...this.scheduled] };
  }

  /** Running jobs (not those whose outcome is being written), for the presence record. */
  runningJobs(): Job[] {
    return [...this.running];
  }
}
