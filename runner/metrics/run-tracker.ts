/**
 * Runs between their receipt and their end, by task id, for the worker's metrics consumers (the Prometheus endpoint,
 * runner/worker/metrics.ts, and the history writer, runner/worker/metrics-history.ts). One id may have more than one
 * run held at once (a retry republished with the same id and received again before the retried run's end, an ETA
 * copy beside a running one): an end closes the run it is about, told by whether that run has started. Every run the
 * worker received ends with an outcome event or with `task-released` (runner/worker/listener.ts), so nothing stays
 * here, and a redelivered id never meets a stale run.
 */

/** What the tracker reads of a run: its start (any clock), once it started. */
export interface TrackedRun {
  startedAt?: number | undefined;
}

/** Which of an id's runs an end closes: one that started (an outcome), one still waiting (a discard), or the first. */
export type RunEnd = 'started' | 'waiting' | 'any';

/** Most runs followed at once: a bound against a leak, far above any prefetch. Default of {@link RunTracker}. */
export const MAX_TRACKED_RUNS = 1_000_000;

export class RunTracker<R extends TrackedRun> {
  /** One run (the usual case: no array allocated), or several in the order they arrived. */
  private readonly runs = new Map<string, R | R[]>();
  private count = 0;

  /** @param max most runs followed at once (default {@link MAX_TRACKED_RUNS}); beyond it new runs are not followed. */
  constructor(private readonly max = MAX_TRACKED_RUNS) {}

  /** Runs held now. */
  get size(): number {
    return this.count;
  }

  /** Follow a run received. False (not followed) when the tracker is full. */
  add(id: string, run: R): boolean {
    if (this.count >= this.max) return false;
    const held = this.runs.get(id);
    if (held === undefined) this.runs.set(id, run);
    else if (Array.isArray(held)) held.push(run);
    else this.runs.set(id, [held, run]);
    this.count++;
    return true;
  }

  /** The run of `id` that a `task-started` is about: the first not started yet. */
  toStart(id: string): R | undefined {
    const held = this.runs.get(id);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return held.startedAt === undefined ? held : undefined;
    return held.find((r) => r.startedAt === undefined);
  }

  /** Close a run of `id` and return it: the first that matches `which`, else the first one held. */
  end(id: string, which: RunEnd): R | undefined {
    const held = this.runs.get(id);
    if (held === undefined) return undefined;
    this.count--;
    if (!Array.isArray(held)) {
      this.runs.delete(id);
      return held;
    }
    let at = which === 'any' ? 0 : held.findIndex((r) => (r.startedAt !== undefined) === (which === 'started'));
    if (at < 0) at = 0;
    const [run] = held.splice(at, 1);
    if (held.length === 1) this.runs.set(id, held[0]!);
    return run;
  }

  /** Forget every run (the worker stopped). */
  clear(): void {
    this.runs.clear();
    this.count = 0;
  }
}
