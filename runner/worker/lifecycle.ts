/** Where a worker is in its life. It only moves forward, along {@link NEXT}; a stopped worker is not started again. */
export type WorkerLifecycle = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

const NEXT: Readonly<Record<WorkerLifecycle, readonly WorkerLifecycle[]>> = {
  created: ['starting'],
  // Straight to stopped when it cannot start (what it had opened is closed by then).
  starting: ['running', 'stopped'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

/** `to`, when a worker in state `from` may go there; throws otherwise (a bug in the worker, not a user's error). */
export function transition(from: WorkerLifecycle, to: WorkerLifecycle): WorkerLifecycle {
  if (!NEXT[from].includes(to)) throw new Error(`a worker cannot go from ${from} to ${to}`);
  return to;
}
