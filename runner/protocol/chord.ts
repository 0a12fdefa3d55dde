/**
 * Chords on Celery's Redis result backend, the pure half: the record each header member leaves in the
 * `celery-taskset-meta-<group>.j` sorted set, and reading those records back into the callback's argument or the
 * ChordError Celery raises instead. No I/O.
 *
 * What Celery 5.2.6 does (celery/backends/redis.py, `on_chord_part_return` and `_unpack_chord_result`):
 * - each header member, when it ends (SUCCESS, FAILURE or REVOKED), ZADDs `[1, task_id, state, result]` (its value,
 *   or its exception as `{exc_type, exc_message, exc_module}`) scored by its `group_index`;
 * - the member that brings the count to the chord size reads the set in score order: a member that failed or was
 *   revoked turns the whole join into `ChordError("Dependency <id> raised <repr of its exception>")`, anything
 *   unreadable into `ChordError("Join error: ...")`.
 */
import { pyRepr } from './pyrepr';
import { pythonJson } from './python-json';
import { exceptionRepr, type ExceptionInfo, type TaskState } from './result';
import { errorMessage } from '../errors';

/** Celery's `celery.exceptions.ChordError`: the callback cannot run. Stored as the callback's FAILURE. */
export class ChordError extends Error {
  override readonly name = 'ChordError';
  /** Read by `exceptionInfo`, so Python re-raises the real `celery.exceptions.ChordError`. */
  readonly excModule = 'celery.exceptions';
}

/** States that end a header member (Celery's READY_STATES); a chord part is recorded for each. */
export type ChordPartState = Extract<TaskState, 'SUCCESS' | 'FAILURE' | 'REVOKED'>;

/** States of a member that make the chord fail (Celery's PROPAGATE_STATES). */
const PROPAGATE = new Set(['FAILURE', 'REVOKED']);

/**
 * A member of the join set, byte for byte as Celery's worker writes it (kombu's JSON: `", "` and `": "`), so that a
 * member recorded twice (a redelivered task) is one member, whichever kind of worker recorded it. Throws TypeError
 * for a value JSON cannot hold.
 */
export function chordMember(taskId: string, state: ChordPartState, result: unknown): string {
  return pythonJson([1, taskId, state, result === undefined ? null : result]);
}

/** Python's repr of the exception Celery rebuilds from `{exc_type, exc_message, exc_module}`: `ValueError('kaboom')`. */
export function exceptionReprOf(value: unknown): string {
  if (typeof value !== 'object' || value === null || typeof (value as ExceptionInfo).exc_type !== 'string') return pyRepr(value);
  return exceptionRepr(value as ExceptionInfo);
}

/** What the join of a complete chord gives: the callback's argument, or why the callback fails. */
export type ChordJoin = { ok: true; results: unknown[] } | { ok: false; error: ChordError };

/** Read the join set's members, already in score (group_index) order, as Celery's `_unpack_chord_result` does. */
export function joinChordMembers(members: readonly string[]): ChordJoin {
  const results: unknown[] = [];
  for (const raw of members) {
    let member: unknown;
    try {
      member = JSON.parse(raw);
    } catch (err) {
      return { ok: false, error: new ChordError(`Join error: ${(err as Error).name}(${pyRepr(errorMessage(err))})`) };
    }
    if (!Array.isArray(member) || member.length !== 4 || typeof member[1] !== 'string' || typeof member[2] !== 'string') {
      return { ok: false, error: new ChordError(`Join error: ValueError(${pyRepr(`not a chord part record: ${raw.slice(0, 200)}`)})`) };
    }
    const [, taskId, state, value] = member as [unknown, string, string, unknown];
    if (PROPAGATE.has(state)) return { ok: false, error: new ChordError(`Dependency ${taskId} raised ${exceptionReprOf(value)}`) };
    results.push(value);
  }
  return { ok: true, results };
}
