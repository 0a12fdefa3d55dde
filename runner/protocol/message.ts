/**
 * Celery task messages (protocol 2, and reading protocol 1) as kombu stores them in a Redis list:
 * a JSON envelope whose base64 body is `[args, kwargs, embed]`. Pure functions, no I/O.
 */
import { argsRepr, kwargsRepr } from './pyrepr';
import { isoWithOffset, parseCeleryDate } from './time';
import { errorMessage } from '../errors';

export type JsonObject = Record<string, unknown>;

/** A task signature as Celery serialises it in `callbacks`, `errbacks`, `chain` and `chord`. */
export interface Signature {
  task: string;
  args: unknown[];
  kwargs: JsonObject;
  options: JsonObject;
  subtask_type: string | null;
  immutable: boolean;
  [extra: string]: unknown;
}

/** The body's third element. */
export interface Embed {
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  chain: Signature[] | null;
  chord: Signature | null;
}

export interface TaskHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  timelimit: [number | null, number | null];
  root_id: string;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignore_result: boolean;
  redelivered?: boolean;
  [extra: string]: unknown;
}

export interface DeliveryInfo {
  exchange: string;
  routing_key: string;
  redelivered?: boolean;
}

export interface MessageProperties {
  correlation_id: string;
  reply_to: string;
  delivery_mode: number;
  expiration?: string;
  delivery_info: DeliveryInfo;
  priority: number;
  body_encoding: string;
  delivery_tag: string;
  [extra: string]: unknown;
}

/** The message exactly as it sits in Redis, parsed. */
export interface Envelope {
  body: string;
  'content-encoding': string;
  'content-type': string;
  headers: TaskHeaders;
  properties: MessageProperties;
}

/** What a client asks for; everything not given takes Celery's default. */
export interface TaskCall {
  id: string;
  name: string;
  args?: unknown[];
  kwargs?: JsonObject;
  /** Routing key, i.e. the queue name (messages go through the default, anonymous exchange). */
  queue: string;
  /** 0..9; on Redis 0 is served first. Default 0. */
  priority?: number;
  eta?: Date | null;
  expires?: Date | null;
  retries?: number;
  /** Hard time limit in seconds. */
  timeLimit?: number | null;
  /** Soft time limit in seconds. */
  softTimeLimit?: number | null;
  parentId?: string | null;
  rootId?: string | null;
  groupId?: string | null;
  groupIndex?: number | null;
  ignoreResult?: boolean;
  shadow?: string | null;
  embed?: Partial<Embed>;
  /** Extra headers (kept as given). */
  headers?: JsonObject;
}

/** Identity of the sending process (Celery's `origin` and the app's `reply_to` oid). */
export interface Sender {
  origin: string;
  replyTo: string;
  deliveryTag: string;
}

/** A decoded task, with the original bytes kept for dead-lettering and restoring. */
export interface TaskMessage {
  raw: string;
  envelope: Envelope;
  id: string;
  name: string;
  args: unknown[];
  kwargs: JsonObject;
  embed: Embed;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  priority: number;
  deliveryTag: string;
  routingKey: string;
  exchange: string;
  redelivered: boolean;
  timeLimit: number | null;
  softTimeLimit: number | null;
  parentId: string | null;
  rootId: string;
  groupId: string | null;
  groupIndex: number | null;
  ignoreResult: boolean;
}

/** A message that cannot be read as a task; `reason` is one line fit for a log and a dead-letter record. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(readonly reason: string, readonly taskId?: string, readonly taskName?: string) {
    super(reason);
  }
}

const EMPTY_EMBED: Embed = { callbacks: null, errbacks: null, chain: null, chord: null };

/** A fresh empty embed, for a decoded message of its own. */
function emptyEmbed(): Embed {
  return { callbacks: null, errbacks: null, chain: null, chord: null };
}

/** Clamp a priority to Celery's 0..9 (kombu's Redis transport does the same). */
export function clampPriority(priority: unknown): number {
  const n = typeof priority === 'number' && Number.isFinite(priority) ? Math.trunc(priority) : 0;
  return Math.min(9, Math.max(0, n));
}

