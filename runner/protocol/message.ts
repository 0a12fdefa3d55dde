/**
 * Celery task messages (protocol 2, and reading protocol 1) as kombu stores them in a Redis list:
 * a JSON envelope whose base64 body is `[args, kwargs, embed]`. Pure functions, no I/O.
 */
import { argsRepr, kwargsRepr } from './pyrepr';
import { isoWithOffset, parseCeleryDate } from './time';

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
  const body = Buffer.from(head.slice(0, -1) + ',' + embedJson + ']', 'utf8').toString('base64');
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
    throw new ProtocolError(`${field}: ${(err as Error).message}`);
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
    throw new ProtocolError(`body is not valid JSON: ${(err as Error).message}`);
  }
}

function readEmbed(v: unknown): Embed {
  if (v === null || v === undefined) return { ...EMPTY_EMBED };
  if (!isObject(v)) throw new ProtocolError('body embed must be an object');
  const list = (x: unknown, field: string): Signature[] | null => {
    if (x === null || x === undefined) return null;
    if (!Array.isArray(x) || !x.every(isObject)) throw new ProtocolError(`embed.${field} must be a list of signatures`);
    return x as Signature[];
  };
  const chord = v.chord;
  if (chord !== null && chord !== undefined && !isObject(chord)) throw new ProtocolError('embed.chord must be a signature');
  return {
    callbacks: list(v.callbacks, 'callbacks'),
    errbacks: list(v.errbacks, 'errbacks'),
    chain: list(v.chain, 'chain'),
    chord: (chord as Signature | undefined) ?? null,
  };
}

/**
 * Decode one message string. Throws ProtocolError (with the task id and name when they could be read) for
 * anything that is not a well-formed JSON task message; never runs or evaluates anything.
 */
export function decodeTaskMessage(raw: string): TaskMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ProtocolError(`message is not valid JSON: ${(err as Error).message}`);
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
