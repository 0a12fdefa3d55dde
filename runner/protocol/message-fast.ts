/**
 * The fast path of decodeTaskMessage. JSON.parse of the envelope was most of a no-op task's decode: it builds every
 * object and copies every string of ~800 bytes. Here one regular expression (native code, one pass) checks that the
 * message is the envelope Radish (JSON.stringify) or Celery (json.dumps) writes, key by key in their order, with JSON
 * strings, numbers and literals as values; the values are then read off at their known places (walk, or the
 * expression's groups when a string has escapes) and the objects JSON.parse would build are built from them.
 * Both Celery 5.2's layout and 5.3+'s (three more headers: `replaced_task_nesting`, `stamped_headers` as null or a
 * list of strings, `stamps` as an object of scalars or lists of scalars) are read, as is the `origin` property a
 * 5.3+ retry leaks, and Radish's send-time stamp (`radish_sent_at`, after the headers); sections a message may leave
 * out are one optional group each.
 * It answers only for a message that decodes: for anything else (another layout, another key, a value the general
 * path rejects or that this one does not read) it returns undefined and decodeTaskMessageGeneral decides, with its
 * reasons. So every message decodes to the same TaskMessage, or fails with the same ProtocolError, either way
 * (test/runner/message-fast.test.ts and celery56-golden.test.ts hold the two to that on Celery's captures and their
 * variants).
 */
import { isObject } from './json';
import { STRICT_UTF8 } from './kombu-envelope';
import {
  EMPTY_BODY_PYTHON, EMPTY_CALL_BODY, EMPTY_EMBED_COMPACT, EMPTY_EMBED_PYTHON, emptyEmbed, readEmbed,
} from './message-body';
import { taskMessageOf } from './message-decode';
import type { TaskMessage } from './message-types';
import type { Embed } from './task-call';
import {
  CELERY53_HEADERS, headersOf, headersOf53, SENT_AT_HEADER, TASK_HEADERS, type FastValue, type HeaderPlaces, type HeaderSpec,
} from './task-headers';