/** Encode a task call as the JSON string a Python client would LPUSH (protocol 2, Celery's key order). */
export function encodeTaskMessage(call: TaskCall, sender: Sender): string {
  // Extra headers may replace a standard header's value in place (object spread), which only the generic path
  // reproduces; they are rare (none of Radish's own callers set them).
  if (call.headers === undefined || call.headers === null) {
    const fast = encodeTemplate(call, sender);
    if (fast !== undefined) return fast;
  }
  return encodeGeneric(call, sender);
}

/** The envelope built as objects and stringified whole: the reference the template below must match byte for byte. */
function encodeGeneric(call: TaskCall, sender: Sender): string {
  const args = call.args ?? [];
  const kwargs = call.kwargs ?? {};
  const embed: Embed = { ...EMPTY_EMBED, ...call.embed };
  const body = Buffer.from(JSON.stringify([args, kwargs, embed]), 'utf8').toString('base64');
  const expires = call.expires ?? null;
  const headers: TaskHeaders = {
    lang: 'py',
    task: call.name,
    id: call.id,
    shadow: call.shadow ?? null,
    eta: call.eta ? isoWithOffset(call.eta) : null,
    expires: expires ? isoWithOffset(expires) : null,
    group: call.groupId ?? null,
    group_index: call.groupIndex ?? null,
    retries: call.retries ?? 0,
    timelimit: [call.timeLimit ?? null, call.softTimeLimit ?? null],
    root_id: call.rootId ?? call.id,
    parent_id: call.parentId ?? null,
    argsrepr: argsRepr(args),
    kwargsrepr: kwargsRepr(kwargs),
    origin: sender.origin,
    ignore_result: call.ignoreResult ?? false,
    ...call.headers,
  };
  const properties: MessageProperties = {
    correlation_id: call.id,
    reply_to: sender.replyTo,
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
    headers,
    properties,
  };
  return JSON.stringify(envelope);
}

/** `JSON.stringify` of the empty embed, the body's third element on every plain call. */
const EMPTY_EMBED_JSON = JSON.stringify(EMPTY_EMBED);
/** The base64 body of a call without arguments or callbacks as JSON.stringify writes it (most calls of a bulk send). */
const EMPTY_CALL_BODY = Buffer.from('[[],{},' + EMPTY_EMBED_JSON + ']').toString('base64');

/** The sender's quoted origin and reply-to of the last call: one app sends them unchanged on every message. */
let senderCache = { origin: '', replyTo: '', originJson: '""', replyToJson: '""' };

/**
 * The same bytes as {@link encodeGeneric}, written from a template with the per-message values spliced in: the
 * envelope's five objects, its JSON walk and the embed's stringify were a third of a bulk enqueue's CPU. Returns
 * undefined for any value JSON.stringify would drop from an object (undefined, a function), so the generic path
 * writes exactly what it always wrote; test/runner/protocol.test.ts checks both against Celery's captures.
 */
function encodeTemplate(call: TaskCall, sender: Sender): string | undefined {
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
  const shadow = orNull(call.shadow);
  const group = orNull(call.groupId);
  const groupIndex = orNull(call.groupIndex);
  const retries = call.retries === undefined || call.retries === null ? '0' : JSON.stringify(call.retries);
  const root = call.rootId === undefined || call.rootId === null ? idJson : JSON.stringify(call.rootId);
  const parent = orNull(call.parentId);
  const ignore = call.ignoreResult === undefined || call.ignoreResult === null ? 'false' : JSON.stringify(call.ignoreResult);
  const timelimit = (call.timeLimit ?? null) === null && (call.softTimeLimit ?? null) === null
    ? '[null,null]' : JSON.stringify([call.timeLimit ?? null, call.softTimeLimit ?? null]);
  // JSON.stringify gives undefined for what an object drops (undefined, functions): the generic path writes those.
  if (shadow === undefined || group === undefined || groupIndex === undefined || retries === undefined || root === undefined ||
    parent === undefined || ignore === undefined) return undefined;
  const expires = call.expires ?? null;
  const eta = call.eta ? '"' + isoWithOffset(call.eta) + '"' : 'null';
  const expiresIso = expires ? '"' + isoWithOffset(expires) + '"' : 'null';
  // The reprs of a call without arguments, the common case, without walking them.
  const argsrepr = Array.isArray(args) && args.length === 0 ? '"()"' : JSON.stringify(argsRepr(args));
  const kwargsrepr = isEmptyDict(kwargs) ? '"{}"' : JSON.stringify(kwargsRepr(kwargs));
  return '{"body":"' + body + '","content-encoding":"utf-8","content-type":"application/json","headers":{"lang":"py","task":' +
    JSON.stringify(name) + ',"id":' + idJson + ',"shadow":' + shadow + ',"eta":' + eta + ',"expires":' + expiresIso +
    ',"group":' + group + ',"group_index":' + groupIndex + ',"retries":' + retries + ',"timelimit":' + timelimit +
    ',"root_id":' + root + ',"parent_id":' + parent + ',"argsrepr":' + argsrepr + ',"kwargsrepr":' + kwargsrepr +
    ',"origin":' + cache.originJson + ',"ignore_result":' + ignore +
    '},"properties":{"correlation_id":' + idJson + ',"reply_to":' + cache.replyToJson + ',"delivery_mode":2,' +
    (expires ? '"expiration":"' + String(Math.max(0, expires.getTime() - Date.now())) + '",' : '') +
    '"delivery_info":{"exchange":"","routing_key":' + JSON.stringify(queue) + '},"priority":' + clampPriority(call.priority) +
    ',"body_encoding":"base64","delivery_tag":' + JSON.stringify(deliveryTag) + '}}';
}

