/**
 * The worker's events and their arguments, in one place: the worker's `on`/`once`/`off`/`emit` (and the recorder's
 * `emit`) are typed by {@link WorkerEventListeners}, so a changed signature is a compile error at every emitter and listener.
 */
import type { RevokeReason } from '../errors';
import type { TaskMessage } from '../protocol/message';
import type { ExceptionInfo } from '../protocol/result';

/** A worker's events (as BullMQ's `WorkerListener`): the task's id comes first in every task event. */
export interface WorkerEventListeners {
  /** A valid message of a registered task was taken (before any ETA wait, revoke or expiry check). */
  'task-received': (id: string, msg: TaskMessage) => void;
  'task-started': (id: string) => void;
  /** Once the result is stored and the message acked; `runtime` in seconds. */
  'task-succeeded': (id: string, value: unknown, runtime: number) => void;
  /** Once the FAILURE is stored and the message is in the dead-letter list. */
  'task-failed': (id: string, info: ExceptionInfo, traceback: string | null) => void;
  /** Once the retry is republished, RETRY stored and the message acked. */
  'task-retried': (id: string, info: ExceptionInfo) => void;
  /** Revoked, expired, or terminated on request; REVOKED is stored. */
  'task-revoked': (id: string, reason: RevokeReason) => void;
  /** A message that cannot run was moved to the dead-letter list; its task id and name when they could be read. */
  'dead-letter': (taskId: string | undefined, reason: string, taskName?: string) => void;
  /** Remote control asked for a warm stop (the worker stops on its next turn). */
  'shutdown-requested': () => void;
}

/** Emits a worker's events, checked against {@link WorkerEventListeners}. */
export type EmitWorkerEvent = <K extends keyof WorkerEventListeners>(event: K, ...args: Parameters<WorkerEventListeners[K]>) => void;
