/**
 * Errors a task or its caller can meet, named as Celery (and billiard, its process pool) names them, so a Python
 * client reading the stored result re-raises the same exception type.
 */

/** Raised inside a task (through its AbortSignal) when its soft time limit passes; the task may catch it and clean up. */
export class SoftTimeLimitExceeded extends Error {
  override readonly name = 'SoftTimeLimitExceeded';
  readonly excModule = 'billiard.exceptions';
  constructor(readonly limit: number) {
    super(`soft time limit (${limit}s) exceeded`);
  }
}

/** The stored failure of a task that ran past its hard time limit. */
export class TimeLimitExceeded extends Error {
  override readonly name = 'TimeLimitExceeded';
  readonly excModule = 'billiard.exceptions';
  constructor(readonly limit: number) {
    super(`hard time limit (${limit}s) exceeded`);
  }
}

/** The stored failure of a task whose pool process died under it (a crash, an OOM kill). */
export class WorkerLostError extends Error {
  override readonly name = 'WorkerLostError';
  readonly excModule = 'billiard.exceptions';
}

/** Why a task was revoked: `revoked` before it ran, `expired`, or `terminated` while running. */
export type RevokeReason = 'revoked' | 'expired' | 'terminated';

/** The stored REVOKED result (and the error `AsyncResult.get()` rejects with). */
export class TaskRevokedError extends Error {
  override readonly name = 'TaskRevokedError';
  readonly excModule = 'celery.exceptions';
  constructor(readonly reason: RevokeReason) {
    super(reason);
  }
}

/**
 * The message of anything thrown: an Error's message (its name when the message is empty), else its string form.
 * `catch` binds `unknown`, and a library may throw a string or an object.
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
