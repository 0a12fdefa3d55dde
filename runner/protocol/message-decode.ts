/**
 * Reading task messages, the general way: every layout, protocol 1 and 2, and the reason a message is refused. The
 * fast decoder (message-fast.ts) reads the common layouts without JSON.parse and builds its TaskMessage with the
 * same {@link taskMessageOf}, so the two cannot disagree on what a field means.
 */
import { isObject, type JsonObject } from './json';
import { envelopeBody, parseEnvelope, type EnvelopeRules } from './kombu-envelope';
import { readEmbed } from './message-body';
import { clampPriority } from './message-encode';
import { ProtocolError, type Envelope, type TaskMessage } from './message-types';
import { SENT_AT_HEADER } from './task-headers';
import type { Embed } from './task-call';
import { parseCeleryDate } from './time';
import { errorMessage } from '../errors';

/** Read here since Celery 5.3's stamps came in; their readers are in stamps.ts. */
export { messageStamps } from './stamps';

/** Task envelopes: UTF-8 only, and a body that is not UTF-8 is refused rather than read with U+FFFD in it. */
const TASK_ENVELOPE: EnvelopeRules = {
  fail: (reason) => new ProtocolError(reason),
  checkEncoding: true,
  // A body that is not UTF-8 is not JSON (kombu's decode fails on it too); replacing its bytes with U+FFFD would
  // run the task with arguments nobody sent.
  strictUtf8: true,
};

function optionalString(v: unknown, field: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new ProtocolError(`${field} must be a string, got ${typeof v}`);
  return v;
}

function optionalNumber(v: unknown, field: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProtocolError(`${field} must be a number`);
  return v;
}

function readDate(v: unknown, field: string): Date | null {
  try {
    return parseCeleryDate(v);
  } catch (err) {
    throw new ProtocolError(`${field}: ${errorMessage(err)}`);
  }
}

/**
 * The send-time stamp, when it is one (a finite number of ms). Anything else reads as none rather than refusing the
 * task: the stamp only feeds metrics, and a task must not be lost over one.
 */
function sentAtOf(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The send-time stamp of a raw kombu envelope without decoding the task (a queue's oldest message, for metrics);
 * null when it has none or is not a JSON envelope.
 */
export function envelopeSentAt(raw: string): number | null {
  let envelope: unknown;
  try {
    envelope = JSON.parse(raw);
  } catch {
    return null;
  }
  return isObject(envelope) && isObject(envelope.headers) ? sentAtOf(envelope.headers[SENT_AT_HEADER]) : null;
}

/** The parts of a message both decoders have read and checked before its fields. */
export interface TaskParts {
  raw: string;
  envelope: JsonObject;
  headers: JsonObject;
  properties: JsonObject;
  deliveryInfo: JsonObject;
  /** Where the task's fields are: the headers (protocol 2) or the body dict (protocol 1). */
  fields: JsonObject;
  id: string;
  name: string;
  args: unknown[];
  kwargs: JsonObject;
  embed: Embed;
}

/**
 * The TaskMessage of a message whose id, name, arguments and embed were read: its other fields, each with its
 * default and its reader (which throws ProtocolError, in this order, for a value of the wrong type).
 */
export function taskMessageOf(p: TaskParts): TaskMessage {
  const { fields, properties, deliveryInfo, id } = p;
  const timelimit = Array.isArray(fields.timelimit) ? fields.timelimit : [null, null];
  const retries = optionalNumber(fields.retries, 'retries') ?? 0;
  return {
    raw: p.raw,
    envelope: p.envelope as unknown as Envelope,
    id,
    name: p.name,
    args: p.args,
    kwargs: p.kwargs,
    embed: p.embed,
    eta: readDate(fields.eta, 'eta'),
    expires: readDate(fields.expires, 'expires'),
    retries,
    priority: clampPriority(properties.priority),
    deliveryTag: optionalString(properties.delivery_tag, 'delivery_tag') ?? id,
    routingKey: optionalString(deliveryInfo.routing_key, 'routing_key') ?? '',
    exchange: optionalString(deliveryInfo.exchange, 'exchange') ?? '',
    redelivered: p.headers.redelivered === true || deliveryInfo.redelivered === true,
    timeLimit: optionalNumber(timelimit[0], 'timelimit[0]'),
    softTimeLimit: optionalNumber(timelimit[1], 'timelimit[1]'),
    parentId: optionalString(fields.parent_id, 'parent_id'),
    rootId: optionalString(fields.root_id, 'root_id') ?? id,
    groupId: optionalString(fields.group ?? fields.taskset, 'group'),
    groupIndex: optionalNumber(fields.group_index, 'group_index'),
    ignoreResult: fields.ignore_result === true,
    sentAt: sentAtOf(p.headers[SENT_AT_HEADER]),
  };
}

/**
 * decodeTaskMessage without its fast path: every layout, protocol 1 and 2, and the reasons a message is refused.
 * It is the reference the fast path is tested against (test/runner/message-fast.test.ts).
 */
export function decodeTaskMessageGeneral(raw: string): TaskMessage {
  const parsed = parseEnvelope(raw, TASK_ENVELOPE);
  const { envelope, headers, properties } = parsed;
  const deliveryInfo = isObject(properties.delivery_info) ? properties.delivery_info : {};
  const idHint = typeof headers.id === 'string' ? headers.id : undefined;
  const nameHint = typeof headers.task === 'string' ? headers.task : undefined;
  try {
    const body = envelopeBody(parsed, TASK_ENVELOPE);
    const v2 = typeof headers.task === 'string';
    let fields: JsonObject;
    let args: unknown;
    let kwargs: unknown;
    let embed: Embed;
    if (v2) {
      if (!Array.isArray(body) || body.length < 2) throw new ProtocolError('body must be [args, kwargs, embed]');
      [args, kwargs] = body;
      embed = readEmbed(body[2]);
      fields = headers;
    } else {
      // Protocol 1: everything lives in the body dict.
      if (!isObject(body) || typeof body.task !== 'string') throw new ProtocolError('message has no task name (headers.task)');
      fields = body;
      args = body.args ?? [];
      kwargs = body.kwargs ?? {};
      embed = readEmbed({ callbacks: body.callbacks, errbacks: body.errbacks, chord: body.chord });
    }
    const name = fields.task;
    const id = fields.id;
    if (typeof name !== 'string' || name === '') throw new ProtocolError('task name is missing');
    if (typeof id !== 'string' || id === '') throw new ProtocolError('task id is missing');
    if (!Array.isArray(args)) throw new ProtocolError('args must be a list');
    if (!isObject(kwargs)) throw new ProtocolError('kwargs must be an object');
    return taskMessageOf({ raw, envelope, headers, properties, deliveryInfo, fields, id, name, args, kwargs, embed });
  } catch (err) {
    if (err instanceof ProtocolError) throw new ProtocolError(err.reason, idHint, nameHint);
    throw err;
  }
}
