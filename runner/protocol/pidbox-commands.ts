/**
 * Arguments and reply values of the remote-control commands that take more than a word to answer as Celery does:
 * the replies Celery 5.3 reworded (`revoke`), and the commands Celery workers answer beyond the inspect basics
 * (`revoke_by_stamped_headers`, `hello`, `conf`, `report`). Pure functions, no I/O; the worker's handlers
 * (runner/worker/control-handlers.ts) feed them. Celery's own words are in celery/worker/control.py.
 */
import { celeryLayout, type CeleryLayout } from './celery-version';
import { isObject, type JsonObject } from './json';
import { ok, PidboxError, revokeReply } from './pidbox';
import { pyRepr } from './pyrepr';

// ---------------------------------------------------------------------------------------------
// Which Celery the replies look like

/**
 * Where Celery's replies changed, which wording a worker uses: `5.2` as Celery up to 5.2 (Debian's 5.2.6), `5.3` as
 * Celery 5.3 and later (5.6 today). Celery's tools read either; the style only decides whose replies ours look like.
 */
export type ReplyStyle = CeleryLayout;

/**
 * The reply style of a Celery version (`'5.6'`, `'5.2.6'`, `'6'`): its {@link celeryLayout}. Throws RangeError for
 * anything that is not dot-separated numbers.
 */
export function replyStyle(celeryVersion: string): ReplyStyle {
  return celeryLayout(celeryVersion);
}

/** Python's repr() of a set of JSON scalars: `{'a', 'b'}`, or `set()` when empty (in the order given). */
export function pySetRepr(values: readonly unknown[]): string {
  return values.length ? `{${values.map(pyRepr).join(', ')}}` : 'set()';
}

/**
 * Celery's `revoke` reply in a style: 5.3 and later print the id set (`tasks {'a', 'b'} flagged as revoked`), 5.2
 * joins the ids (`tasks a, b flagged as revoked`). With `terminated` (terminate was asked) both say
 * `terminate: a, b` or `terminate: tasks unknown`.
 */
export function revokeReplyAs(style: ReplyStyle, ids: readonly string[], terminated?: readonly string[]): { ok: string } {
  if (terminated !== undefined || style === '5.2') return revokeReply(ids, terminated);
  return ok(`tasks ${pySetRepr(ids)} flagged as revoked`);
}

// ---------------------------------------------------------------------------------------------
// revoke_by_stamped_headers

/** Arguments of `revoke_by_stamped_headers`. */
export interface StampedRevokeArguments {
  /** Stamp name -> the value or values to revoke, e.g. `{monitoring_id: ['a', 'b']}`. */
  headers: JsonObject;
  terminate: boolean;
  /** Signal name for `terminate` (`SIGTERM`, Celery's default, when none is given). */
  signal: string;
}

/**
 * Read `{headers, terminate?, signal?}` as Celery 5.6's `app.control.revoke_by_stamped_headers` sends them: `headers`
 * is an object, or (from the CLI) a list of `name=value` strings, read as Celery splits them. Throws PidboxError
 * for anything else.
 */
export function stampedRevokeArguments(args: JsonObject): StampedRevokeArguments {
  const raw = args.headers;
  let headers: JsonObject;
  if (isObject(raw)) headers = raw;
  else if (Array.isArray(raw) && raw.every((h) => typeof h === 'string' && h.includes('='))) {
    // Celery keeps what is between the first and the second '=' (`h.split('=')[1]`).
    headers = Object.fromEntries((raw as string[]).map((h) => { const [name = '', value = ''] = h.split('='); return [name, value]; }));
  } else {
    throw new PidboxError('revoke_by_stamped_headers: headers must be {name: value(s)} or a list of "name=value"');
  }
  const signal = typeof args.signal === 'number' ? String(args.signal) : typeof args.signal === 'string' && args.signal !== '' ? args.signal : 'SIGTERM';
  return { headers, terminate: args.terminate === true, signal };
}

/**
 * Celery's `revoke_by_stamped_headers` reply: without `terminated` (terminate was not asked)
 * `headers {...} flagged as revoked, but not terminated`; with an empty map `headers {...} were not terminated`;
 * otherwise the stamps of the tasks terminated, printed as Celery prints its `defaultdict(set)`.
 */
export function stampedRevokeReply(headers: JsonObject, terminated?: ReadonlyMap<string, readonly unknown[]>): { ok: string } {
  if (terminated === undefined) return ok(`headers ${pyRepr(headers)} flagged as revoked, but not terminated`);
  if (terminated.size === 0) return ok(`headers ${pyRepr(headers)} were not terminated`);
  const entries = [...terminated].map(([name, values]) => `${pyRepr(name)}: ${pySetRepr(values)}`);
  return ok(`headers defaultdict(<class 'set'>, {${entries.join(', ')}}) revoked`);
}

// ---------------------------------------------------------------------------------------------
// hello (mingle)

/** Arguments of `hello`, the request a starting Celery worker broadcasts to sync with the others (mingle). */
export interface HelloArguments {
  /** The node asking. */
  fromNode: string;
  /** Its revoked task ids. */
  revoked: string[];
}

/**
 * Read `{from_node, revoked?}`. `revoked` is the sender's `LimitedSet._data` (`{id: [timestamp, id]}`), or a plain list
 * of ids as older Celery sent. Throws PidboxError when `from_node` is missing or `revoked` is neither.
 */