/** `value ?? null` as JSON (undefined for a value JSON drops). */
function orNull(value: unknown): string | undefined {
  return value === undefined || value === null ? 'null' : JSON.stringify(value);
}

/** Whether pyRepr() writes `{}` for this: an object (not an array) with no own enumerable string keys. */
function isEmptyDict(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}

/**
 * The message Celery's `retry()` republishes: the same call (id, arguments, callbacks, chain, chord, group, shadow,
 * reply-to, limits, expiry, priority) with one retry more, due at `eta`, sent by `origin` with a new delivery tag.
 */
export function encodeRetry(msg: TaskMessage, queue: string, eta: Date, origin: string, deliveryTag: string): string {
  const headers = msg.envelope.headers;
  return encodeTaskMessage({
    id: msg.id, name: msg.name, args: msg.args, kwargs: msg.kwargs, embed: msg.embed, queue, priority: msg.priority,
    eta, expires: msg.expires, retries: msg.retries + 1, timeLimit: msg.timeLimit, softTimeLimit: msg.softTimeLimit,
    parentId: msg.id, rootId: msg.rootId, groupId: msg.groupId, groupIndex: msg.groupIndex,
    ignoreResult: msg.ignoreResult, shadow: typeof headers.shadow === 'string' ? headers.shadow : null,
  }, { origin, replyTo: msg.envelope.properties.reply_to, deliveryTag });
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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

/** One decoder for every message (stateless between calls: each decode() is a whole input). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeBody(envelope: JsonObject): unknown {
  const contentType = envelope['content-type'];
  if (contentType !== 'application/json') {
    throw new ProtocolError(`unsupported content type ${JSON.stringify(contentType)}: Radish accepts application/json only`);
  }
  const encoding = envelope['content-encoding'];
  if (encoding !== undefined && encoding !== null && String(encoding).toLowerCase().replace('-', '') !== 'utf8') {
    throw new ProtocolError(`unsupported content encoding ${JSON.stringify(encoding)}`);
  }
  const rawBody = envelope.body;
  if (typeof rawBody !== 'string') throw new ProtocolError('body is missing or not a string');
  const properties = isObject(envelope.properties) ? envelope.properties : {};
  let text = rawBody;
  if (properties.body_encoding === 'base64') {
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(rawBody)) throw new ProtocolError('body is not valid base64');
    try {
      // Strict: a body that is not UTF-8 is not JSON (kombu's decode fails on it too); replacing its bytes with
      // U+FFFD would run the task with arguments nobody sent.
      text = STRICT_UTF8.decode(Buffer.from(rawBody, 'base64'));
    } catch {
      throw new ProtocolError('body is not valid UTF-8');
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(`body is not valid JSON: ${errorMessage(err)}`);
  }
}

function readList(x: unknown, field: string): Signature[] | null {
  if (x === null || x === undefined) return null;
  if (!Array.isArray(x)) throw new ProtocolError(`embed.${field} must be a list of signatures`);
  for (let i = 0; i < x.length; i++) if (!isObject(x[i])) throw new ProtocolError(`embed.${field} must be a list of signatures`);
  return x as Signature[];
}

function readEmbed(v: unknown): Embed {
  if (v === null || v === undefined) return emptyEmbed();
  if (!isObject(v)) throw new ProtocolError('body embed must be an object');
  const chord = v.chord;
  if (chord !== null && chord !== undefined && !isObject(chord)) throw new ProtocolError('embed.chord must be a signature');
  return {
    callbacks: readList(v.callbacks, 'callbacks'),
    errbacks: readList(v.errbacks, 'errbacks'),
    chain: readList(v.chain, 'chain'),
    chord: (chord as Signature | undefined) ?? null,
  };
}

/**
 * Decode one message string. Throws ProtocolError (with the task id and name when they could be read) for
 * anything that is not a well-formed JSON task message; never runs or evaluates anything.
 */
export function decodeTaskMessage(raw: string): TaskMessage {
  // The messages Radish and Celery write, read without JSON.parse's walk of the envelope (see decodeFast); anything
  // else, and every message that is not a well-formed task, takes the general path, which gives the reasons.
  return decodeFast(raw) ?? decodeTaskMessageGeneral(raw);
}

/**
 * decodeTaskMessage without its fast path: every layout, protocol 1 and 2, and the reasons a message is refused.
 * It is the reference the fast path is tested against (test/runner/message-fast.test.ts).
 */
export function decodeTaskMessageGeneral(raw: string): TaskMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ProtocolError(`message is not valid JSON: ${errorMessage(err)}`);
  }
  if (!isObject(parsed)) throw new ProtocolError('message is not a JSON object');
  const envelope = parsed;
  const headers = isObject(envelope.headers) ? envelope.headers : {};
  const properties = isObject(envelope.properties) ? envelope.properties : {};
  const deliveryInfo = isObject(properties.delivery_info) ? properties.delivery_info : {};
  const idHint = typeof headers.id === 'string' ? headers.id : undefined;
  const nameHint = typeof headers.task === 'string' ? headers.task : undefined;
  try {
    const body = decodeBody(envelope);
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
    const timelimit = Array.isArray(fields.timelimit) ? fields.timelimit : [null, null];
    const retries = optionalNumber(fields.retries, 'retries') ?? 0;
    return {
      raw,
      envelope: envelope as unknown as Envelope,
      id,
      name,
      args,
      kwargs,
      embed,
      eta: readDate(fields.eta, 'eta'),
      expires: readDate(fields.expires, 'expires'),
      retries,
      priority: clampPriority(properties.priority),
      deliveryTag: optionalString(properties.delivery_tag, 'delivery_tag') ?? id,
      routingKey: optionalString(deliveryInfo.routing_key, 'routing_key') ?? '',
      exchange: optionalString(deliveryInfo.exchange, 'exchange') ?? '',
      redelivered: headers.redelivered === true || deliveryInfo.redelivered === true,
      timeLimit: optionalNumber(timelimit[0], 'timelimit[0]'),
      softTimeLimit: optionalNumber(timelimit[1], 'timelimit[1]'),
      parentId: optionalString(fields.parent_id, 'parent_id'),
      rootId: optionalString(fields.root_id, 'root_id') ?? id,
      groupId: optionalString(fields.group ?? fields.taskset, 'group'),
      groupIndex: optionalNumber(fields.group_index, 'group_index'),
      ignoreResult: fields.ignore_result === true,
    };
  } catch (err) {
    if (err instanceof ProtocolError) throw new ProtocolError(err.reason, idHint, nameHint);
    throw err;
  }
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

