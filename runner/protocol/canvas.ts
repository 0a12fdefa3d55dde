/**
 * Celery's canvas: applying signatures, as a worker does when a task ends (the link callbacks and the next chain
 * member after a success, the link errbacks after a failure, a chord's callback or its errbacks once its header has
 * ended) and as a client does when it sends a group or a chord's header. Pure: it builds the messages, the caller
 * sends them.
 *
 * What Celery 5.2 does (celery/app/trace.py, celery/backends/base.py):
 * - success: each `callbacks` signature is applied with the result prepended to its args (unless `immutable`);
 *   then the LAST element of `chain` is popped and applied the same way, carrying the rest of the chain;
 * - failure: each `errbacks` signature is applied with the failed task's id prepended (the "old-style" errback;
 *   new-style errbacks taking `(request, exc, traceback)` are Python functions a TypeScript worker cannot call);
 * - every follow-up has `parent_id` = the ended task's id and keeps its `root_id`.
 * What Celery 5.3+ adds (5.6 today): each message carries the stamps its signature's options name
 * (`stamped_headers` and a value per stamp, as Celery's stamping leaves them), and a signature's `group_id` option
 * (which 5.6's client puts in a chord's callback) names the group of the message applying it. The messages are in
 * the layout of the fleet's Celery (`layout`).
 */
import { randomUUID } from 'node:crypto';
import type { CeleryLayout } from './celery-version';
import { isObject, type JsonObject } from './json';
import { encodeTaskMessage } from './message-encode';
import type { TaskMessage } from './message-types';
import { signatureStamps, stampOptions } from './stamps';
import type { Embed, Sender, Signature, TaskCall } from './task-call';
import { isoWithOffset } from './time';

/** A message ready to publish, with the call it encodes. */
export interface FollowUp {
  id: string;
  name: string;
  queue: string;
  priority: number;
  body: string;
  call: TaskCall;
}

/** Queue and priority for a task name with no `queue` in its signature (the app's routes). */
export type FollowUpRouter = (name: string) => { queue: string; priority: number };

/** Celery's `task_default_queue`, used when nobody routes the follow-up. */
const DEFAULT_ROUTER: FollowUpRouter = () => ({ queue: 'celery', priority: 0 });

export interface FollowUpOptions {
  /** Celery's `origin` header of the publishing worker. */
  origin: string;
  /** Routes for signatures without a queue. Default: everything to `celery`. */
  route?: FollowUpRouter;
  /** New task and delivery-tag ids. Default `randomUUID` (tests pass a fixed source). */
  newId?: () => string;
  /**
   * Told of a signature that cannot be applied (a nested canvas, no task name), which is then skipped so that the
   * others still go. Default: throw the CanvasError.
   */
  onSkip?: (sig: unknown, err: CanvasError) => void;
  /** The message layout of the fleet's Celery (see runner/protocol/celery-version.ts). Default `'5.3'`. */
  layout?: CeleryLayout;
}

