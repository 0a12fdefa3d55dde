/** A handle on a task's result, like Celery's `AsyncResult`. */
import { dateDoneOf, failureFromMeta, type ResultMeta, type TaskState } from '../protocol/result';
import type { ResultStore } from './result-store';
import type { GroupResult } from './group-result';

export interface GetOptions {
  /** Milliseconds to wait. Default: for ever. */
  timeout?: number;
  /** Reject with the task's error when it failed (default true); false resolves with the exception info. */
  propagate?: boolean;
}

export class AsyncResult<R = unknown> {
  /**
   * @param parent what it was sent after, when the sender knows: a chord callback's header group (Celery's
   *   `AsyncResult.parent`).
   */
  constructor(readonly id: string, private readonly backend: ResultStore, readonly parent?: GroupResult) {}

  /**
   * The stored meta, or null while PENDING (nothing stored yet). With rpc://, the latest state this client received:
   * a task another client sent stays PENDING here, as in Celery.
   */
  meta(): Promise<ResultMeta | null> {
    return this.backend.get(this.id);
  }

  async state(): Promise<TaskState> {
    return (await this.meta())?.status ?? 'PENDING';
  }

  /**
   * When it became ready (Celery's `AsyncResult.date_done`), read from either Celery's form (5.2's naive UTC, 5.3+'s
   * with an offset); null while it is not ready.
   */
  async dateDone(): Promise<Date | null> {
    const meta = await this.meta();
    return meta ? dateDoneOf(meta) : null;
  }

  /**
   * Wait for the result (on the backend's subscription or, with rpc://, the client's reply queue; never by polling).
   * Resolves with the return value; rejects with a `TaskFailedError` carrying the remote type, message and traceback
   * when the task failed or was revoked, or a `TimeoutError` when `timeout` passes first.
   */
  async get(options: GetOptions = {}): Promise<R> {
    const meta = await this.backend.waitFor(this.id, options.timeout ?? Infinity);
    if (meta.status === 'SUCCESS' || options.propagate === false) return meta.result as R;
    throw failureFromMeta(meta);
  }

  /** Remove the stored result (rpc://: this client's copy). */
  forget(): Promise<void> {
    return this.backend.forget(this.id);
  }
}