/*
 * The fast path of decodeTaskMessage. JSON.parse of the envelope was most of a no-op task's decode: it builds every
 * object and copies every string of ~800 bytes. Here one regular expression (native code, one pass) checks that the
 * message is the envelope Radish (JSON.stringify) or Celery (json.dumps) writes, key by key in their order, with JSON
 * strings, numbers and literals as values; the values are then read off at their known places (walk, or the
 * expression's groups when a string has escapes) and the objects JSON.parse would build are built from them.
 * It answers only for a message that decodes: for anything else (another layout, another key, a value the general
 * path rejects or that this one does not read) it returns undefined and decodeTaskMessageGeneral decides, with its
 * reasons. So every message decodes to the same TaskMessage, or fails with the same ProtocolError, either way
 * (test/runner/message-fast.test.ts holds the two to that on Celery's captures and their variants).
 */

/** A JSON string's content, escapes included (decoded by JSON.parse when it has any). */
const STRING = String.raw`"([^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})[^"\\\x00-\x1f]*)*)"`;
/** A JSON true, false or number (its grammar exactly). */
const LITERAL = String.raw`(true|false|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)`;
/** A JSON scalar: two groups, the string's content or the literal's text, neither for null (no string made for it). */
const SCALAR = `(?:${STRING}|null|${LITERAL})`;
/** A base64 body as kombu writes it (the general path's check also allows whitespace: it decides those). */
const BASE64 = String.raw`"([A-Za-z0-9+/]*={0,2})"`;

