/**
 * Bulk actions on what a search found: retry or discard failed tasks, retry or revoke tasks of the history. Each
 * does to every task what its single action does (Inspector.replay / retryResult / discard, Control.revoke), up to
 * a limit, reports progress, stops when asked between tasks, and says what it did to which task.
 *
 *     const found = await searchFailures(inspector, parseQuery('exc:Timeout'), { limit: 1000, countAll: true });
 *     const outcome = await retryFailures(inspector, found.items, { limit: 1000 });
 *     // outcome.done retried; outcome.sent pairs each failed id with its new task's id
 */
import { randomUUID } from 'node:crypto';
import type { Radish } from '../app';
import { errorMessage } from '../errors';
import type { JsonObject } from '../protocol/message';
import type { ResultMeta } from '../protocol/result';
import type { TaskRecord, TaskRecordState } from './history';
import { failedEntryId, type FailedEntry, type FailedLetter, type SearchQuery } from './search';

/**
 * What the bulk actions do to one task: the Inspector's single actions, named here by their shape (the monitor sits
 * below the clients and does not import them).
 */
export interface FailureActions {
  /** Send a dead-lettered task again under `taskId` and remove its record (and stored FAILURE); throws when gone. */
  replay(letter: FailedLetter, options: { taskId: string }): Promise<string>;
  /** Send a stored failure again under `taskId` and remove the stored FAILURE. */
  retryResult(meta: ResultMeta, options: { taskId: string }): Promise<string>;
  /** Remove a dead-letter record and its stored FAILURE; false when it was gone. */
  discard(letter: FailedLetter): Promise<boolean>;
  /** Remove a stored FAILURE; false when there was none. */
  forgetFailure(taskId: string): Promise<boolean>;
}

/** How to send a task of the history again (the Inspector's callOf): its name, JSON arguments and queue. */
export interface CallReader {
  callOf(record: TaskRecord): Promise<{ name: string; args: unknown[]; kwargs: JsonObject; queue?: string }>;
}

/** A revoke on every worker, recorded for those that start later (the Control's revoke). */
export interface Revoker {
  revoke(ids: readonly string[], options: { reply: false }): Promise<unknown>;
}

export interface BulkOptions {
  /** Tasks acted on at most; the rest are left as they are (`skippedForLimit`). Default 1000. */
  limit?: number;
  /** Checked between tasks: once aborted, the action stops and says how far it got (`cancelled`). */
  signal?: AbortSignal;
  /** Called after each batch with how many tasks were handled so far, of how many will be. */
  onProgress?: (handled: number, total: number) => void;
}

export const BULK_DEFAULTS = { limit: 1000 } as const;

/** What a bulk action did. */
export interface BulkOutcome {
  /** Tasks it was given. */
  given: number;
  /** Tasks it tried (at most the limit; fewer when cancelled). */
  attempted: number;
  /** Tasks retried, discarded or revoked. */
  done: number;
  /** Tasks that had gone meanwhile (retried or discarded by someone else): nothing to do. */
  gone: number;
  /** Tasks it could not act on, with the reason (an unreadable message, a result without result_extended...). */
  refused: { id?: string; label: string; reason: string }[];
  /** Tasks left alone because of the limit. */
  skippedForLimit: number;
  cancelled: boolean;
  /** For a retry: [old id, new id] of every task sent again, to link them. */
  sent: [string, string][];
}

/** Tasks handled concurrently where the action allows it (sends, revokes): enough to overlap round trips. */
const PARALLEL = 50;
/** Ids per revoke broadcast: one message each, small enough for any worker to read at once. */
const REVOKE_CHUNK = 200;

function outcomeOf(given: number, limit: number): BulkOutcome {
  return { given, attempted: 0, done: 0, gone: 0, refused: [], skippedForLimit: Math.max(0, given - limit), cancelled: false, sent: [] };
}

function limitOf(options: BulkOptions): number {
  const limit = options.limit ?? BULK_DEFAULTS.limit;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`the bulk limit must be a positive integer, got ${limit}`);
  return limit;
}

/**
 * Run `act` on each item, `parallel` at a time, checking the signal between batches. `act` resolves to 'done' or
 * 'gone', or throws with why it could not.
 */
async function run<T>(items: readonly T[], options: BulkOptions, parallel: number, label: (item: T) => { id?: string; label: string },
  act: (item: T) => Promise<'done' | 'gone'>): Promise<BulkOutcome> {
  const limit = limitOf(options);
  const outcome = outcomeOf(items.length, limit);
  const chosen = items.slice(0, limit);
  for (let i = 0; i < chosen.length; i += parallel) {
    if (options.signal?.aborted) {
      outcome.cancelled = true;
      break;
    }
    const batch = chosen.slice(i, i + parallel);
    outcome.attempted += batch.length;
    const results = await Promise.allSettled(batch.map(act));
    results.forEach((r, j) => {
      if (r.status === 'fulfilled') outcome[r.value]++;
      else outcome.refused.push({ ...label(batch[j] as T), reason: errorMessage(r.reason) });
    });
    options.onProgress?.(outcome.attempted, chosen.length);
  }
  return outcome;
}

