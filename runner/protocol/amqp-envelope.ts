/**
 * A kombu envelope on AMQP 0-9-1. On Redis a message is one JSON document (`{body, content-type, headers,
 * properties}`, the body base64); on AMQP kombu (py-amqp) sends the same parts as the frame's own fields: the
 * body's bytes as the content, the headers as the AMQP headers table, `correlation_id`, `reply_to`,
 * `delivery_mode` and `priority` as basic properties. Everything above the transport reads and writes envelopes;
 * these two functions are the whole translation, so the worker, client and monitor never see the difference.
 *
 * Priorities: Radish's (and Celery on Redis's) priority puts 0 first; AMQP serves the highest number first. An
 * envelope's priority `p` (0..9) travels as AMQP priority `9 - p`, and an AMQP priority `q` reads back as `9 - q`
 * (clamped to 0..9), so a message keeps its meaning through a round trip, and a Celery client's AMQP priority 9
 * (its highest) reads as Radish's 0 (its highest).
 */
import { isUtf8 } from 'node:buffer';
import { isObject, type JsonObject } from './json';
import { clampPriority } from './message-encode';
import { SENT_AT_HEADER } from './task-headers';

/** The highest priority step; an envelope priority p is AMQP priority MAX - p. */
export const AMQP_PRIORITY_MAX = 9;

/** The basic properties kombu sets, as amqplib names them. */
export interface AmqpProperties {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  headers?: JsonObject | undefined;
  deliveryMode?: number | undefined;
  priority?: number | undefined;
  correlationId?: string | undefined;
  replyTo?: string | undefined;
  expiration?: string | undefined;
  /** Seconds since the epoch (AMQP's resolution): RabbitMQ reports the head message's as `head_message_timestamp`. */
  timestamp?: number | undefined;
}

/**
 * A value typed for amqplib's field-table encoder: `{'!': type, value}`. amqplib picks the smallest integer type that
 * holds a number (a byte for 0); py-amqp writes Python ints as int32 (`I`) and larger ones as int64, so headers are
 * typed here the same way and a Radish message is Celery's byte for byte.
 */
export interface TypedValue {
  '!': 'int' | 'long';
  value: number;
}

/** A header value with its integers typed as py-amqp types them (int32, else int64); everything else as amqplib does. */
export function amqpFieldValue(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) {
    return { '!': v >= -0x80000000 && v < 0x80000000 ? 'int' : 'long', value: v } satisfies TypedValue;
  }
  if (Array.isArray(v)) return v.map(amqpFieldValue);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = amqpFieldValue(x);
    return out;
  }
  return v;
}

/** A message as it arrives: content, properties and where it was delivered from. */
export interface AmqpArrival {
  content: Buffer;
  properties: AmqpProperties;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
}

/** A Radish envelope priority as the AMQP priority that serves it in the same order. */
export function toAmqpPriority(priority: unknown): number {
  return AMQP_PRIORITY_MAX - clampPriority(priority);
}

/** An AMQP priority (0..255, highest first) as an envelope priority (0..9, lowest first). */
export function fromAmqpPriority(priority: number): number {
  return AMQP_PRIORITY_MAX - Math.min(Math.max(Math.trunc(priority), 0), AMQP_PRIORITY_MAX);
}

function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * The body and basic properties an envelope is published with. Throws on an envelope that is not JSON (Radish
 * only publishes envelopes it wrote or read).
 */
export function envelopeToAmqp(raw: string): { content: Buffer; properties: AmqpProperties } {
  const envelope = JSON.parse(raw) as JsonObject;
  const props = isObject(envelope.properties) ? envelope.properties : {};
  const body = typeof envelope.body === 'string' ? envelope.body : '';
  const content = props.body_encoding === 'base64' ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  const properties: AmqpProperties = {
    contentType: stringOrUndefined(envelope['content-type']),
    contentEncoding: stringOrUndefined(envelope['content-encoding']),
    headers: isObject(envelope.headers) ? amqpFieldValue(withoutTransportMarks(envelope.headers)) as JsonObject : {},
    deliveryMode: typeof props.delivery_mode === 'number' ? props.delivery_mode : 2,
    correlationId: stringOrUndefined(props.correlation_id),
    replyTo: stringOrUndefined(props.reply_to),
  };
  if (props.priority !== undefined && props.priority !== null) properties.priority = toAmqpPriority(props.priority);
  // Celery sets it from `expires`: RabbitMQ then drops the message once it expires, as it does Celery's.
  if (typeof props.expiration === 'string' || typeof props.expiration === 'number') properties.expiration = String(props.expiration);
  // Radish's send time travels in its header to the millisecond; the AMQP timestamp repeats it in seconds, the one
  // form RabbitMQ's management API reads (the oldest waiting message's age without taking it off the queue).
  const sentAt = isObject(envelope.headers) ? envelope.headers[SENT_AT_HEADER] : undefined;
  if (typeof sentAt === 'number' && Number.isFinite(sentAt)) properties.timestamp = Math.floor(sentAt / 1000);
  return { content, properties };
}

/** kombu's Redis transport marks a restored message in its headers; on AMQP the broker's own flag says it. */
function withoutTransportMarks(headers: JsonObject): JsonObject {
  if (!('redelivered' in headers)) return headers;
  const { redelivered: _mark, ...rest } = headers;
  return rest;
}

/** A header value as JSON: AMQP byte arrays (py-amqp's `bytes`) read as UTF-8 text, tables and arrays inside too. */
function jsonValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (typeof v === 'bigint') return Number(v);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonValue(x) as JsonObject[string];
    return out;
  }
  return v;
}

/**
 * The envelope of a delivered message, as the Redis transport would have stored it, so one decoder serves both
 * brokers. The body is its text (kombu's envelope allows text or base64); a body that is not UTF-8 goes in base64,
 * byte for byte, with the headers and properties beside it: such a message cannot be a task (the decoder refuses it,
 * saying so), and its dead-letter record keeps all of it, so nothing is lost and it can be replayed as it came.
 */
export function amqpToEnvelope(arrival: AmqpArrival, deliveryTag: string): { raw: string } {
  const { content, properties: p } = arrival;
  const utf8 = isUtf8(content);
  const properties: JsonObject = {
    correlation_id: p.correlationId ?? null,
    reply_to: p.replyTo ?? null,
    delivery_mode: p.deliveryMode ?? 1,
    delivery_info: { exchange: arrival.exchange, routing_key: arrival.routingKey, ...(arrival.redelivered ? { redelivered: true } : {}) },
    priority: fromAmqpPriority(p.priority ?? 0),
    delivery_tag: deliveryTag,
    ...(utf8 ? {} : { body_encoding: 'base64' }),
  };
  const envelope: JsonObject = {
    body: utf8 ? content.toString('utf8') : content.toString('base64'),
    'content-encoding': p.contentEncoding ?? null,
    'content-type': p.contentType ?? null,
    headers: jsonValue(p.headers ?? {}) as JsonObject,
    properties,
  };
  return { raw: JSON.stringify(envelope) };
}