/** The envelope, in order: literal JSON text (with ',' and ':' as separators) and the values between. */
const ENVELOPE: [string, string, string][] = [
  // [text before the value, field, value pattern]
  ['{"body":', 'body', BASE64],
  [',"content-encoding":"utf-8","content-type":"application/json","headers":{"lang":', 'lang', SCALAR],
  [',"task":', 'task', STRING],
  [',"id":', 'id', STRING],
  [',"shadow":', 'shadow', SCALAR],
  [',"eta":', 'eta', SCALAR],
  [',"expires":', 'expires', SCALAR],
  [',"group":', 'group', SCALAR],
  [',"group_index":', 'groupIndex', SCALAR],
  [',"retries":', 'retries', SCALAR],
  [',"timelimit":[', 'hard', SCALAR],
  [',', 'soft', SCALAR],
  ['],"root_id":', 'rootId', SCALAR],
  [',"parent_id":', 'parentId', SCALAR],
  [',"argsrepr":', 'argsrepr', SCALAR],
  [',"kwargsrepr":', 'kwargsrepr', SCALAR],
  [',"origin":', 'origin', SCALAR],
  [',"ignore_result":', 'ignoreResult', SCALAR],
  ['},"properties":{"correlation_id":', 'correlationId', SCALAR],
  [',"reply_to":', 'replyTo', SCALAR],
  [',"delivery_mode":', 'deliveryMode', SCALAR],
  // Celery writes an expiration (milliseconds, a string) for a task with an expiry: optional, see layout().
  [',"expiration":', 'expiration', SCALAR],
  [',"delivery_info":{"exchange":', 'exchange', SCALAR],
  [',"routing_key":', 'routingKey', SCALAR],
  ['},"priority":', 'priority', SCALAR],
  [',"body_encoding":"base64","delivery_tag":', 'deliveryTag', SCALAR],
  ['}}', '', ''],
];

type Groups = Record<string, number>;

/** The envelope's expression with `comma` and `colon` as separators, and the first group of each field. */
function layout(comma: string, colon: string): { re: RegExp; at: Groups; texts: string[] } {
  let source = '^';
  let group = 1;
  const at: Groups = {};
  const texts: string[] = [];
  for (const [text, field, value] of ENVELOPE) {
    texts.push(text.replace(/,/g, comma).replace(/:/g, colon));
    const literal = texts[texts.length - 1]!.replace(/[{}[\]]/g, '\\$&');
    if (field === 'expiration') {
      // An empty group, '' when the key is there.
      source += `(?:${literal}()${value})?`;
      at.hasExpiration = group++;
    } else {
      source += literal + value;
    }
    if (field) at[field] = group;
    group += value === SCALAR ? 2 : value === '' ? 0 : 1;
  }
  return { re: new RegExp(source + '$'), at, texts };
}

/** As JSON.stringify writes it, and as Python's json.dumps does (separators ', ' and ': '). */
const COMPACT = layout(',', ':');
const PYTHON = layout(', ', ': ');
const COMPACT_START = '{"body":"';
const PYTHON_START = '{"body": "';

/** The body of a call without arguments, callbacks, chain or chord, as Celery writes it (Radish's: EMPTY_CALL_BODY). */
const EMPTY_BODY_PYTHON = Buffer.from('[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]').toString('base64');

/** The body's last element when it is the empty embed, as Radish and Celery write it. */
const EMPTY_EMBED_COMPACT = ',{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]';
const EMPTY_EMBED_PYTHON = ', {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]';

