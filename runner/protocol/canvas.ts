/**
 * Celery's canvas follow-ups, as a worker publishes them when a task ends: the link callbacks and the next chain
 * member after a success, the link errbacks after a failure. Pure: it builds the messages, the caller sends them.
 *
 * What Celery 5.2 does (celery/app/trace.py, celery/backends/base.py):
 * - success: each `callbacks` signature is applied with the result prepended to its args (unless `immutable`);
 *   then the LAST element of `chain` is popped and applied the same way, carrying the rest of the chain;
 * - failure: each `errbacks` signature is applied with the failed task's id prepended (the "old-style" errback;
 *   new-style errbacks taking `(request, exc, traceback)` are Python functions a TypeScript worker cannot call);
 * - every follow-up has `parent_id` = the ended task's id and keeps its `root_id`.
 */
import { randomUUID } from 'node:crypto';
import { encodeTaskMessage, type Embed, type JsonObject, type Sender, type Signature, type TaskCall, type TaskMessage } from './message';

/** A message ready to publish. */
export interface FollowUp {
  id: string;
  name: string;
  queue: string;
  priority: number;
  body: string;
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
}

/** Thrown for a signature this worker cannot apply (a nested group, chord or chain, or a malformed one). */
export class CanvasError extends Error {
  override readonly name = 'CanvasError';
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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

/**
 * The message applying one signature, as `sig.apply_async(prepend, parent_id=..., root_id=..., **extra)` would
 * send it. Honours the options a Python client can put in a signature: task_id, queue (or routing_key), priority,
 * countdown, eta, expires, time_limit, soft_time_limit, reply_to, shadow, ignore_result, link, link_error.
 */
export function applySignature(sig: Signature, prepend: unknown[], parent: TaskMessage, opts: FollowUpOptions, chain: Signature[] | null = null): FollowUp {
  if (!isObject(sig) || typeof sig.task !== 'string' || sig.task === '') throw new CanvasError('signature has no task name');
  if (sig.subtask_type) throw new CanvasError(`cannot apply a nested ${sig.subtask_type} signature (${sig.task}): Radish workers apply plain task signatures only`);
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
  const embed: Partial<Embed> = { callbacks: sigList(o.link), errbacks: sigList(o.link_error), chain };
  const id = str(o.task_id) ?? newId();
  const call: TaskCall = {
    id, name: sig.task, args, kwargs: isObject(sig.kwargs) ? sig.kwargs : {}, queue,
    priority: num(o.priority) ?? routed.priority, eta, expires,
    timeLimit: num(o.time_limit) ?? null, softTimeLimit: num(o.soft_time_limit) ?? null,
    parentId: parent.id, rootId: parent.rootId, ignoreResult: o.ignore_result === true, shadow: str(o.shadow) ?? null, embed,
  };
  // The chain's signatures carry the client's reply_to; a link has none, so it keeps the parent's.
  const sender: Sender = { origin: opts.origin, replyTo: str(o.reply_to) ?? parent.envelope.properties.reply_to, deliveryTag: newId() };
  return { id, name: sig.task, queue, priority: call.priority ?? 0, body: encodeTaskMessage(call, sender) };
}

function applyEach(items: [Signature, Signature[] | null][], prepend: unknown[], parent: TaskMessage, opts: FollowUpOptions): FollowUp[] {
  const out: FollowUp[] = [];
  for (const [sig, chain] of items) {
    try {
      out.push(applySignature(sig, prepend, parent, opts, chain));
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
  return applyEach(items, [result], msg, opts);
}

/** What to publish after `msg` failed for good: its errbacks, each called with the failed task's id. */
export function failureFollowUps(msg: TaskMessage, opts: FollowUpOptions): FollowUp[] {
  return applyEach((msg.embed.errbacks ?? []).map((sig) => [sig, null]), [msg.id], msg, opts);
}