export function helloArguments(args: JsonObject): HelloArguments {
  if (typeof args.from_node !== 'string' || args.from_node === '') throw new PidboxError('hello: from_node must be a node name');
  const raw = args.revoked ?? null;
  let revoked: string[];
  if (raw === null) revoked = [];
  else if (isObject(raw)) revoked = Object.keys(raw);
  else if (Array.isArray(raw) && raw.every((id) => typeof id === 'string')) revoked = raw as string[];
  else throw new PidboxError('hello: revoked must be {id: [timestamp, id]} or a list of ids');
  return { fromNode: args.from_node, revoked: revoked.filter((id) => id !== '') };
}

/** The reply mingle reads: `revoked` as Celery's `LimitedSet._data`, and the node's Lamport clock. */
export interface HelloReply {
  revoked: Record<string, [number, string]>;
  clock: number;
}

/**
 * Celery's `hello` reply. Each id is stamped `now` on the monotonic clock, as Celery's LimitedSet stamps its
 * entries (`time.monotonic()`; on one host Node's and Python's are the same clock). The receiving LimitedSet refuses
 * a timestamp that is not a float, and JSON writes an integral number as an int, so an integral `now` is nudged.
 */
export function helloReply(revoked: readonly string[], clock: number, now: number): HelloReply {
  const at = Number.isInteger(now) ? now + 1e-6 : now;
  return { revoked: Object.fromEntries(revoked.map((id) => [id, [at, id]])), clock };
}

/** Seconds on the monotonic clock Python's `time.monotonic()` reads (CLOCK_MONOTONIC on Linux). */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

// ---------------------------------------------------------------------------------------------
// conf and report

/** One configuration setting, under Celery's name. */
export interface Setting {
  key: string;
  /** JSON value in effect. */
  value: unknown;
  /** Celery's default for it: `conf` without `with_defaults` leaves out what equals it. */
  celeryDefault: unknown;
  /** Listed even when it equals the default (the broker and backend URLs, as a Celery app always sets them). */
  always?: boolean;
}

/** Celery's HIDDEN_SETTINGS: values of such keys are replaced by the mask. */
const HIDDEN_SETTINGS = /API|TOKEN|KEY|SECRET|PASS|PROFANITIES_LIST|SIGNATURE|DATABASE/i;
const MASK = '********';

/** A URL with every password replaced by `mask` (each host of a `;`-separated list), as kombu's as_uri(mask=) does. */
export function maskUrl(url: string, mask = MASK): string {
  return url.replace(/(\/\/[^:/@;]*:)[^@/;]*@/g, `$1${mask}@`);
}

/** A setting as Celery's `filter_hidden_settings` shows it: secrets masked, URL passwords masked, objects recursed. */
export function censorSetting(key: string, value: unknown): unknown {
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, censorSetting(k, v)]));
  if (HIDDEN_SETTINGS.test(key)) return MASK;
  const lower = key.toLowerCase();
  if (typeof value === 'string' && (lower.includes('broker_url') || lower.includes('backend'))) return maskUrl(value);
  return value;
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Celery's `conf` reply: the settings that differ from Celery's defaults (and those marked `always`), or all of
 * them `withDefaults`; keys that are not names or start with `__` left out (Celery's keyfilter), secrets masked.
 */
export function confReply(settings: readonly Setting[], withDefaults: boolean): JsonObject {
  const table: JsonObject = {};
  for (const s of settings) {
    if (s.key.startsWith('__')) continue;
    if (withDefaults || s.always || !sameJson(s.value, s.celeryDefault)) table[s.key] = censorSetting(s.key, s.value);
  }
  return table;
}

/** `with_defaults` of `conf`: a bool from Celery's CLI; Python's strtobool words and numbers are read too. */
export function withDefaultsArgument(args: JsonObject): boolean {
  const v = args.with_defaults;
  if (typeof v === 'string') return /^(y|yes|t|true|on|1)$/i.test(v.trim());
  return v === true || (typeof v === 'number' && v !== 0);
}

/** What `report` says about the node. */
export interface ReportFacts {
  /** Celery's first line after `software -> `, e.g. `radish:1.0.0 node:20.19.0 celery-compat:5.6`. */
  software: string;
  platform: { system: string; arch: string; kernel: string; implementation: string };
  loader: string;
  transport: string;
  /** The result backend URL (its password is masked here). */
  results: string;
  /** The censored settings table (as `conf` replies), printed one per line. */
  settings: JsonObject;
}

/** Celery's `pretty()` of a setting's value: a dict opens on its own line; anything else is its repr. */
function pretty(value: unknown): string {
  return isObject(value) ? `{\n ${pyRepr(value).slice(1)}` : pyRepr(value);
}

/** Celery's `app.bugreport()` text, laid out line for line, about a Radish node. */
export function bugreport(facts: ReportFacts): string {
  const { platform } = facts;
  const settings = Object.entries(facts.settings).map(([key, value]) => `${key}: ${pretty(value)}`).join('\n');
  return [
    '',
    `software -> ${facts.software}`,
    `platform -> system:${platform.system} arch:${platform.arch}`,
    `            kernel version:${platform.kernel} imp:${platform.implementation}`,
    `loader   -> ${facts.loader}`,
    // kombu's maybe_sanitize_url masks with '**' here.
    `settings -> transport:${facts.transport} results:${maskUrl(facts.results, '**')}`,
    '',
    settings,
    '',
  ].join('\n');
}
