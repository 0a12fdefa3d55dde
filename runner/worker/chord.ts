/**
 * A worker's part in a chord, as Celery's Redis backend plays it (`on_chord_part_return`, 5.2.6 to 5.6): every
 * header member that ends (SUCCESS, FAILURE or REVOKED) records its end in the group's join set; the one that
 * completes the set sends the callback with every result in header order, or, when a member failed, stores the
 * callback's FAILURE (ChordError) and applies its errbacks; then it deletes the group's chord keys. No `chord_unlock`
 * task polls.
 *
 * Delivery: the part is recorded before the member's message is acked, and the keys are deleted only after the
 * callback went out. A worker that dies in between runs the member again (its record is replaced, not doubled), so
 * the callback is sent at least once, never lost.
 */
import type { ResultBackend } from '../backend/backend';
import type { Broker } from '../broker/broker';
import type { Logger } from '../log';
import { CanvasError, chordCallback, chordErrbacks, signatureId, type FollowUp, type FollowUpOptions } from '../protocol/canvas';
import { ChordError, joinChordMembers } from '../protocol/chord';
import type { TaskMessage } from '../protocol/message';
import { pyRepr } from '../protocol/pyrepr';
import { exceptionInfo, exceptionRepr } from '../protocol/result';

export interface ChordContext {
  broker: Broker;
  backend: ResultBackend;
  logger: Logger;
  /** How follow-ups are built (origin, routes, what to do with a signature that cannot be applied). */
  followUps: FollowUpOptions;
}

/** Whether a message is a chord header member (a Celery worker ignores a chord without a group id too). */
export function isChordPart(msg: TaskMessage): boolean {
  return msg.embed.chord !== null && msg.groupId !== null;
}

async function publish(ctx: ChordContext, followUps: FollowUp[]): Promise<void> {
  if (followUps.length === 0) return;
  await ctx.broker.publishMany(followUps.map((f) => ({ queue: f.queue, priority: f.priority, message: f.body })));
}

/**
 * The callback will not run: apply its errbacks (with its id), then store its FAILURE, as Celery's
 * `chord_error_from_stack` does. A callback without a task id has no result to fail; that is logged.
 */
async function failCallback(ctx: ChordContext, msg: TaskMessage, error: ChordError): Promise<void> {
  const callback = msg.embed.chord!;
  const info = exceptionInfo(error);
  ctx.logger.log('error', `Chord '${msg.groupId}' raised: ${exceptionRepr(info)}`);
  const callbackId = signatureId(callback);
  if (!callbackId) {
    ctx.logger.log('error', `Chord '${msg.groupId}': its callback has no task_id, so no FAILURE could be stored for it`);
    return;
  }
  const errbacks = chordErrbacks(callback, callbackId, msg.envelope.properties.reply_to, ctx.followUps);
  await publish(ctx, errbacks);
  await ctx.backend.store({
    taskId: callbackId, state: 'FAILURE', result: info, traceback: error.stack ?? null,
    children: errbacks.map((f) => [[f.id, null], null]), layout: ctx.followUps.layout ?? '5.3',
  });
}

/**
 * Record that `msg`, a chord header member, ended; `member` is its encoded record (`chordMember()`, with its state
 * and result). When it completes the chord, send the callback (or fail it) and delete the chord's keys; a message
 * that is no chord member is left alone. Throws only for Redis errors, leaving the keys in place, so that the
 * member's redelivery completes the chord.
 */
export async function returnChordPart(ctx: ChordContext, msg: TaskMessage, member: string): Promise<void> {
  if (!isChordPart(msg)) return;
  const groupId = msg.groupId!;
  const progress = await ctx.backend.groups.recordPart({ groupId, taskId: msg.id, groupIndex: msg.groupIndex, member });
  let error: ChordError | undefined;
  if ('badSize' in progress) {
    // Celery's int() of the size fails in the same place, and it fails the callback for it.
    error = new ChordError(`Join error: ValueError(${pyRepr(`invalid literal for int() with base 10: ${pyRepr(progress.badSize)}`)})`);
  } else if (!progress.complete) {
    return;
  } else {
    const joined = joinChordMembers(progress.members);
    if (joined.ok) {
      try {
        const callback = chordCallback(msg, joined.results, ctx.followUps);
        await publish(ctx, [callback]);
        ctx.logger.log('info', `Chord '${groupId}' complete: sent its callback ${callback.name}[${callback.id}] to queue ${callback.queue}`);
      } catch (err) {
        if (!(err instanceof CanvasError)) throw err;
        error = new ChordError(`Callback error: ${err.name}(${pyRepr(err.message)})`);
      }
    } else {
      error = joined.error;
    }
  }
  if (error) await failCallback(ctx, msg, error);
  await ctx.backend.groups.clearChord(groupId);
}