function failedLabel(entry: FailedEntry): { id?: string; label: string } {
  const id = failedEntryId(entry);
  const name = entry.kind === 'result' ? entry.meta.name ?? 'task' : entry.letter.task?.name ?? entry.letter.record.task ?? 'unreadable message';
  return { id, label: id ? `${name}[${id.slice(0, 8)}]` : name };
}

/** Why a failed task cannot be sent again, or undefined when it can. */
export function whyNotRetryable(entry: FailedEntry): string | undefined {
  if (entry.kind === 'letter') return entry.letter.task ? undefined : `the message cannot be read (${entry.letter.error ?? 'not a task'})`;
  return entry.meta.name ? undefined : 'its result has no task name (the worker does not keep result_extended)';
}

const GONE = /no longer in the dead-letter queue/;

/** Send one failed task again as a new task (Retry on a Failed row): its id, or 'gone'. */
async function retryOne(inspector: FailureActions, entry: FailedEntry, sent: [string, string][]): Promise<'done' | 'gone'> {
  const why = whyNotRetryable(entry);
  if (why) throw new Error(why);
  const taskId = randomUUID();
  try {
    if (entry.kind === 'letter') await inspector.replay(entry.letter, { taskId });
    else await inspector.retryResult(entry.meta, { taskId });
  } catch (err) {
    if (GONE.test(errorMessage(err))) return 'gone';
    throw err;
  }
  const was = failedEntryId(entry);
  if (was) sent.push([was, taskId]);
  return 'done';
}

/**
 * Retry failed tasks, each as Retry on its row does: sent again as a new task (a new id, so the failure stays on
 * record beside it), its dead-letter record and stored FAILURE removed. One at a time: a dead letter is taken by an
 * atomic replay that must find its record, and RabbitMQ's dead-letter queue is read whole for each, so two at once
 * would hide records from each other.
 */
export async function retryFailures(inspector: FailureActions, entries: readonly FailedEntry[], options: BulkOptions = {}): Promise<BulkOutcome> {
  const sent: [string, string][] = [];
  const outcome = await run(entries, options, 1, failedLabel, (entry) => retryOne(inspector, entry, sent));
  outcome.sent = sent;
  return outcome;
}

/**
 * Discard failed tasks, each as Discard on its row does: its dead-letter record and its stored FAILURE. One at a
 * time, for the reason {@link retryFailures} gives.
 */
export async function discardFailures(inspector: FailureActions, entries: readonly FailedEntry[], options: BulkOptions = {}): Promise<BulkOutcome> {
  return run(entries, options, 1, failedLabel, async (entry) => {
    const removed = entry.kind === 'letter' ? await inspector.discard(entry.letter) : await inspector.forgetFailure(entry.meta.task_id);
    return removed ? 'done' : 'gone';
  });
}

function recordLabel(record: TaskRecord): { id: string; label: string } {
  return { id: record.id, label: `${record.name ?? 'task'}[${record.id.slice(0, 8)}]` };
}

/**
 * Retry tasks of the history, each as Retry Task does: sent again as a new task with the same name, arguments and
 * queue (Inspector.callOf), or, for a task listed among the failures (`failures`, by id), from its failure as
 * {@link retryFailures} does. Sends run 50 at a time; failures one at a time.
 */
export async function retryTasks(app: Radish, inspector: FailureActions & CallReader, records: readonly TaskRecord[],
  options: BulkOptions & { failures?: ReadonlyMap<string, FailedEntry> } = {}): Promise<BulkOutcome> {
  const sent: [string, string][] = [];
  const failing = options.failures;
  // The failures first and alone (see retryFailures), then the rest in parallel; the limit counts both.
  const limit = limitOf(options);
  const chosen = records.slice(0, limit);
  const viaFailure = chosen.filter((r) => failing?.has(r.id));
  const viaCall = chosen.filter((r) => !failing?.has(r.id));
  const total = chosen.length;
  const progress = (offset: number) => (handled: number) => options.onProgress?.(offset + handled, total);
  const first = await run(viaFailure, { ...options, limit, onProgress: progress(0) }, 1, recordLabel,
    (r) => retryOne(inspector, failing!.get(r.id)!, sent));
  const second = first.cancelled ? outcomeOf(viaCall.length, limit) : await run(viaCall, { ...options, limit, onProgress: progress(viaFailure.length) },
    PARALLEL, recordLabel, async (record) => {
      const call = await inspector.callOf(record);
      const taskId = randomUUID();
      await app.send(call.name, call.args, call.kwargs, { taskId, queue: call.queue });
      sent.push([record.id, taskId]);
      return 'done';
    });
  return {
    given: records.length, attempted: first.attempted + second.attempted, done: first.done + second.done, gone: first.gone + second.gone,
    refused: [...first.refused, ...second.refused], skippedForLimit: Math.max(0, records.length - limit),
    cancelled: first.cancelled || second.cancelled || (options.signal?.aborted === true && first.attempted + second.attempted < total), sent,
  };
}