/** Thrown for a signature this worker cannot apply (a nested group, chord or chain, or a malformed one). */
export class CanvasError extends Error {
  override readonly name = 'CanvasError';
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function date(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `options.link` / `options.link_error` hold one signature or a list (Celery's `sig.link()` appends to a list). */
function sigList(v: unknown): Signature[] | null {
  if (v === null || v === undefined) return null;
  const list = Array.isArray(v) ? v : [v];
  return list.every(isObject) ? (list as Signature[]) : null;
}

/** Where a message applying a signature descends from. */
export interface Lineage {
  /** Celery's `parent_id`: the task whose end sent it; null for a client's call. */
  parentId: string | null;
  /** Celery's `root_id`; null makes the message its own root, as a client's call is. */
  rootId: string | null;
  /** `reply_to` of the message, unless the signature carries its own (the client app's oid). */
  replyTo: string;
}

/** The lineage of a follow-up of `msg`: its child, in its tree, keeping its reply_to. */
export function lineageOf(msg: TaskMessage): Lineage {
  return { parentId: msg.id, rootId: msg.rootId, replyTo: msg.envelope.properties.reply_to };
}

/** What a message applying a signature carries besides the signature itself. */
export interface ApplyExtras {
  /** The rest of a chain (reversed, as Celery keeps it). */
  chain?: Signature[] | null;
  /** Celery's `group` header: the group (or chord header) this message is a member of, unless the signature names one. */
  groupId?: string | null;
  /** Its place in its group (Celery 5.3+ numbers every group's members, 5.2 only a chord header's). */
  groupIndex?: number | null;
  /** The chord callback to apply once every header member has ended. */
  chord?: Signature | null;
}

/**
 * The message applying one signature, as `sig.apply_async(prepend, parent_id=..., root_id=..., **extra)` would
 * send it. Honours the options a Python client can put in a signature: task_id, queue (or routing_key), priority,
 * countdown, eta, expires, time_limit, soft_time_limit, reply_to, shadow, ignore_result, link, link_error,
 * group_id (which wins over `extras.groupId`, as in Celery 5.3+), group_index, stamped_headers and the stamps.
 */
export function applySignature(sig: Signature, prepend: unknown[], from: Lineage, opts: FollowUpOptions, extras: ApplyExtras = {}): FollowUp {
  if (!isObject(sig) || typeof sig.task !== 'string' || sig.task === '') throw new CanvasError('signature has no task name');
  if (sig.subtask_type) throw new CanvasError(`cannot apply a nested ${sig.subtask_type} signature (${sig.task}): Radish applies plain task signatures only`);
  const newId = opts.newId ?? randomUUID;
  const o = isObject(sig.options) ? sig.options : {};
  const sigArgs = Array.isArray(sig.args) ? sig.args : [];
  // An immutable signature (`.si()`) ignores its parent's result.
  const args = sig.immutable ? sigArgs : [...prepend, ...sigArgs];
  const routed = (opts.route ?? DEFAULT_ROUTER)(sig.task);
  const queue = str(o.queue) ?? str(o.routing_key) ?? routed.queue;
  const countdown = num(o.countdown);
  const eta = date(o.eta) ?? (countdown !== undefined ? new Date(Date.now() + countdown * 1000) : null);
  const expiresIn = num(o.expires);
  const expires = expiresIn !== undefined ? new Date(Date.now() + expiresIn * 1000) : date(o.expires) ?? null;
  const embed: Partial<Embed> = { callbacks: sigList(o.link), errbacks: sigList(o.link_error), chain: extras.chain ?? null, chord: extras.chord ?? null };
  const id = str(o.task_id) ?? newId();
  const call: TaskCall = {
    id, name: sig.task, args, kwargs: isObject(sig.kwargs) ? sig.kwargs : {}, queue,
    priority: num(o.priority) ?? routed.priority, eta, expires,
    timeLimit: num(o.time_limit) ?? null, softTimeLimit: num(o.soft_time_limit) ?? null,
    parentId: from.parentId, rootId: from.rootId ?? id,
    groupId: str(o.group_id) ?? extras.groupId ?? null, groupIndex: extras.groupIndex ?? num(o.group_index) ?? null,
    ignoreResult: o.ignore_result === true, shadow: str(o.shadow) ?? null, embed, stamps: signatureStamps(o),
  };
  // The chain's signatures carry the client's reply_to; a link has none, so it keeps the parent's.
  const sender: Sender = { origin: opts.origin, replyTo: str(o.reply_to) ?? from.replyTo, deliveryTag: newId(), layout: opts.layout ?? '5.3' };
  return { id, name: sig.task, queue, priority: call.priority ?? 0, body: encodeTaskMessage(call, sender), call };
}

function applyEach(items: [Signature, Signature[] | null][], prepend: unknown[], from: Lineage, opts: FollowUpOptions): FollowUp[] {
  const out: FollowUp[] = [];
  for (const [sig, chain] of items) {
    try {
      out.push(applySignature(sig, prepend, from, opts, { chain }));
    } catch (err) {
      if (!(err instanceof CanvasError) || !opts.onSkip) throw err;
      opts.onSkip(sig, err);
    }
  }
  return out;
}

/** What to publish after `msg` succeeded with `result`: its link callbacks, then the next chain member. */
export function successFollowUps(msg: TaskMessage, result: unknown, opts: FollowUpOptions): FollowUp[] {
  const items: [Signature, Signature[] | null][] = (msg.embed.callbacks ?? []).map((sig) => [sig, null]);
  const chain = msg.embed.chain;
  // Celery keeps the chain reversed so that the next task is a cheap pop from the end.
  if (chain && chain.length > 0) items.push([chain[chain.length - 1]!, chain.slice(0, -1)]);
  return applyEach(items, [result], lineageOf(msg), opts);
}

/** What to publish after `msg` failed for good: its errbacks, each called with the failed task's id. */
export function failureFollowUps(msg: TaskMessage, opts: FollowUpOptions): FollowUp[] {
  return applyEach((msg.embed.errbacks ?? []).map((sig) => [sig, null]), [msg.id], lineageOf(msg), opts);
}

/**
 * The chord callback's message once every header member has ended: the header's results, in group_index order,
 * prepended as ONE argument (Celery's `callback.delay(results)`), sent as a child of `msg`, the header member whose
 * end completed the set. Throws CanvasError when the callback cannot be applied.
 */
export function chordCallback(msg: TaskMessage, results: unknown[], opts: FollowUpOptions): FollowUp {
  if (!msg.embed.chord) throw new CanvasError(`task ${msg.id} has no chord callback`);
  return applySignature(msg.embed.chord, [results], lineageOf(msg), opts);
}

/** The id a signature will run under (`options.task_id`, set by Celery's `freeze()`), if it has one. */
export function signatureId(sig: Signature): string | undefined {
  return isObject(sig) && isObject(sig.options) ? str(sig.options.task_id) : undefined;
}

/**
 * The errbacks of a chord callback that will not run (a header member failed): its `link_error` signatures, each
 * called with the callback's id, as children of the callback. Celery's `chord_error_from_stack` does this with a
 * request made up from the callback, so the callback is also their root.
 */
export function chordErrbacks(callback: Signature, callbackId: string, replyTo: string, opts: FollowUpOptions): FollowUp[] {
  const o = isObject(callback) && isObject(callback.options) ? callback.options : {};
  const errbacks: [Signature, null][] = (sigList(o.link_error) ?? []).map((sig) => [sig, null]);
  return applyEach(errbacks, [callbackId], { parentId: callbackId, rootId: callbackId, replyTo }, opts);
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
