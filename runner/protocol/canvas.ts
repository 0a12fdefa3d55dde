/**
 * Celery's canvas at a task's end, as Celery's worker plays it (celery/app/trace.py, celery/backends/base.py and
 * redis.py, 5.2.6 to 5.6), on top of ./canvas-apply.ts, which applies any signature as Celery does:
 * - success: one link callback is applied with the result prepended (unless immutable); several are applied as
 *   one group (each group among them as a group of its own); then the LAST element of `chain` is popped and applied
 *   the same way, carrying the rest of the chain. A callback or step may be a task, a chain, a group or a chord.
 * - failure: the errbacks are applied as one group with the failed task's id prepended (the "old-style" errback;
 *   new-style errbacks taking `(request, exc, traceback)` are Python functions a TypeScript worker cannot call).
 * - a chord complete: its callback is applied with the header's results as ONE argument; a chord that cannot
 *   complete applies its callback's errbacks with the callback's id.
 * Every follow-up has `parent_id` = the ended task's id and keeps its `root_id`, unless its signature says
 * otherwise. The messages are in the layout of the fleet's Celery (`layout`).
 */
import { isObject, type JsonObject } from './json';
import type { TaskMessage } from './message-types';
import { stampOptions } from './stamps';
import type { Signature, TaskCall } from './task-call';
import { asSignature, Canvas, CanvasError, groupSignature, resultTuple, type CanvasEffect, type CurrentTask, type FollowUp, type FollowUpRouter, type ResultTuple } from './canvas-apply';
import type { CeleryLayout } from './celery-version';
import { isoWithOffset } from './time';

export { CanvasError, type CanvasEffect, type FollowUp, type FollowUpRouter } from './canvas-apply';

export interface FollowUpOptions {
  /** Celery's `origin` header of the publishing worker. */
  origin: string;
  /** Routes for signatures without a queue. Default: everything to `celery`. */
  route?: FollowUpRouter;
  /** New task and delivery-tag ids. Default `randomUUID` (tests pass a fixed source). */
  newId?: () => string;
  /**
   * Told of a signature that cannot be applied (malformed, no task name), which is then skipped so that the others
   * still go. Default: throw the CanvasError.
   */
  onSkip?: (sig: unknown, err: CanvasError) => void;
  /** The message layout of the fleet's Celery (see runner/protocol/celery-version.ts). Default `'5.3'`. */
  layout?: CeleryLayout;
  /**
   * Whether an errback is a "new-style" one this worker calls itself with `(request, exc, traceback)` (Celery: a task
   * registered in the worker whose function takes more than one argument): left out of the errbacks sent as
   * messages. Default: none is.
   */
  newStyle?: (errback: Signature) => boolean;
  /** Headers to add to each follow-up message, given its call (the ended run's trace context). Default none. */
  extraHeaders?: ((call: TaskCall) => JsonObject) | undefined;
}

/** The errbacks among `errbacks` that `opts.newStyle` says the worker calls itself, and the others (sent, old-style). */
export function splitErrbacks(errbacks: readonly unknown[], opts: FollowUpOptions): { newStyle: Signature[]; oldStyle: unknown[] } {
  const newStyle: Signature[] = [];
  const oldStyle: unknown[] = [];
  for (const e of errbacks) {
    const sig = isObject(e) && !e.subtask_type && typeof e.task === 'string' ? asSignature(e) : undefined;
    if (sig && opts.newStyle?.(sig)) newStyle.push(sig);
    else oldStyle.push(e);
  }
  return { newStyle, oldStyle };
}

/** What a task's end asks for: the backend's effects (chord sizes, saved groups) and the messages, in order. */
export interface FollowUps {
  effects: CanvasEffect[];
  messages: FollowUp[];
  /** The `children` the ended task's result lists for them, as Celery stores them (a group as one entry). */
  children: ResultTuple[];
}

/** A canvas applying follow-ups of `msg`: the task it ran is their parent, its reply_to theirs unless they say. */
function canvasFor(msg: TaskMessage, opts: FollowUpOptions): Canvas {
  return new Canvas({
    origin: opts.origin, replyTo: msg.envelope.properties.reply_to, route: opts.route, newId: opts.newId,
    layout: opts.layout, current: { id: msg.id, rootId: msg.rootId }, extraHeaders: opts.extraHeaders,
  });
}

