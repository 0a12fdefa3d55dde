/**
 * A worker's part in a chord, as Celery's Redis backend plays it (`on_chord_part_return`, 5.2.6 to 5.6): every
 * header member that ends (SUCCESS, FAILURE or REVOKED) records its end in the group's join set; the one that
 * completes the set applies the callback with every result in header order (nested, when the chord saved its
 * header because it holds groups), then deletes the group's chord keys; when a member failed, it stores the
 * callback's FAILURE (ChordError) and applies its errbacks, and the keys stay (until they expire), as Celery leaves
 * them. No `chord_unlock` task polls.
 *
 * Delivery: the part is recorded before the member's message is acked, and the keys are deleted only after the
 * callback went out. A worker that dies in between runs the member again (its record is replaced, not doubled), so
 * the callback is sent at least once, never lost.
 */
import { ResultTimeoutError, type ResultBackend } from '../backend/backend';
import type { Broker } from '../broker/transport';
import type { Logger } from '../log';
import type { ResultTuple } from '../protocol/canvas-apply';
import { CanvasError, chordCallback, chordErrbacks, signatureId, splitErrbacks, type FollowUpOptions, type FollowUps } from '../protocol/canvas';
import type { TaskRequest } from '../task';
import { ChordError, exceptionReprOf, joinChordMembers, type ChordJoin } from '../protocol/chord';
import type { Signature, TaskMessage } from '../protocol/message';
import { pyRepr } from '../protocol/pyrepr';
import { exceptionInfo, exceptionRepr, READY_STATES, type ExceptionInfo } from '../protocol/result';
import { errorMessage } from '../errors';

/**
 * The worker's side of new-style errbacks (Celery's: a task registered in the worker whose function takes more than
 * one argument is called by the worker with `(request, exc, traceback)` instead of being sent with the failed id).
 */
export interface NewStyleErrbacks {
  isNewStyle(errback: Signature): boolean;
  /** Run `errback` in this worker with the failed task's request, its exception (as stored) and traceback. */
  call(errback: Signature, request: TaskRequest, exc: ExceptionInfo, traceback: string | null): Promise<void>;
}

export interface ChordContext {
  broker: Broker;
  backend: ResultBackend;
  logger: Logger;
  /** How follow-ups are built (origin, routes, what to do with a signature that cannot be applied). */
  followUps: FollowUpOptions;
  /** New-style errbacks of a callback that will not run, called in this worker (see recorder.ts). */
  errbacks?: NewStyleErrbacks;
  /** This worker's node name (the made-up request of a callback that will not run names it). */
  hostname?: string;
}

/** A header member's end to report: the task's own, or a chain step's that its failure also fails. */
export interface ChordPart {
  id: string;
  groupId: string;
  groupIndex: number | null;
  chord: Signature;
  /** reply_to of the callback and errbacks, unless their signatures say. */
  replyTo: string;
  /** The task running (whose end reports): the callback's parent when its signature names none. */
  current: { id: string; rootId: string | null };
}

/** The chord part of a message, if it is a chord header member (a Celery worker ignores a chord without a group id too). */
export function chordPartOf(msg: TaskMessage): ChordPart | null {
  if (msg.embed.chord === null || msg.groupId === null) return null;
  return {
    id: msg.id, groupId: msg.groupId, groupIndex: msg.groupIndex, chord: msg.embed.chord,
    replyTo: msg.envelope.properties.reply_to, current: { id: msg.id, rootId: msg.rootId },
  };
}

/** Perform what a task's end asks for: the backend's effects (chord sizes, saved groups), then the messages. */
export async function performFollowUps(broker: Broker, backend: ResultBackend, followUps: FollowUps): Promise<void> {
  for (const effect of followUps.effects) {
    if (effect.kind === 'chord-size') await backend.groups.setChordSize(effect.groupId, effect.size);
    else if (effect.kind === 'save-group') await backend.groups.saveGroupTuple(effect.groupId, effect.result);
  }
  if (followUps.messages.length === 0) return;
  await broker.publishMany(followUps.messages.map((f) => ({ queue: f.queue, priority: f.priority, message: f.body })));
}

/**
 * The callback will not run: apply its errbacks (with its id), then store its FAILURE, as Celery's
 * `chord_error_from_stack` does. A callback without a task id has no result to fail; that is logged.
 */
