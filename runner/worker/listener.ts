/**
 * The worker's events and their arguments, in one place: the worker's `on`/`once`/`off`/`emit` (and the recorder's
 * `emit`) are typed by {@link WorkerEventListeners}, so a changed signature is a compile error at every emitter and listener.
 */
import type { RevokeReason } from '../errors';
import type { TaskMessage } from '../protocol/message';
import type { ExceptionInfo } from '../protocol/result';

/** A worker's events (as BullMQ's `WorkerListener`): the task's id comes first in every task event. */
export interface WorkerEventListeners {
  /**
   * A valid message of a registered task was taken (before any ETA wait, revoke or expiry check); `queue` is the
   * queue it was taken from (not its routing key: a binding such as `feed.#` routes many keys to one queue).
   */
  'task-received': (id: string, msg: TaskMessage, queue: string) => void;
  'task-started': (id: string) => void;
  /** Once the result is stored and the message acked; `runtime` in seconds. */
  'task-succeeded': (id: string, value: unknown, runtime: number) => void;
  /** Once the FAILURE is stored and the message is in the dead-letter list. */
  'task-failed': (id: string, info: ExceptionInfo, traceback: string | null) => void;
  /** Once the retry is republished, RETRY stored and the message acked. */
  'task-retried': (id: string, info: ExceptionInfo) => void;
  /** Revoked, expired, or terminated on request; REVOKED is stored. */
  'task-revoked': (id: string, reason: RevokeReason) => void;
  /**
   * A received task leaves the worker without an outcome: given back at a stop (waiting for its ETA or a slot, or
   * interrupted by a cold stop), or its outcome or revoke could not be recorded (it will be delivered again). Every
   * `task-received` ends with one outcome event or this; `started` tells whether it had started.
   */
  'task-released': (id: string, started: boolean) => void;
  /**
   * A message that cannot run was moved to the dead-letter list; its task id and name when they could be read, and
   * the queue it was taken from.
   */
  'dead-letter': (taskId: string | undefined, reason: string, taskName?: string, queue?: string) => void;
  /** Remote control asked for a warm stop (the worker stops on its next turn). */
  'shutdown-requested': () => void;
}

/** Emits a worker's events, checked against {@link WorkerEventListeners}. */
export type EmitWorkerEvent = <K extends keyof WorkerEventListeners>(event: K, ...args: Parameters<WorkerEventListeners[K]>) => void;