/** The value of the scalar whose two groups start at i (see SCALAR). */
function scalarAt(m: RegExpExecArray, i: number): unknown {
  const text = m[i];
  if (text !== undefined) return stringOf(text);
  const literal = m[i + 1];
  if (literal === undefined) return null;
  const c = literal.charCodeAt(0);
  if (c === 116) return true;
  if (c === 102) return false;
  // Number() of a JSON number is the value JSON.parse gives it.
  return literal.length === 1 ? c - 48 : Number(literal);
}

/** A JSON string's content, decoded. */
function stringOf(text: string): string {
  return text.indexOf('\\') < 0 ? text : JSON.parse('"' + text + '"') as string;
}

/** The message decoded, when it has the layout Radish or Celery writes and decodes; else undefined. */
export function decodeFast(raw: string): TaskMessage | undefined {
  try {
    return readFast(raw);
  } catch {
    return undefined;
  }
}

/** The values of the message being read, in ENVELOPE's order (reused: readFast is not re-entered). */
const VALUES: unknown[] = new Array<unknown>(ENVELOPE.length).fill(null);
const EXPIRATION = ENVELOPE.findIndex(([, field]) => field === 'expiration');
const VALUE_COUNT = ENVELOPE.length - 1;

/**
 * VALUES from a message the layout's expression matched and that has no backslash: every string ends at the next
 * quote, every value starts right after its literal text.
 */
function walk(s: string, texts: string[]): boolean {
  let p = 0;
  let hasExpiration = false;
  for (let k = 0; k < VALUE_COUNT; k++) {
    const text = texts[k]!;
    if (k === EXPIRATION) {
      hasExpiration = s.startsWith(text, p);
      if (!hasExpiration) {
        VALUES[k] = undefined;
        continue;
      }
    }
    p += text.length;
    const c = s.charCodeAt(p);
    if (c === 34) {
      const end = s.indexOf('"', p + 1);
      VALUES[k] = s.slice(p + 1, end);
      p = end + 1;
    } else if (c === 110) {
      VALUES[k] = null;
      p += 4;
    } else if (c === 116) {
      VALUES[k] = true;
      p += 4;
    } else if (c === 102) {
      VALUES[k] = false;
      p += 5;
    } else {
      const start = p;
      let d = c;
      while ((d >= 48 && d <= 57) || d === 45 || d === 43 || d === 46 || d === 101 || d === 69) d = s.charCodeAt(++p);
      // Number() of a JSON number is the value JSON.parse gives it.
      VALUES[k] = p - start === 1 ? c - 48 : Number(s.slice(start, p));
    }
  }
  return hasExpiration;
}

/** VALUES from the expression's groups, escapes decoded (a message with a backslash). */
function fromGroups(m: RegExpExecArray, at: Groups): boolean {
  for (let k = 0; k < VALUE_COUNT; k++) {
    const [, field, value] = ENVELOPE[k]!;
    const g = at[field]!;
    VALUES[k] = value === SCALAR ? scalarAt(m, g) : stringOf(m[g]!);
  }
  const hasExpiration = m[at.hasExpiration!] !== undefined;
  if (!hasExpiration) VALUES[EXPIRATION] = undefined;
  return hasExpiration;
}