/**
 * Apply each item on its own: one that cannot be applied is skipped (told to `onSkip`, or thrown without it) and
 * leaves nothing behind, so the others still go.
 */
function applyEach(canvas: Canvas, items: [unknown, unknown[], JsonObject][], opts: FollowUpOptions): FollowUps {
  for (const [sig, args, options] of items) {
    try {
      canvas.applyWhole(asSignature(sig), args, {}, options);
    } catch (err) {
      if (!(err instanceof CanvasError) || !opts.onSkip) throw err;
      opts.onSkip(sig, err);
    }
  }
  return followUpsOf(canvas);
}

function followUpsOf(canvas: Canvas): FollowUps {
  return { effects: canvas.effects, messages: canvas.messages, children: canvas.trail.map(resultTuple) };
}

/** The `parent_id` and `root_id` options of what `msg`'s end applies. */
function lineage(msg: TaskMessage): JsonObject {
  return { parent_id: msg.id, root_id: msg.rootId ?? msg.id };
}

/**
 * What to apply after `msg` succeeded with `result`: its link callbacks (several as one group, as Celery's worker
 * sends them), then the next chain step carrying the rest of the chain.
 */
export function successFollowUps(msg: TaskMessage, result: unknown, opts: FollowUpOptions): FollowUps {
  const ids = lineage(msg);
  const items: [unknown, unknown[], JsonObject][] = [];
  const callbacks = msg.embed.callbacks ?? [];
  if (callbacks.length > 1) {
    const groups = callbacks.filter((c) => isObject(c) && c.subtask_type === 'group');
    const tasks = callbacks.filter((c) => !(isObject(c) && c.subtask_type === 'group'));
    for (const g of groups) items.push([g, [result], ids]);
    if (tasks.length) items.push([groupSignature(tasks), [result], ids]);
  } else if (callbacks.length === 1) {
    items.push([callbacks[0], [result], ids]);
  }
  // Celery keeps the chain reversed so that the next step is a cheap pop from the end.
  const chain = msg.embed.chain;
  if (chain && chain.length > 0) items.push([chain[chain.length - 1], [result], { ...ids, chain: chain.slice(0, -1) }]);
  return applyEach(canvasFor(msg, opts), items, opts);
}

/**
 * What to apply after `msg` failed for good: its old-style errbacks, as one group, each called with the failed
 * task's id (the new-style ones, `opts.newStyle`, are the worker's to call).
 */
export function failureFollowUps(msg: TaskMessage, opts: FollowUpOptions): FollowUps {
  const errbacks = splitErrbacks(msg.embed.errbacks ?? [], opts).oldStyle;
  const items: [unknown, unknown[], JsonObject][] = errbacks.length ? [[groupSignature(errbacks as Signature[]), [msg.id], lineage(msg)]] : [];
  return applyEach(canvasFor(msg, opts), items, opts);
}

/**
 * The chain steps still to come after `msg`, which its failure fails too (Celery's `mark_as_failure` stores the
 * failure under each step's id, and a step that is a chord's header member reports to its chord), last step first.
 */
export function failedChainSteps(msg: TaskMessage): { id: string; groupId: string | null; groupIndex: number | null; chord: Signature | null }[] {
  const out: { id: string; groupId: string | null; groupIndex: number | null; chord: Signature | null }[] = [];
  for (const step of msg.embed.chain ?? []) {
    if (!isObject(step) || !isObject(step.options)) continue;
    const o = step.options;
    if (typeof o.task_id !== 'string' || o.task_id === '') continue;
    out.push({
      id: o.task_id,
      groupId: typeof o.group_id === 'string' ? o.group_id : null,
      groupIndex: typeof o.group_index === 'number' ? o.group_index : null,
      chord: isObject(o.chord) ? asSignature(o.chord) : null,
    });
  }
  return out;
}

/**
 * The chord callback's application once every header member has ended: the header's results, in group_index order,
 * prepended as ONE argument (Celery's `callback.delay(results)`), applied while `part.current`, the header member
 * whose end completed the set, is the running task. Throws CanvasError when the callback cannot be applied.
 */
export function chordCallback(part: { chord: Signature; replyTo: string; current: CurrentTask }, results: unknown[], opts: FollowUpOptions): FollowUps {
  const canvas = new Canvas({
    origin: opts.origin, replyTo: part.replyTo, route: opts.route, newId: opts.newId, layout: opts.layout, current: part.current,
    extraHeaders: opts.extraHeaders,
  });
  canvas.applyWhole(asSignature(part.chord), [results]);
  return followUpsOf(canvas);
}