async function failCallback(ctx: ChordContext, part: ChordPart, error: ChordError): Promise<void> {
  const callback = part.chord;
  const info = exceptionInfo(error);
  ctx.logger.log('error', `Chord '${part.groupId}' raised: ${exceptionRepr(info)}`);
  const callbackId = signatureId(callback);
  if (!callbackId) {
    ctx.logger.log('error', `Chord '${part.groupId}': its callback has no task_id, so no FAILURE could be stored for it`);
    return;
  }
  // Celery calls them with a request made up from the callback (`chord_error_from_stack`): new-style ones here,
  // the others sent with the callback's id.
  const o = callback.options ?? {};
  const { newStyle } = splitErrbacks(o.link_error === undefined || o.link_error === null ? [] : [o.link_error].flat(), ctx.followUps);
  for (const errback of newStyle) {
    const request: TaskRequest = {
      id: callbackId, task: callback.task, args: callback.args ?? [], kwargs: callback.kwargs ?? {}, retries: 0, queue: '', priority: 0,
      eta: null, expires: null, parentId: null, rootId: callbackId, groupId: null, hostname: ctx.hostname ?? '', redelivered: false, properties: {},
    };
    await ctx.errbacks?.call(errback, request, info, error.stack ?? null);
  }
  const errbacks = chordErrbacks(callback, callbackId, part.replyTo, ctx.followUps);
  await performFollowUps(ctx.broker, ctx.backend, errbacks);
  await ctx.backend.store({
    taskId: callbackId, state: 'FAILURE', result: info, traceback: error.stack ?? null,
    children: errbacks.children, layout: ctx.followUps.layout ?? '5.3',
  });
}

/**
 * The join of a chord whose header was saved (it holds groups): every result read back in the saved shape (a
 * group's as a list), as Celery's `GroupResult.join` gives them; a member that failed or was revoked fails the join
 * with its exception, as Celery's `Join error: <exception>`.
 */
/** How long the join of a saved chord header waits for its results (Celery's `result_chord_join_timeout`). */
const JOIN_TIMEOUT_MS = 3000;

async function joinSaved(backend: ResultBackend, saved: ResultTuple): Promise<ChordJoin> {
  const ids: string[] = [];
  const collect = (t: ResultTuple): void => {
    if (t[1]) t[1].forEach(collect);
    else ids.push(t[0][0]);
  };
  collect(saved);
  const metas = new Map((await backend.getMany(ids)).map((m, i) => [ids[i]!, m]));
  // Celery's join waits for each result (result_chord_join_timeout, 3 s): a group nested in the header sets its own
  // chord size when it is applied, so the set can count complete before every nested member has ended.
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  for (const id of ids) {
    const meta = metas.get(id);
    if (meta && READY_STATES.has(meta.status)) continue;
    try {
      metas.set(id, await backend.waitFor(id, Math.max(1, deadline - Date.now())));
    } catch (err) {
      if (!(err instanceof ResultTimeoutError)) throw err;
      return { ok: false, error: new ChordError("Join error: TimeoutError('The operation timed out.')") };
    }
  }
  let failed: ChordError | undefined;
  const value = (t: ResultTuple): unknown => {
    if (t[1]) return t[1].map(value);
    const meta = metas.get(t[0][0]);
    if (!failed && (meta?.status === 'FAILURE' || meta?.status === 'REVOKED')) failed = new ChordError(`Join error: ${exceptionReprOf(meta.result)}`);
    return meta?.result ?? null;
  };
  const results = (saved[1] ?? []).map(value);
  return failed ? { ok: false, error: failed } : { ok: true, results };
}

/**
 * Record that a chord header member ended; `member` is its encoded record (`chordMember()`, with its state and
 * result). When it completes the chord, apply the callback (or fail it) and delete the chord's keys. Throws only
 * for Redis errors, leaving the keys in place, so that the member's redelivery completes the chord.
 */
export async function returnChordPart(ctx: ChordContext, part: ChordPart, member: string): Promise<void> {
  const { groupId } = part;
  const progress = await ctx.backend.groups.recordPart({ groupId, taskId: part.id, groupIndex: part.groupIndex, member });
  let error: ChordError | undefined;
  /** Whether the callback's application was tried (its keys go then, whatever came of it). */
  let applied = false;
  if ('badSize' in progress) {
    // Celery's int() of the size fails in the same place, and it fails the callback for it.
    error = new ChordError(`Join error: ValueError(${pyRepr(`invalid literal for int() with base 10: ${pyRepr(progress.badSize)}`)})`);
  } else if (!progress.complete) {
    return;
  } else {
    let joined: ChordJoin;
    try {
      const saved = await ctx.backend.groups.restoreGroupTuple(groupId);
      joined = saved ? await joinSaved(ctx.backend, saved) : joinChordMembers(progress.members);
    } catch (err) {
      joined = { ok: false, error: new ChordError(`Join error: ${err instanceof Error ? err.name : 'Error'}(${pyRepr(errorMessage(err))})`) };
    }
    if (joined.ok) {
      applied = true;
      try {
        const callback = chordCallback(part, joined.results, ctx.followUps);
        await performFollowUps(ctx.broker, ctx.backend, callback);
        const sent = callback.messages.map((m) => `${m.name}[${m.id}]`).join(', ') || 'nothing';
        ctx.logger.log('info', `Chord '${groupId}' complete: applied its callback (sent ${sent})`);
      } catch (err) {
        if (!(err instanceof CanvasError)) throw err;
        error = new ChordError(`Callback error: ${err.name}(${pyRepr(err.message)})`);
      }
    } else {
      error = joined.error;
    }
  }
  if (error) await failCallback(ctx, part, error);
  // Celery deletes the chord's keys once its callback was applied (or failed to be); a chord whose join failed keeps
  // them (until they expire), and its join set tells which member failed.
  if (!error || applied) await ctx.backend.groups.clearChord(groupId);
}