function readFast(s: string): TaskMessage | undefined {
  if (typeof s !== 'string') return undefined;
  const layout = s.startsWith(COMPACT_START) ? COMPACT : s.startsWith(PYTHON_START) ? PYTHON : undefined;
  if (layout === undefined) return undefined;
  let hasExpiration: boolean;
  // The body cannot hold a backslash (base64): any in the message is in another string.
  if (s.indexOf('\\') < 0) {
    if (!layout.re.test(s)) return undefined;
    hasExpiration = walk(s, layout.texts);
  } else {
    const m = layout.re.exec(s);
    if (m === null) return undefined;
    hasExpiration = fromGroups(m, layout.at);
  }
  const V = VALUES;
  const body = V[0] as string;
  const lang = V[1];
  const task = V[2] as string;
  const id = V[3] as string;
  const shadow = V[4];
  const eta = V[5];
  const expires = V[6];
  const group = V[7];
  const groupIndex = V[8];
  const retries = V[9];
  const hard = V[10];
  const soft = V[11];
  const rootId = V[12];
  const parentId = V[13];
  const argsrepr = V[14];
  const kwargsrepr = V[15];
  const origin = V[16];
  const ignoreResult = V[17];
  const correlationId = V[18];
  const replyTo = V[19];
  const deliveryMode = V[20];
  const expiration = V[21];
  const exchange = V[22];
  const routingKey = V[23];
  const priority = V[24];
  const deliveryTag = V[25];

  // decodeBody: content type and encoding are the expression's ("application/json", "utf-8"), and so is
  // body_encoding ("base64"), with a body the general path's base64 check passes.
  let args: unknown;
  let kwargs: unknown;
  let embed: Embed;
  if (body === EMPTY_CALL_BODY || body === EMPTY_BODY_PYTHON) {
    // What JSON.parse makes of it, without decoding it.
    args = [];
    kwargs = {};
    embed = emptyEmbed();
  } else {
    // atob's bytes as Latin-1 are the UTF-8 text when they are all ASCII (Celery's ensure_ascii JSON always is);
    // otherwise the general path's strict UTF-8 decode. (atob throws on some input Buffer.from reads: the general
    // path decides those.)
    const bytes = atob(body);
    const text = Buffer.byteLength(bytes, 'utf8') === bytes.length ? bytes : STRICT_UTF8.decode(Buffer.from(body, 'base64'));
    // `[args, kwargs, <the empty embed>]`, the common body: when `[args, kwargs]` (the text without the embed) is
    // a JSON array of two, the whole text is that array with the embed appended, so only the head is parsed.
    const suffix = text.endsWith(EMPTY_EMBED_COMPACT) ? EMPTY_EMBED_COMPACT.length : text.endsWith(EMPTY_EMBED_PYTHON) ? EMPTY_EMBED_PYTHON.length : 0;
    const head: unknown = suffix > 0 ? JSON.parse(text.slice(0, text.length - suffix) + ']') : undefined;
    if (Array.isArray(head) && head.length === 2) {
      args = head[0];
      kwargs = head[1];
      embed = emptyEmbed();
    } else {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed) || parsed.length < 2) return undefined;
      args = parsed[0];
      kwargs = parsed[1];
      embed = readEmbed(parsed[2]);
    }
  }
  // The general path's checks, protocol 2 (headers.task is a string). Below, its readers of each field: one that
  // throws leaves the message to the general path (decodeFast), which refuses it with the same reason.
  if (task === '' || id === '') return undefined;
  if (!Array.isArray(args) || !isObject(kwargs)) return undefined;

  const deliveryInfo = { exchange, routing_key: routingKey };
  const envelope = {
    body,
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang, task, id, shadow, eta, expires, group, group_index: groupIndex, retries, timelimit: [hard, soft], root_id: rootId,
      parent_id: parentId, argsrepr, kwargsrepr, origin, ignore_result: ignoreResult,
    },
    properties: hasExpiration
      ? { correlation_id: correlationId, reply_to: replyTo, delivery_mode: deliveryMode, expiration, delivery_info: deliveryInfo, priority, body_encoding: 'base64', delivery_tag: deliveryTag }
      : { correlation_id: correlationId, reply_to: replyTo, delivery_mode: deliveryMode, delivery_info: deliveryInfo, priority, body_encoding: 'base64', delivery_tag: deliveryTag },
  };
  return {
    raw: s,
    envelope: envelope as unknown as Envelope,
    id,
    name: task,
    args,
    kwargs,
    embed,
    eta: readDate(eta, 'eta'),
    expires: readDate(expires, 'expires'),
    retries: optionalNumber(retries, 'retries') ?? 0,
    priority: clampPriority(priority),
    deliveryTag: optionalString(deliveryTag, 'delivery_tag') ?? id,
    routingKey: optionalString(routingKey, 'routing_key') ?? '',
    exchange: optionalString(exchange, 'exchange') ?? '',
    redelivered: false,
    timeLimit: optionalNumber(hard, 'timelimit[0]'),
    softTimeLimit: optionalNumber(soft, 'timelimit[1]'),
    parentId: optionalString(parentId, 'parent_id'),
    rootId: optionalString(rootId, 'root_id') ?? id,
    groupId: optionalString(group, 'group'),
    groupIndex: optionalNumber(groupIndex, 'group_index'),
    ignoreResult: ignoreResult === true,
  };
}
