/**
 * Celery remote control ("pidbox") messages as kombu puts them on Redis: a request is PUBLISHed on the broadcast
 * channel, a reply is LPUSHed on the asking client's reply list. Both are kombu envelopes whose base64 body is
 * JSON. Pure functions, no I/O; the bytes match kombu's `json.dumps` (Python's separators and `ensure_ascii`), so
 * what Radish sends is indistinguishable from what a Python client or worker sends.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:os';
import { PIDBOX_EXCHANGE } from './exchanges';
import { isObject, type JsonObject } from './json';
import { openEnvelope, type EnvelopeRules } from './kombu-envelope';
import { pyRepr } from './pyrepr';
import { pythonJson } from './python-json';
import { exceptionInfo, exceptionRepr } from './result';

/** Where a reply goes: kombu's direct reply exchange and the client's oid as routing key. */
export interface ReplyTo {
  exchange: string;
  routing_key: string;
}

/** A control command, as its body carries it. */
export interface ControlRequest {
  method: string;
  /** Keyword arguments of the command (`{}` when none). */
  arguments: JsonObject;
  /** Node names that should act on it; null (or empty) means every node. */
  destination: string[] | null;
  /** With `matcher`, selects nodes by name instead of `destination` (kombu: `glob` or `pcre`). */
  pattern: string | null;
  matcher: string | null;
  /** Set, with `replyTo`, when the sender collects replies; replies carry it back in their headers. */
  ticket: string | null;
  replyTo: ReplyTo | null;
}

/** A request read off the channel: the command plus its envelope headers. */
export interface PidboxRequest extends ControlRequest {
  /** The sender's Lamport clock. */
  clock: number;
  /** Unix seconds after which nobody waits for a reply; 0 means never (kombu sends 0 without a timeout). */
  expires: number;
  deliveryTag: string | null;
}

/** A reply read off a reply list: `{nodename: value}` (one node per reply in practice). */
export interface PidboxReply {
  replies: Record<string, unknown>;
  /** The ticket of the request it answers. */
  ticket: string | null;
  clock: number;
  /** Unix seconds; 0 when absent (Celery never sets it on replies, but kombu's client honours it). */
  expires: number;
  deliveryInfo: ReplyTo;
}

/** Envelope fields that change per message. */
export interface EnvelopeMeta {
  /** The sender's Lamport clock after forwarding it. */
  clock: number;
  /** kombu's per-publish uuid4. Default: a fresh one. */
  deliveryTag?: string;
}

/** A pidbox message that cannot be read; `reason` is one line fit for a log. */
export class PidboxError extends Error {
  override readonly name = 'PidboxError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * A Lamport clock, as kombu keeps one per mailbox: forwarded on every send, moved past the sender's on every
 * receive, so Celery tools can order messages from different nodes.
 */
export class LamportClock {
  constructor(private current = 0) {}

  get value(): number { return this.current; }

  /** Tick for a message about to be sent; returns the new value. */
  forward(): number {
    return ++this.current;
  }

