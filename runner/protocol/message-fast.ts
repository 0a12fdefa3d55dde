/**
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
import { isObject } from './json';
import { STRICT_UTF8 } from './kombu-envelope';
import {
  EMPTY_BODY_PYTHON, EMPTY_CALL_BODY, EMPTY_EMBED_COMPACT, EMPTY_EMBED_PYTHON, emptyEmbed, readEmbed,
} from './message-body';
import { taskMessageOf } from './message-decode';
import type { TaskMessage } from './message-types';
import type { Embed } from './task-call';
import { headersOf, TASK_HEADERS, type HeaderPlaces } from './task-headers';

/** A JSON string's content, escapes included (decoded by JSON.parse when it has any). */
const STRING = String.raw`"([^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})[^"\\\x00-\x1f]*)*)"`;
/** A JSON true, false or number (its grammar exactly). */
const LITERAL = String.raw`(true|false|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)`;
/** A JSON scalar: two groups, the string's content or the literal's text, neither for null (no string made for it). */
const SCALAR = `(?:${STRING}|null|${LITERAL})`;
/** A base64 body as kombu writes it (the general path's check also allows whitespace: it decides those). */
const BASE64 = String.raw`"([A-Za-z0-9+/]*={0,2})"`;

/** The envelope's values in order, each with the literal JSON text before it (',' and ':' as separators). */
const SLOTS: [text: string, value: string][] = [];

/** Add a value to the envelope; returns its place in SLOTS (and VALUES). */
function slot(text: string, value: string): number {
  return SLOTS.push([text, value]) - 1;
}

/**
 * The headers' values, in the table's order after `before`: where each one is (a pair's second value is at the next
 * place), and the text that must follow the last.
 */
function headerSlots(before: string): { at: HeaderPlaces; after: string } {
  const at: Record<string, number> = {};
  let text = before;
  for (const [i, spec] of TASK_HEADERS.entries()) {
    text += (i === 0 ? '' : ',') + JSON.stringify(spec.name) + ':';
    if (spec.fast === 'pair') {
      at[spec.name] = slot(text + '[', SCALAR);
      slot(',', SCALAR);
      text = ']';
    } else {
      at[spec.name] = slot(text, spec.fast === 'string' ? STRING : SCALAR);
      text = '';
    }
  }
  // One place for every row of the table: a HeaderPlaces.
  return { at: at as HeaderPlaces, after: text };
}

const BODY = slot('{"body":', BASE64);
const HEADERS = headerSlots(',"content-encoding":"utf-8","content-type":"application/json","headers":{');
const CORRELATION_ID = slot(HEADERS.after + '},"properties":{"correlation_id":', SCALAR);
const REPLY_TO = slot(',"reply_to":', SCALAR);
const DELIVERY_MODE = slot(',"delivery_mode":', SCALAR);
// Celery writes an expiration (milliseconds, a string) for a task with an expiry: optional, see layout().
const EXPIRATION = slot(',"expiration":', SCALAR);
const EXCHANGE = slot(',"delivery_info":{"exchange":', SCALAR);
const ROUTING_KEY = slot(',"routing_key":', SCALAR);
const PRIORITY = slot('},"priority":', SCALAR);
const DELIVERY_TAG = slot(',"body_encoding":"base64","delivery_tag":', SCALAR);
const END = '}}';
const VALUE_COUNT = SLOTS.length;

/** The place of a header the checks below read as a string, which the expression must only match as one. */
function stringHeaderAt(name: 'task' | 'id'): number {
  const spec = TASK_HEADERS.find((row) => row.name === name);
  if (spec?.fast !== 'string') throw new Error(`task-headers.ts: ${name} must be a 'string' header`);
  return HEADERS.at[name];
}
const TASK = stringHeaderAt('task');
const ID = stringHeaderAt('id');

interface Layout {
  re: RegExp;
  /** The first group of each value. */
  at: number[];
  /** The empty group that is there when the optional expiration is. */
  hasExpiration: number;
  /** The literal text before each value. */
  texts: string[];
}

/** The envelope's expression with `comma` and `colon` as separators. */
function layout(comma: string, colon: string): Layout {
  const separators = (text: string): string => text.replace(/,/g, comma).replace(/:/g, colon);
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let source = '^';
  let group = 1;
  let hasExpiration = 0;
  const at: number[] = [];
  const texts: string[] = [];
  for (const [k, [text, value]] of SLOTS.entries()) {
    texts.push(separators(text));
    const literal = escape(texts[k]!);
    if (k === EXPIRATION) {
      // An empty group, '' when the key is there.
      source += `(?:${literal}()${value})?`;
      hasExpiration = group++;
    } else {
      source += literal + value;
    }
    at.push(group);
    group += value === SCALAR ? 2 : 1;
  }
  return { re: new RegExp(source + escape(separators(END)) + '$'), at, hasExpiration, texts };
}

/** As JSON.stringify writes it, and as Python's json.dumps does (separators ', ' and ': '). */
const COMPACT = layout(',', ':');
const PYTHON = layout(', ', ': ');
const COMPACT_START = '{"body":"';
const PYTHON_START = '{"body": "';

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

/** The values of the message being read, in SLOTS' order (reused: readFast is not re-entered). */
const VALUES: unknown[] = new Array<unknown>(VALUE_COUNT).fill(null);

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
function fromGroups(m: RegExpExecArray, layout: Layout): boolean {
  for (let k = 0; k < VALUE_COUNT; k++) {
    const g = layout.at[k]!;
    VALUES[k] = SLOTS[k]![1] === SCALAR ? scalarAt(m, g) : stringOf(m[g]!);
  }
  const hasExpiration = m[layout.hasExpiration] !== undefined;
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
    hasExpiration = fromGroups(m, layout);
  }
  const V = VALUES;
  const body = V[BODY] as string;
  const task = V[TASK] as string;
  const id = V[ID] as string;

  // The general path's envelopeBody: content type and encoding are the expression's ("application/json", "utf-8"),
  // and so is body_encoding ("base64"), with a body the general path's base64 check passes.
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
  // The general path's checks, protocol 2 (headers.task is a string). Its readers of the other fields
  // (taskMessageOf) follow: one that throws leaves the message to the general path (decodeFast), which refuses it
  // with the same reason.
  if (task === '' || id === '') return undefined;
  if (!Array.isArray(args) || !isObject(kwargs)) return undefined;

  const headers = headersOf(V, HEADERS.at);
  const deliveryInfo = { exchange: V[EXCHANGE], routing_key: V[ROUTING_KEY] };
  const properties = hasExpiration
    ? {
      correlation_id: V[CORRELATION_ID], reply_to: V[REPLY_TO], delivery_mode: V[DELIVERY_MODE], expiration: V[EXPIRATION],
      delivery_info: deliveryInfo, priority: V[PRIORITY], body_encoding: 'base64', delivery_tag: V[DELIVERY_TAG],
    }
    : {
      correlation_id: V[CORRELATION_ID], reply_to: V[REPLY_TO], delivery_mode: V[DELIVERY_MODE],
      delivery_info: deliveryInfo, priority: V[PRIORITY], body_encoding: 'base64', delivery_tag: V[DELIVERY_TAG],
    };
  const envelope = { body, 'content-encoding': 'utf-8', 'content-type': 'application/json', headers, properties };
  return taskMessageOf({ raw: s, envelope, headers, properties, deliveryInfo, fields: headers, id, name: task, args, kwargs, embed });
}