/** A JSON string's content, escapes included (decoded by JSON.parse when it has any). */
const STRING_TEXT = String.raw`[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})[^"\\\x00-\x1f]*)*`;
const STRING = `"(${STRING_TEXT})"`;
/** A JSON true, false or number (its grammar exactly). */
const LITERAL_TEXT = String.raw`true|false|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
const LITERAL = `(${LITERAL_TEXT})`;
/** A JSON scalar: two groups, the string's content or the literal's text, neither for null (no string made for it). */
const SCALAR = `(?:${STRING}|null|${LITERAL})`;
/** A base64 body as kombu writes it (the general path's check also allows whitespace: it decides those). */
const BASE64 = String.raw`"([A-Za-z0-9+/]*={0,2})"`;

/** A scalar without groups, for the values inside the JSON values below. */
const PLAIN_SCALAR = `(?:"${STRING_TEXT}"|null|${LITERAL_TEXT})`;
/** Where the layout's separators go in the JSON values' expressions (replaced by layout()). */
const COMMA = '\u0001';
const COLON = '\u0002';
/** `stamped_headers`: null or a list of strings; one group, the JSON text (parsed when read). */
const NAMES = String.raw`(null|\[(?:"${STRING_TEXT}"(?:${COMMA}"${STRING_TEXT}")*)?\])`;
/** A stamp's value: a scalar or a list of scalars (Celery's `append_stamps` makes lists). */
const STAMP = String.raw`(?:${PLAIN_SCALAR}|\[(?:${PLAIN_SCALAR}(?:${COMMA}${PLAIN_SCALAR})*)?\])`;
/** `stamps`: an object of stamps; one group, the JSON text (parsed when read). */
const STAMPS = String.raw`(\{(?:"${STRING_TEXT}"${COLON}${STAMP}(?:${COMMA}"${STRING_TEXT}"${COLON}${STAMP})*)?\})`;

/** What each value is, and so how it is read off the expression's groups. */
type Kind = 'string' | 'scalar' | 'json';

/** The envelope's values in order, each with the literal JSON text before it (',' and ':' as separators). */
const SLOTS: { text: string; value: string; kind: Kind }[] = [];

/** Add a value to the envelope; returns its place in SLOTS (and VALUES). */
function slot(text: string, value: string): number {
  const kind: Kind = value === SCALAR ? 'scalar' : value === NAMES || value === STAMPS ? 'json' : 'string';
  return SLOTS.push({ text, value, kind }) - 1;
}

/** Runs of values a message may leave out, all together: their first and last place. */
const SECTIONS: { first: number; last: number }[] = [];

/** Add the values `add` adds as a section a message may leave out; returns the section's number. */
function optional(add: () => void): number {
  const first = SLOTS.length;
  add();
  return SECTIONS.push({ first, last: SLOTS.length - 1 }) - 1;
}

const FAST_VALUES: Record<FastValue, string> = { string: STRING, scalar: SCALAR, pair: SCALAR, names: NAMES, stamps: STAMPS };

/** The headers of a table, in its order after `before`; returns the text that must follow the last. */
function headerSlots(table: readonly HeaderSpec<string, unknown>[], before: string, at: Record<string, number>): string {
  let text = before;
  for (const [i, spec] of table.entries()) {
    text += (i === 0 && before.endsWith('{') ? '' : ',') + JSON.stringify(spec.name) + ':';
    if (spec.fast === 'pair') {
      at[spec.name] = slot(text + '[', SCALAR);
      slot(',', SCALAR);
      text = ']';
    } else {
      at[spec.name] = slot(text, FAST_VALUES[spec.fast]);
      text = '';
    }
  }
  return text;
}

const BODY = slot('{"body":', BASE64);
/** Where each header's value is (a pair's second value is at the next place). */
const HEADER_AT: Record<string, number> = {};
const HEADERS_AFTER = headerSlots(TASK_HEADERS, ',"content-encoding":"utf-8","content-type":"application/json","headers":{', HEADER_AT);
if (HEADERS_AFTER !== '') throw new Error('message-fast.ts: the last of TASK_HEADERS must not be a pair (Celery 5.3\'s headers follow it)');
// Celery 5.3's headers, after the others: in every message 5.3+ and Radish (by default) write, in none 5.2 writes.
const CELERY53 = optional(() => headerSlots(CELERY53_HEADERS, '', HEADER_AT));
// Radish's send-time stamp, after them (and in 5.2's layout after ignore_result): in every message Radish sends.
let SENT_AT = 0;
const HAS_SENT_AT = optional(() => { SENT_AT = slot(',' + JSON.stringify(SENT_AT_HEADER) + ':', SCALAR); });
/** One place for every row of the tables: a HeaderPlaces. */
const HEADERS_AT = HEADER_AT as HeaderPlaces;
const CORRELATION_ID = slot('},"properties":{"correlation_id":', SCALAR);
const REPLY_TO = slot(',"reply_to":', SCALAR);
// Celery 5.3+'s retry leaks its request's origin into the properties: optional.
let ORIGIN = 0;
const HAS_ORIGIN = optional(() => { ORIGIN = slot(',"origin":', SCALAR); });
const DELIVERY_MODE = slot(',"delivery_mode":', SCALAR);
// Celery writes an expiration (milliseconds, a string) for a task with an expiry: optional.
let EXPIRATION = 0;
const HAS_EXPIRATION = optional(() => { EXPIRATION = slot(',"expiration":', SCALAR); });
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
  return HEADERS_AT[name];
}
const TASK = stringHeaderAt('task');
const ID = stringHeaderAt('id');

/** The section starting at each place (-1: none), for walk(). */
const SECTION_AT: number[] = Array.from({ length: VALUE_COUNT }, (_, k) => SECTIONS.findIndex((section) => section.first === k));

interface Layout {
  /** The expression, with a group for each value (read by fromGroups). */
  re: RegExp;
  /** The same without groups, to check a message the walk reads: no capture to record, a fifth faster. */
  check: RegExp;
  /** The first group of each value. */
  at: number[];
  /** For each section, the empty group that is there when the section is. */
  present: number[];
  /** The literal text before each value. */
  texts: string[];
}

/** The envelope's expression with `comma` and `colon` as separators. */
function layout(comma: string, colon: string): Layout {
  const separators = (text: string): string => text.replace(/,/g, comma).replace(/:/g, colon);
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const valueSeparators = (value: string): string => value.split(COMMA).join(escape(comma)).split(COLON).join(escape(colon));
  let source = '^';
  let group = 1;
  const present: number[] = [];
  const at: number[] = [];
  const texts: string[] = [];
  for (const [k, { text, value }] of SLOTS.entries()) {
    texts.push(separators(text));
    const section = SECTION_AT[k]!;
    if (section >= 0) {
      // An empty group, '' when the section is there.
      source += `(?:${escape(texts[k]!)}()`;
      present[section] = group++;
    } else {
      source += escape(texts[k]!);
    }
    at.push(group);
    source += valueSeparators(value);
    group += value === SCALAR ? 2 : 1;
    if (SECTIONS.some((s) => s.last === k)) source += ')?';
  }
  source += escape(separators(END)) + '$';
  // Every group of the expression is one of ours (the literal texts are escaped and hold no parenthesis).
  return { re: new RegExp(source), check: new RegExp(source.replace(/\((?!\?)/g, '(?:')), at, present, texts };
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
/** Which sections the message being read has. */
const PRESENT: boolean[] = SECTIONS.map(() => false);

/** The place of the `close` that ends the JSON list or object at `p`, in a message without backslashes. */
function endOf(s: string, p: number, close: number): number {
  for (let i = p + 1; ; i++) {
    const c = s.charCodeAt(i);
    // Strings end at the next quote (no backslash); the expression has checked the rest.
    if (c === 34) i = s.indexOf('"', i + 1);
    else if (c === close) return i;
  }
}

/**
 * VALUES and PRESENT from a message the layout's expression matched and that has no backslash: every string ends
 * at the next quote, every value starts right after its literal text.
 */
function walk(s: string, texts: string[]): void {
  let p = 0;
  for (let k = 0; k < VALUE_COUNT; k++) {
    const text = texts[k]!;
    const section = SECTION_AT[k]!;
    if (section >= 0) {
      const present = s.startsWith(text, p);
      PRESENT[section] = present;
      if (!present) {
        const last = SECTIONS[section]!.last;
        for (; k <= last; k++) VALUES[k] = undefined;
        k = last;
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
    } else if (c === 91 || c === 123) {
      // A list or an object (stamps): JSON.parse of its text builds what JSON.parse of the envelope would.
      const end = endOf(s, p, c + 2);
      VALUES[k] = c === 123 && end === p + 1 ? {} : JSON.parse(s.slice(p, end + 1));
      p = end + 1;
    } else {
      const start = p;
      let d = c;
      while ((d >= 48 && d <= 57) || d === 45 || d === 43 || d === 46 || d === 101 || d === 69) d = s.charCodeAt(++p);
      // Number() of a JSON number is the value JSON.parse gives it.
      VALUES[k] = p - start === 1 ? c - 48 : Number(s.slice(start, p));
    }
  }
}

/** VALUES and PRESENT from the expression's groups, escapes decoded (a message with a backslash). */
function fromGroups(m: RegExpExecArray, layout: Layout): void {
  for (let i = 0; i < SECTIONS.length; i++) PRESENT[i] = m[layout.present[i]!] !== undefined;
  for (let k = 0; k < VALUE_COUNT; k++) {
    const g = layout.at[k]!;
    const kind = SLOTS[k]!.kind;
    const text = m[g];
    if (kind === 'scalar') VALUES[k] = scalarAt(m, g);
    else if (text === undefined) VALUES[k] = undefined;
    else VALUES[k] = kind === 'json' ? JSON.parse(text) : stringOf(text);
  }
}

function readFast(s: string): TaskMessage | undefined {
  if (typeof s !== 'string') return undefined;
  const layout = s.startsWith(COMPACT_START) ? COMPACT : s.startsWith(PYTHON_START) ? PYTHON : undefined;
  if (layout === undefined) return undefined;
  // The body cannot hold a backslash (base64): any in the message is in another string.
  if (s.indexOf('\\') < 0) {
    if (!layout.check.test(s)) return undefined;
    walk(s, layout.texts);
  } else {
    const m = layout.re.exec(s);
    if (m === null) return undefined;
    fromGroups(m, layout);
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

  const headers: Record<string, unknown> = PRESENT[CELERY53] ? headersOf53(V, HEADERS_AT) : headersOf(V, HEADERS_AT);
  // Last, where JSON.parse of the envelope puts it.
  if (PRESENT[HAS_SENT_AT]) headers[SENT_AT_HEADER] = V[SENT_AT];
  const deliveryInfo = { exchange: V[EXCHANGE], routing_key: V[ROUTING_KEY] };
  const hasExpiration = PRESENT[HAS_EXPIRATION];
  let properties: Record<string, unknown>;
  if (PRESENT[HAS_ORIGIN]) {
    // A retry's: rare, built key by key.
    properties = { correlation_id: V[CORRELATION_ID], reply_to: V[REPLY_TO], origin: V[ORIGIN], delivery_mode: V[DELIVERY_MODE] };
    if (hasExpiration) properties.expiration = V[EXPIRATION];
    properties.delivery_info = deliveryInfo;
    properties.priority = V[PRIORITY];
    properties.body_encoding = 'base64';
    properties.delivery_tag = V[DELIVERY_TAG];
  } else {
    properties = hasExpiration
      ? {
        correlation_id: V[CORRELATION_ID], reply_to: V[REPLY_TO], delivery_mode: V[DELIVERY_MODE], expiration: V[EXPIRATION],
        delivery_info: deliveryInfo, priority: V[PRIORITY], body_encoding: 'base64', delivery_tag: V[DELIVERY_TAG],
      }
      : {
        correlation_id: V[CORRELATION_ID], reply_to: V[REPLY_TO], delivery_mode: V[DELIVERY_MODE],
        delivery_info: deliveryInfo, priority: V[PRIORITY], body_encoding: 'base64', delivery_tag: V[DELIVERY_TAG],
      };
  }
  const envelope = { body, 'content-encoding': 'utf-8', 'content-type': 'application/json', headers, properties };
  return taskMessageOf({ raw: s, envelope, headers, properties, deliveryInfo, fields: headers, id, name: task, args, kwargs, embed });
}