  /** Account for a received clock value (ignored when not a number). */
  adjust(other: unknown): number {
    if (typeof other === 'number' && Number.isFinite(other)) this.current = Math.max(this.current, Math.trunc(other));
    return ++this.current;
  }
}

// ---------------------------------------------------------------------------------------------
// Envelopes

function envelope(body: unknown, headers: JsonObject, deliveryMode: number, deliveryInfo: ReplyTo, meta: EnvelopeMeta): string {
  return pythonJson({
    body: Buffer.from(pythonJson(body), 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers,
    properties: {
      delivery_mode: deliveryMode,
      delivery_info: deliveryInfo,
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: meta.deliveryTag ?? randomUUID(),
    },
  });
}

/** What a sender gives; everything left out takes kombu's default. */
export interface RequestInput {
  method: string;
  arguments?: JsonObject;
  destination?: readonly string[] | null;
  pattern?: string | null;
  matcher?: string | null;
  /** Both or neither: without them no node replies. */
  ticket?: string | null;
  replyTo?: ReplyTo | null;
}

/**
 * The envelope a Python client PUBLISHes for a control command (kombu's `Mailbox._publish`): delivery mode 2,
 * exchange `celery.pidbox`, empty routing key. `expires` is unix seconds (now + timeout), 0 for none.
 */
export function encodeRequest(input: RequestInput, meta: EnvelopeMeta & { expires: number }): string {
  const body: JsonObject = {
    method: input.method,
    arguments: input.arguments ?? {},
    destination: input.destination ? [...input.destination] : null,
    pattern: input.pattern ?? null,
    matcher: input.matcher ?? null,
  };
  // kombu adds these two keys only when it waits for replies.
  if (input.ticket && input.replyTo) {
    body.ticket = input.ticket;
    body.reply_to = { exchange: input.replyTo.exchange, routing_key: input.replyTo.routing_key };
  }
  return envelope(body, { clock: meta.clock, expires: meta.expires }, 2, { exchange: PIDBOX_EXCHANGE, routing_key: '' }, meta);
}

/**
 * The envelope a worker LPUSHes to answer (kombu's `Mailbox._publish_reply`): body `{nodename: value}`, headers
 * ticket and clock, delivery mode 1 (transient), delivery info = the request's `reply_to`.
 */
export function encodeReply(
  hostname: string, value: unknown, to: { ticket: string | null; replyTo: ReplyTo }, meta: EnvelopeMeta,
): string {
  // fromEntries defines the key as data, so even a node called `__proto__` stays an ordinary key.
  const body = Object.fromEntries([[hostname, value === undefined ? null : value]]);
  const deliveryInfo = { exchange: to.replyTo.exchange, routing_key: to.replyTo.routing_key };
  return envelope(body, { ticket: to.ticket, clock: meta.clock }, 1, deliveryInfo, meta);
}

/** Pidbox envelopes: the lenient body rules kombu's mailbox has, refused with a PidboxError. */
const PIDBOX_ENVELOPE: EnvelopeRules = { fail: (reason) => new PidboxError(reason) };

function optionalString(v: unknown, field: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new PidboxError(`${field} must be a string`);
  return v;
}

function readReplyTo(v: unknown, field: string): ReplyTo | null {
  if (v === null || v === undefined) return null;
  if (!isObject(v) || typeof v.exchange !== 'string' || typeof v.routing_key !== 'string') {
    throw new PidboxError(`${field} must be {exchange, routing_key}`);
  }
  return { exchange: v.exchange, routing_key: v.routing_key };
}

function headerNumber(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Read a control request. Throws PidboxError for anything that is not a well-formed JSON pidbox request. */
export function decodeRequest(raw: string): PidboxRequest {
  const { headers, properties, body } = openEnvelope(raw, PIDBOX_ENVELOPE);
  if (!isObject(body)) throw new PidboxError('request body must be an object');
  if (typeof body.method !== 'string' || body.method === '') throw new PidboxError('request has no method');
  const args = body.arguments ?? {};
  if (!isObject(args)) throw new PidboxError('arguments must be an object');
  const destination = body.destination ?? null;
  if (destination !== null && (!Array.isArray(destination) || !destination.every((d) => typeof d === 'string'))) {
    throw new PidboxError('destination must be a list of node names');
  }
  return {
    method: body.method,
    arguments: args,
    destination: destination as string[] | null,
    pattern: optionalString(body.pattern, 'pattern'),
    matcher: optionalString(body.matcher, 'matcher'),
    ticket: optionalString(body.ticket, 'ticket'),
    replyTo: readReplyTo(body.reply_to, 'reply_to'),
    clock: headerNumber(headers.clock),
    expires: headerNumber(headers.expires),
    deliveryTag: typeof properties.delivery_tag === 'string' ? properties.delivery_tag : null,
  };
}

/** Read a reply. Throws PidboxError when it is not a JSON `{nodename: value}` reply. */
export function decodeReply(raw: string): PidboxReply {
  const { headers, properties, body } = openEnvelope(raw, PIDBOX_ENVELOPE);
  if (!isObject(body)) throw new PidboxError('reply body must be an object {nodename: reply}');
  const deliveryInfo = readReplyTo(properties.delivery_info, 'delivery_info') ?? { exchange: '', routing_key: '' };
  return {
    replies: body,
    ticket: optionalString(headers.ticket, 'ticket'),
    clock: headerNumber(headers.clock),
    expires: headerNumber(headers.expires),
    deliveryInfo,
  };
}

// ---------------------------------------------------------------------------------------------
// Who acts on a request

/**
 * Python's fnmatch (POSIX: case-sensitive): `*`, `?`, `[seq]`, `[!seq]`, as kombu's `glob` matcher selects nodes.
 * (runner/app.ts's route globs know only `*`.)
 */
function fnmatchToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] ?? '';
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      // As fnmatch: a `]` right after `[` or `[!` belongs to the set.
      let from = i + 1;
      if (glob[from] === '!') from++;
      if (glob[from] === ']') from++;
      const close = glob.indexOf(']', from);
      if (close === -1) {
        re += '\\[';
        continue;
      }
      let set = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
      if (set.startsWith('!')) set = '^' + set.slice(1);
      else if (set.startsWith('^')) set = '\\' + set;
      re += '[' + set + ']';
      i = close;
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp('^(?:' + re + ')$', 's');
}

/**
 * Whether node `hostname` should act on `request` (kombu's `Node.handle_message`): a non-empty destination must
 * name it; otherwise pattern + matcher (`glob`, or `pcre` matched at the start like Python's `re.match`) must match
 * it; otherwise every node acts. An unknown matcher or a pattern that is not a valid expression matches nothing
 * (kombu raises, and Celery's worker logs the error and does not answer).
 */
export function isAddressedTo(request: Pick<ControlRequest, 'destination' | 'pattern' | 'matcher'>, hostname: string): boolean {
  if (request.destination && request.destination.length > 0) return request.destination.includes(hostname);
  if (request.pattern && request.matcher) {
    try {
      if (request.matcher === 'glob') return fnmatchToRegExp(request.pattern).test(hostname);
      if (request.matcher === 'pcre') return new RegExp('^(?:' + request.pattern + ')').test(hostname);
    } catch {
      return false;
    }
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reply values, as celery/worker/control.py shapes them

/** `{"ok": value}`: Celery's success reply. */
export function ok<T>(value: T): { ok: T } {
  return { ok: value };
}

/** `{"error": value}`: Celery's refusal reply. */
export function nok<T>(value: T): { error: T } {
  return { error: value };
}

/**
 * The reply to a method the node has no handler for. Celery looks the handler up in a dict, so the KeyError
 * reaches kombu's generic error reply: `{"error": "KeyError('<method>')"}` (observed with Celery 5.2.6).
 */
export function noSuchCommand(method: string): { error: string } {
  return nok(`KeyError(${pyRepr(method)})`);
}

/** The reply when a handler throws: the error's Python-style repr, as kombu replies `{'error': repr(exc)}`. */
export function commandError(err: unknown): { error: string } {
  return nok(exceptionRepr(exceptionInfo(err)));
}

/** Arguments of Celery's `revoke` command, read leniently as Celery does. */
export interface RevokeArguments {
  /** One or more task ids (`task_id` may be a string or a list), in the order given, without duplicates. */
  ids: string[];
  terminate: boolean;
  /** Signal name for `terminate`, e.g. `SIGTERM` (Celery's default), `SIGKILL`, or `KILL`. */
  signal: string;
}

/** Read `{task_id, terminate?, signal?}`; throws PidboxError when `task_id` is neither a string nor a list of them. */
export function revokeArguments(args: JsonObject): RevokeArguments {
  const raw = args.task_id;
  const list = typeof raw === 'string' ? [raw] : raw ?? [];
  if (!Array.isArray(list) || !list.every((id) => typeof id === 'string')) {
    throw new PidboxError('revoke: task_id must be a task id or a list of task ids');
  }
  // Python may send the number (`signal=9`) or the name (`'SIGKILL'`, `'KILL'`).
  const signal = typeof args.signal === 'number' ? String(args.signal) : typeof args.signal === 'string' && args.signal !== '' ? args.signal : 'SIGTERM';
  return { ids: [...new Set(list as string[])], terminate: args.terminate === true, signal };
}

/** A signal as Celery accepts it (`SIGKILL`, `KILL`, `9`), as Node names it; a PidboxError for anything else. */
export function signalName(raw: string): NodeJS.Signals {
  const upper = raw.trim().toUpperCase();
  const byNumber = /^\d+$/.test(upper) ? Object.entries(constants.signals).find(([, n]) => n === Number(upper))?.[0] : undefined;
  const name = byNumber ?? (upper.startsWith('SIG') ? upper : `SIG${upper}`);
  if (!(name in constants.signals)) throw new PidboxError(`unknown signal ${JSON.stringify(raw)}`);
  return name as NodeJS.Signals;
}

/**
 * Celery's `revoke` reply text: `tasks a, b flagged as revoked`, or with terminate `terminate: a, b` for the ids
 * that were running (`terminate: tasks unknown` when none was).
 */
export function revokeReply(ids: readonly string[], terminated?: readonly string[]): { ok: string } {
  if (terminated === undefined) return ok(`tasks ${ids.join(', ')} flagged as revoked`);
  return ok(terminated.length ? `terminate: ${terminated.join(', ')}` : 'terminate: tasks unknown');
}
