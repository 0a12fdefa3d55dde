/**
 * Writing task messages: a call as the JSON string a Python client would LPUSH (protocol 2, Celery's key order),
 * a retry's republished message, and a message marked redelivered. The headers come from the table in
 * task-headers.ts; the envelope and its properties are written here.
 */
import type { CeleryLayout } from './celery-version';
import { isObject, type JsonObject } from './json';
import { EMPTY_CALL_BODY, EMPTY_EMBED, EMPTY_EMBED_JSON } from './message-body';
import type { Envelope, MessageProperties, TaskMessage } from './message-types';
import { requestStamps } from './stamps';
import type { Embed, Sender, TaskCall } from './task-call';
import { celery53HeadersJson, headersJson, SENT_AT_HEADER, sentStamp, standardHeaders } from './task-headers';

/** Clamp a priority to Celery's 0..9 (kombu's Redis transport does the same). */
export function clampPriority(priority: unknown): number {
  const n = typeof priority === 'number' && Number.isFinite(priority) ? Math.trunc(priority) : 0;
  return Math.min(9, Math.max(0, n));
}

/** Encode a task call as the JSON string a Python client would LPUSH (protocol 2, Celery's key order). */
export function encodeTaskMessage(call: TaskCall, sender: Sender): string {
  // Read once, so both paths write the same stamp (and a test can compare them byte for byte).
  const sentAt = sentStamp(call);
  // Extra headers may replace a standard header's value in place (object spread), which only the generic path
  // reproduces; they are rare (none of Radish's own callers set them), and so are extra properties (a retry's).
  if ((call.headers === undefined || call.headers === null) && (call.properties === undefined || call.properties === null)) {
    const fast = encodeTemplate(call, sender, sentAt);
    if (fast !== undefined) return fast;
  }
  return encodeGeneric(call, sender, sentAt);
}

/** The envelope built as objects and stringified whole: the reference the template below must match byte for byte. */
function encodeGeneric(call: TaskCall, sender: Sender, sentAt: number | null): string {
  const args = call.args ?? [];
  const kwargs = call.kwargs ?? {};
  const embed: Embed = { ...EMPTY_EMBED, ...call.embed };
  const body = Buffer.from(JSON.stringify([args, kwargs, embed]), 'utf8').toString('base64');
  const expires = call.expires ?? null;
  const properties: MessageProperties = {
    correlation_id: call.id,
    reply_to: sender.replyTo,
    ...call.properties,
    delivery_mode: 2,
    ...(expires ? { expiration: String(Math.max(0, expires.getTime() - Date.now())) } : {}),
    delivery_info: { exchange: '', routing_key: call.queue },
    priority: clampPriority(call.priority),
    body_encoding: 'base64',
    delivery_tag: sender.deliveryTag,
  };
  const envelope: Envelope = {
    body,
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { ...standardHeaders(call, sender), ...(sentAt === null ? {} : { [SENT_AT_HEADER]: sentAt }), ...call.headers },
    properties,
  };
  return JSON.stringify(envelope);
}

/** The sender's quoted origin and reply-to of the last call: one app sends them unchanged on every message. */
let senderCache = { origin: '', replyTo: '', originJson: '""', replyToJson: '""' };

/**
 * The same bytes as {@link encodeGeneric}, written from a template with the per-message values spliced in: the
 * envelope's five objects, its JSON walk and the embed's stringify were a third of a bulk enqueue's CPU. Returns
 * undefined for any value JSON.stringify would drop from an object (undefined, a function), so the generic path
 * writes exactly what it always wrote; test/runner/protocol.test.ts checks both against Celery's captures.
 */
