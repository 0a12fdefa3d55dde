/**
 * Opening a kombu envelope, the wrapping every message Radish reads comes in (task messages, events, pidbox
 * requests and replies): `{body, content-encoding, content-type, headers, properties}` whose body is JSON, base64
 * encoded when `properties.body_encoding` says so. One reader with the same checks and the same reasons for all
 * three; each kind of message throws its own error class, and task messages are stricter about the body's bytes.
 */
import { isObject, type JsonObject } from './json';
import { errorMessage } from '../errors';

/** How one kind of message opens its envelope. */
export interface EnvelopeRules {
  /** The error thrown for a `reason` (one line fit for a log): the message kind's own class. */
  fail(reason: string): Error;
  /** Refuse a `content-encoding` other than UTF-8 (as kombu's `loads` would fail on it). Default false. */
  checkEncoding?: boolean;
  /**
   * Refuse a body whose bytes are not UTF-8, where the default replaces them with U+FFFD. Default false. A task's
   * arguments must be the bytes that were sent; an event or control message with a stray byte is still readable.
   */
  strictUtf8?: boolean;
}

/** An envelope parsed, with its headers and properties (an empty object when missing or not an object). */
export interface ParsedEnvelope {
  envelope: JsonObject;
  headers: JsonObject;
  properties: JsonObject;
}

/** One decoder for every message (stateless between calls: each decode() is a whole input). */
export const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Base64 as kombu's check accepts it, whitespace allowed. */
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** Parse the envelope's JSON; throws `rules.fail` when it is not a JSON object. */
export function parseEnvelope(raw: string, rules: EnvelopeRules): ParsedEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw rules.fail(`message is not valid JSON: ${errorMessage(err)}`);
  }
  if (!isObject(parsed)) throw rules.fail('message is not a JSON object');
  return {
    envelope: parsed,
    headers: isObject(parsed.headers) ? parsed.headers : {},
    properties: isObject(parsed.properties) ? parsed.properties : {},
  };
}

/** The envelope's body, decoded: only JSON is accepted (never pickle). Throws `rules.fail` with the reason. */
export function envelopeBody({ envelope, properties }: ParsedEnvelope, rules: EnvelopeRules): unknown {
  const contentType = envelope['content-type'];
  if (contentType !== 'application/json') {
    throw rules.fail(`unsupported content type ${JSON.stringify(contentType)}: Radish accepts application/json only`);
  }
  if (rules.checkEncoding) {
    const encoding = envelope['content-encoding'];
    if (encoding !== undefined && encoding !== null && String(encoding).toLowerCase().replace('-', '') !== 'utf8') {
      throw rules.fail(`unsupported content encoding ${JSON.stringify(encoding)}`);
    }
  }
  const rawBody = envelope.body;
  if (typeof rawBody !== 'string') throw rules.fail('body is missing or not a string');
  let text = rawBody;
  if (properties.body_encoding === 'base64') {
    if (!BASE64.test(rawBody)) throw rules.fail('body is not valid base64');
    if (rules.strictUtf8) {
      try {
        text = STRICT_UTF8.decode(Buffer.from(rawBody, 'base64'));
      } catch {
        throw rules.fail('body is not valid UTF-8');
      }
    } else {
      text = Buffer.from(rawBody, 'base64').toString('utf8');
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw rules.fail(`body is not valid JSON: ${errorMessage(err)}`);
  }
}

/** {@link parseEnvelope} then {@link envelopeBody}: for messages whose errors need nothing from the headers. */
export function openEnvelope(raw: string, rules: EnvelopeRules): ParsedEnvelope & { body: unknown } {
  const parsed = parseEnvelope(raw, rules);
  return { ...parsed, body: envelopeBody(parsed, rules) };
}
