/**
 * Retrying a task from the window: Retry and Retry with Edited Args on a Failed row, in the Tasks view and in the
 * task view. The task goes again as a new task (a new id), so the failed attempt stays on record and the two are
 * linked; its dead-letter record and stored FAILURE go, so it is no longer listed as failed. Announced as Enqueue
 * is: one notification that becomes the result.
 */
import { randomUUID } from 'node:crypto';
import type { Inspector, ReplayOptions, TaskRecord } from '../runner/index';
import { announce } from './announce';
import type { Services } from './services';
import { failedIdentity, listFailed, type FailedTask } from './views/failed';
import { stepDone } from './walkthrough';

/** New arguments for the retry (absent: as they were). */
export type RetryEdits = Pick<ReplayOptions, 'args' | 'kwargs'>;

/** A Failed row, or a task known by its id (and its history record, when the caller has it). */
export type RetryTarget = { failed: FailedTask } | { id: string; record?: TaskRecord };

/**
 * Why a failed task cannot be sent again, or undefined when it can: an unreadable message has no task to run, and a
 * stored FAILURE without `result_extended` has no task name or arguments.
 */
export function notRetryable(node: FailedTask): string | undefined {
  if (node.kind === 'letter') return node.letter.task ? undefined : `the message cannot be read (${node.letter.error ?? 'not a task'})`;
  return node.meta.name ? undefined : 'its result has no task name (the worker does not keep result_extended)';
}

/** Send a failed task again under `taskId`: its exact message from the dead-letter list, or from its stored result. */
export async function sendFailedAgain(inspector: Inspector, node: FailedTask, taskId: string, edits: RetryEdits = {}): Promise<string> {
  const options = { ...edits, taskId };
  return node.kind === 'letter' ? inspector.replay(node.letter, options) : inspector.retryResult(node.meta, options);
}

/** The Failed view's row of task `id`, if it is listed there. */
export async function findFailed(inspector: Inspector, id: string): Promise<FailedTask | undefined> {
  const { tasks } = await listFailed(inspector);
  return tasks.find((node) => failedIdentity(node).id === id);
}

/** Retry one task as a new task; resolves to the new id once it is sent (its outcome is announced when it comes). */
export async function retry(s: Services, target: RetryTarget, edits: RetryEdits = {}): Promise<string> {
  try {
    await s.live.beforeSend();
    const inspector = await s.connection.inspector();
    const id = 'failed' in target ? failedIdentity(target.failed).id : target.id;
    const failed = 'failed' in target ? target.failed : await findFailed(inspector, target.id);
    const newId = randomUUID();
    let name: string;
    let queue: string;
    if (failed) {
      const why = notRetryable(failed);
      if (why) throw new Error(`cannot retry: ${why}`);
      const known = failedIdentity(failed);
      await sendFailedAgain(inspector, failed, newId, edits);
      name = known.name ?? 'task';
      queue = known.queue ?? (await s.connection.client()).defaultQueue;
    } else {
      const known = 'record' in target ? target.record : undefined;
      const record = known ?? (id ? await (await s.live.ensure())?.history.get(id) : undefined);
      if (!record) throw new Error(`task ${id} is not in the task history`);
      const call = await inspector.callOf(record);
      const client = await s.connection.client();
      await client.send(call.name, edits.args ?? call.args, edits.kwargs ?? call.kwargs, { taskId: newId, queue: call.queue });
      name = call.name;
      queue = call.queue ?? client.defaultQueue;
    }
    if (id) await s.links.add([id, newId]);
    stepDone('retried');
    const edited = edits.args !== undefined || edits.kwargs !== undefined ? 'edited retry' : 'retry';
    void announce(s, name, await (await s.connection.client()).asyncResult(newId), queue, id ? `${edited} of ${id.slice(0, 8)}` : edited);
    return newId;
  } finally {
    s.refresh.refreshNow();
    s.panels.refreshAll();
  }
}