/** The id a signature will run under (`options.task_id`, set by Celery's `freeze()`), if it has one. */
export function signatureId(sig: Signature): string | undefined {
  return isObject(sig) && isObject(sig.options) && typeof sig.options.task_id === 'string' && sig.options.task_id !== '' ? sig.options.task_id : undefined;
}

/**
 * The errbacks of a chord callback that will not run (a header member failed): its `link_error` signatures, as one
 * group, each called with the callback's id, as children of the callback. Celery's `chord_error_from_stack` does
 * this with a request made up from the callback, so the callback is also their root.
 */
export function chordErrbacks(callback: Signature, callbackId: string, replyTo: string, opts: FollowUpOptions): FollowUps {
  const o = isObject(callback) && isObject(callback.options) ? callback.options : {};
  const errbacks = splitErrbacks(o.link_error === undefined || o.link_error === null ? [] : [o.link_error].flat(), opts).oldStyle;
  const canvas = new Canvas({ origin: opts.origin, replyTo, route: opts.route, newId: opts.newId, layout: opts.layout, current: null, extraHeaders: opts.extraHeaders });
  const items: [unknown, unknown[], JsonObject][] = errbacks.length
    ? [[groupSignature(errbacks.map(asSignature)), [callbackId], { parent_id: callbackId, root_id: callbackId }] as [unknown, unknown[], JsonObject]]
    : [];
  return applyEach(canvas, items, opts);
}

/** When, where and how a task runs: the options a call and a signature share (Celery's `apply_async` options). */
export interface CallOptions {
  /** The id it will run under. Default: a new UUID when it is sent. */
  taskId?: string;
  /** Default: the sending app's routes, else its default queue. */
  queue?: string;
  /** 0..9, 0 served first on Redis. */
  priority?: number;
  /** Seconds from its sending before it may run. */
  countdown?: number;
  /** Earliest time it may run (wins over countdown). */
  eta?: Date;
  /** After this time (a Date, or seconds from its sending) it is revoked instead of run. */
  expires?: Date | number;
  /** Hard time limit in seconds. */
  timeLimit?: number;
  /** Soft time limit in seconds. */
  softTimeLimit?: number;
  /** Do not store its result. Default false. */
  ignoreResult?: boolean;
}

/** Options of a signature: Celery's signature options, in camelCase. */
export interface SignatureOptions extends CallOptions {
  /** Applied with its result prepended when it succeeds (Celery's `link`). */
  link?: Signature | Signature[];
  /** Applied with its id when it fails (Celery's `link_error`). */
  linkError?: Signature | Signature[];
  /** Keep the args as given: not handed its parent's result or a chord's results (Celery's `.si()`). Default false. */
  immutable?: boolean;
  /**
   * Celery 5.3's stamps, name -> value: the message applying it carries them, and so its result (with
   * result_extended); Celery's `revoke_by_stamped_headers` finds it by them. Default none.
   */
  stamps?: JsonObject;
}

/** A task signature as Celery serialises one (`sig.s(...)`), with its options under Celery's own names. */
export function makeSignature(task: string, args: unknown[] = [], kwargs: JsonObject = {}, options: SignatureOptions = {}): Signature {
  if (typeof task !== 'string' || task === '') throw new CanvasError('a signature needs a task name');
  const o: JsonObject = {};
  const set = (key: string, value: unknown): void => { if (value !== undefined) o[key] = value; };
  set('task_id', options.taskId);
  set('queue', options.queue);
  set('priority', options.priority);
  set('countdown', options.countdown);
  set('eta', options.eta ? isoWithOffset(options.eta) : undefined);
  set('expires', options.expires instanceof Date ? isoWithOffset(options.expires) : options.expires);
  set('time_limit', options.timeLimit);
  set('soft_time_limit', options.softTimeLimit);
  set('ignore_result', options.ignoreResult);
  set('link', options.link === undefined ? undefined : [options.link].flat());
  set('link_error', options.linkError === undefined ? undefined : [options.linkError].flat());
  if (options.stamps !== undefined) stampOptions(o, options.stamps);
  return { task, args, kwargs, options: o, subtask_type: null, immutable: options.immutable ?? false };
}