function encodeTemplate(call: TaskCall, sender: Sender, sentAt: number | null): string | undefined {
  const args = call.args ?? [];
  const kwargs = call.kwargs ?? {};
  // JSON.stringify([args, kwargs, embed]) without the embed's walk: the same elements under the same keys.
  const head = JSON.stringify([args, kwargs]);
  const embedJson = call.embed === undefined ? EMPTY_EMBED_JSON : JSON.stringify({ ...EMPTY_EMBED, ...call.embed });
  const body = embedJson === EMPTY_EMBED_JSON && head === '[[],{}]'
    ? EMPTY_CALL_BODY : Buffer.from(head.slice(0, -1) + ',' + embedJson + ']', 'utf8').toString('base64');
  const name = call.name;
  const id = call.id;
  const queue = call.queue;
  const deliveryTag = sender.deliveryTag;
  if (typeof name !== 'string' || typeof id !== 'string' || typeof queue !== 'string' || typeof deliveryTag !== 'string') return undefined;
  if (typeof sender.origin !== 'string' || typeof sender.replyTo !== 'string') return undefined;
  let cache = senderCache;
  if (cache.origin !== sender.origin || cache.replyTo !== sender.replyTo) {
    cache = senderCache = { origin: sender.origin, replyTo: sender.replyTo, originJson: JSON.stringify(sender.origin), replyToJson: JSON.stringify(sender.replyTo) };
  }
  const idJson = JSON.stringify(id);
  let headers = headersJson(call, idJson, cache.originJson);
  if (headers === undefined) return undefined;
  // Celery 5.3's headers (the default layout), and a stamped call's in any (hasCelery53Headers, written out).
  if (sender.layout !== '5.2' || (call.stamps !== undefined && call.stamps !== null)) {
    const tail = celery53HeadersJson(call);
    if (tail === undefined) return undefined;
    headers += tail;
  }
  if (sentAt !== null) headers += ',"' + SENT_AT_HEADER + '":' + String(sentAt);
  const expires = call.expires ?? null;
  return '{"body":"' + body + '","content-encoding":"utf-8","content-type":"application/json","headers":{' + headers +
    '},"properties":{"correlation_id":' + idJson + ',"reply_to":' + cache.replyToJson + ',"delivery_mode":2,' +
    (expires ? '"expiration":"' + String(Math.max(0, expires.getTime() - Date.now())) + '",' : '') +
    '"delivery_info":{"exchange":"","routing_key":' + JSON.stringify(queue) + '},"priority":' + clampPriority(call.priority) +
    ',"body_encoding":"base64","delivery_tag":' + JSON.stringify(deliveryTag) + '}}';
}

/**
 * The message Celery's `retry()` republishes: the same call (id, arguments, callbacks, chain, chord, group, shadow,
 * reply-to, limits, expiry, priority, stamps) with one retry more, due at `eta`, with a new delivery tag. In Celery
 * 5.3's layout (the default) it is sent as Celery 5.3+ sends it: with the request's own origin (`origin`, the
 * worker's, when it has none) in the headers and, leaked from the retry's options, in the properties; in 5.2's with
 * the worker's `origin` in the headers only (5.2.6 also leaks properties, which nothing reads).
 */
export function encodeRetry(
  msg: TaskMessage, queue: string, eta: Date, origin: string, deliveryTag: string, layout: CeleryLayout = '5.3',
  /** Headers to add, given the retry's call (the run's trace context). Default none. */
  extraHeaders?: (call: TaskCall) => JsonObject,
): string {
  const headers = msg.envelope.headers;
  const call: TaskCall = {
    id: msg.id, name: msg.name, args: msg.args, kwargs: msg.kwargs, embed: msg.embed, queue, priority: msg.priority,
    eta, expires: msg.expires, retries: msg.retries + 1, timeLimit: msg.timeLimit, softTimeLimit: msg.softTimeLimit,
    parentId: msg.id, rootId: msg.rootId, groupId: msg.groupId, groupIndex: msg.groupIndex,
    ignoreResult: msg.ignoreResult, shadow: typeof headers.shadow === 'string' ? headers.shadow : null,
    stamps: requestStamps(msg),
    replacedTaskNesting: typeof headers.replaced_task_nesting === 'number' ? headers.replaced_task_nesting : 0,
  };
  if (extraHeaders) call.headers = extraHeaders(call);
  const replyTo = msg.envelope.properties.reply_to;
  if (layout === '5.2') return encodeTaskMessage(call, { origin, replyTo, deliveryTag, layout });
  // Celery's `Context.as_execution_options()` passes the request's origin on; a None one is dropped, and the
  // message then names its sender.
  if (typeof headers.origin !== 'string') return encodeTaskMessage(call, { origin, replyTo, deliveryTag, layout });
  return encodeTaskMessage({ ...call, properties: { origin: headers.origin } }, { origin: headers.origin, replyTo, deliveryTag, layout });
}

/**
 * The same message marked as redelivered, as kombu's `restore_visible` and warm shutdown write it back.
 * Works on the parsed JSON so every other byte of meaning is kept.
 */
export function markRedelivered(raw: string): string {
  const envelope = JSON.parse(raw) as JsonObject;
  if (isObject(envelope.headers)) envelope.headers.redelivered = true;
  if (isObject(envelope.properties) && isObject(envelope.properties.delivery_info)) {
    envelope.properties.delivery_info.redelivered = true;
  }
  return JSON.stringify(envelope);
}
