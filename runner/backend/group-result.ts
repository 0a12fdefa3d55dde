/** A handle on the results of a group's members, like Celery's `GroupResult`. */
import { failureFromMeta, READY_STATES, type ResultMeta } from '../protocol/result';
import { AsyncResult, type GetOptions } from './async-result';
import type { ResultStore } from './result-store';

export class GroupResult<R = unknown> {
  /** One handle per member, in the order they were given. */
  readonly results: AsyncResult<R>[];

  constructor(readonly id: string, taskIds: readonly string[], private readonly backend: ResultStore) {
    this.results = taskIds.map((taskId) => new AsyncResult<R>(taskId, backend));
  }

  /** The members' task ids, in order. */
  get ids(): string[] {
    return this.results.map((r) => r.id);
  }

  /** The members' stored metas in one round-trip, null for those still PENDING. */
  metas(): Promise<(ResultMeta | null)[]> {
    return this.backend.getMany(this.ids);
  }

  /** Whether every member has ended (SUCCESS, FAILURE or REVOKED). */
  async ready(): Promise<boolean> {
    return (await this.metas()).every((m) => m !== null && READY_STATES.has(m.status));
  }

  /**
   * Wait for every member and resolve with their results in order (Celery's `GroupResult.get()`/`join()`).
   * `timeout` (ms) is one deadline for the whole group. With `propagate` (the default) it rejects with the first
   * failure in member order, as Celery's join does; with `propagate: false` a failed member's place holds its
   * exception info. Results already stored are read in one MGET; only the others are waited for.
   */
  async get(options: GetOptions = {}): Promise<R[]> {
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
    const stored = await this.metas();
    const values: R[] = [];
    for (const [i, result] of this.results.entries()) {
      let meta = stored[i] ?? null;
      if (meta === null || !READY_STATES.has(meta.status)) {
        meta = await this.backend.waitFor(result.id, Math.max(0, deadline - Date.now()));
      }
      if (meta.status !== 'SUCCESS' && options.propagate !== false) throw failureFromMeta(meta);
      values.push(meta.result as R);
    }
    return values;
  }

  /**
   * Store the group's member ids as Celery's `GroupResult.save()` does (`celery-taskset-meta-<id>`), so that any
   * process, Python's `GroupResult.restore(id)` included, can find its members again. Kept as long as results.
   * Rejects with a `NotImplementedError` on the rpc:// backend, which keeps no groups (as Celery's).
   */
  save(): Promise<void> {
    return this.backend.groups.saveGroup(this.id, this.ids);
  }

  /** Remove the saved group (not the members' results). */
  async forget(): Promise<void> {
    await this.backend.groups.deleteGroup(this.id);
  }
}