/**
 * Revoke tasks on every worker, as Revoke Task does (recorded for workers that start later too), 200 ids per
 * broadcast, without waiting for replies: a bulk revoke is told by the count, not by which worker answered.
 */
export async function revokeTasks(control: Revoker, ids: readonly string[], options: BulkOptions = {}): Promise<BulkOutcome> {
  const limit = limitOf(options);
  const outcome = outcomeOf(ids.length, limit);
  const chosen = ids.slice(0, limit);
  for (let i = 0; i < chosen.length; i += REVOKE_CHUNK) {
    if (options.signal?.aborted) {
      outcome.cancelled = true;
      break;
    }
    const chunk = chosen.slice(i, i + REVOKE_CHUNK);
    outcome.attempted += chunk.length;
    try {
      await control.revoke(chunk, { reply: false });
      outcome.done += chunk.length;
    } catch (err) {
      for (const id of chunk) outcome.refused.push({ id, label: id.slice(0, 8), reason: errorMessage(err) });
    }
    options.onProgress?.(outcome.attempted, chosen.length);
  }
  return outcome;
}

/**
 * What a bulk action did, in one sentence: `Retried 1,000 of 2,340 matching; run again for the rest.`, with the
 * tasks that had gone, that could not be done (up to 3 named) and a cancel.
 */
export function bulkSummary(verb: string, outcome: BulkOutcome, matched = outcome.given): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const parts = [`${verb} ${n(outcome.done)} of ${n(matched)} matching`];
  if (outcome.gone) parts.push(`${n(outcome.gone)} had gone already`);
  if (outcome.refused.length) {
    const named = outcome.refused.slice(0, 3).map((r) => `${r.label}: ${r.reason}`).join('; ');
    parts.push(`${n(outcome.refused.length)} could not be: ${named}${outcome.refused.length > 3 ? `; and ${n(outcome.refused.length - 3)} more` : ''}`);
  }
  if (outcome.cancelled) parts.push('cancelled');
  if (matched > outcome.attempted && !outcome.cancelled) parts.push('run again for the rest');
  else if (outcome.cancelled) parts.push(`${n(matched - outcome.attempted)} left as they were`);
  return `${parts.join('; ')}.`;
}

const UNFINISHED: ReadonlySet<string> = new Set(['SENT', 'RECEIVED', 'STARTED', 'RETRY']);

/** Whether a revoke can still change what happens to the task: it has not succeeded, failed or been revoked. */
export function isUnfinished(record: TaskRecord): boolean {
  return UNFINISHED.has(record.state);
}

/** What a bulk action run again leaves out, so that a second run acts on the rest of the matches. */
export interface BulkPick {
  /** Ids already acted on: retried (the earlier attempts of retry links), revoked (the revoked store). */
  done: (id: string) => boolean;
  /**
   * The action's start, unix seconds: tasks the history first saw after it are left out (a retry's copies, which
   * match the same filter). Default: none left out.
   */
  before?: number;
}

/** The states a bulk retry takes when the query names none: finished without success. */
export const RETRY_STATES: readonly TaskRecordState[] = ['FAILURE', 'REVOKED'];

function firstSeen(record: TaskRecord): number {
  return record.sent ?? record.received ?? record.events[0]?.timestamp ?? record.updated;
}

/**
 * The tasks a bulk retry sends again, of those a search found: finished ones only (a task still queued or running
 * would run twice), FAILURE and REVOKED unless the query names states with `state:` (then the finished states it
 * accepts, SUCCESS included: the user asked for them); never one already retried, nor one newer than the action.
 */
export function retryCandidates(records: readonly TaskRecord[], query: SearchQuery, pick: BulkPick): TaskRecord[] {
  const states = (state: string) => query.state.length ? !UNFINISHED.has(state) && query.state.every((accepted) => accepted.includes(state))
    : (RETRY_STATES as readonly string[]).includes(state);
  return records.filter((r) => states(r.state) && !pick.done(r.id) && (pick.before === undefined || firstSeen(r) < pick.before));
}

/**
 * The tasks a bulk revoke revokes, of those a search found: unfinished ones not revoked already (a revoked task stays
 * SENT in the history until a worker drops it, so without this a second run would revoke the same ones again).
 */
export function revokeCandidates(records: readonly TaskRecord[], pick: BulkPick): TaskRecord[] {
  return records.filter((r) => isUnfinished(r) && !pick.done(r.id) && (pick.before === undefined || firstSeen(r) < pick.before));
}
