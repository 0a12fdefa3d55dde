/**
 * The headers of a task message (protocol 2), in the order Celery writes them. Every place that names a header is
 * in this module:
 * - {@link TASK_HEADERS}, the table: each header's key, its value for a call (Celery's default when the call does not
 *   say) and what the fast decoder accepts there; and {@link CELERY53_HEADERS}, the three Celery 5.3 added after
 *   them (5.6 writes them on every message). The headers' type, the generic encoder and the fast decoder's
 *   expression are built from them.
 * - {@link headersJson} with {@link celery53HeadersJson}, {@link headersOf} and {@link headersOf53}, the per-message
 *   hot paths (the template encoder's header text, the fast decoder's header object), written out by hand because a
 *   loop over the table costs ~100 ns per encode and ~200 ns per decode (15-20%). The module refuses to load when
 *   one disagrees with the tables, so a header added to a table and not to them fails every test at once, with the
 *   place to fix.
 * A header the worker acts on also needs its TaskCall option and its TaskMessage field (message-decode.ts).
 */
import type { CeleryLayout } from './celery-version';
import type { JsonObject } from './json';
import { argsRepr, kwargsRepr } from './pyrepr';
import type { Sender, TaskCall } from './task-call';
import { isoWithOffset } from './time';

/**
 * What the fast decoder's expression accepts as the header's value: a JSON string, a JSON scalar (string, number,
 * true, false, null), a pair of scalars, null or a list of strings (`names`), or an object whose values are scalars
 * or lists of scalars (`stamps`). A message with anything else there is left to the general decoder.
 */
export type FastValue = 'string' | 'scalar' | 'pair' | 'names' | 'stamps';

/** One header: its key, its value for a call, and what the fast decoder accepts there. */
export interface HeaderSpec<N extends string, V> {
  readonly name: N;
  /** Its value in the message encoding `call`. */
  readonly value: (call: TaskCall, sender: Sender) => V;
  readonly fast: FastValue;
}

/** Keeps each row's key and value types, for {@link StandardHeaders}. */
function header<N extends string, V>(spec: HeaderSpec<N, V>): HeaderSpec<N, V> {
  return spec;
}

function isoOrNull(date: Date | null | undefined): string | null {
  return date ? isoWithOffset(date) : null;
}

/** Celery's task message headers, in Celery's order (Celery 5.2's `as_task_v2`). */
export const TASK_HEADERS = [
  header({ name: 'lang', value: (): string => 'py', fast: 'scalar' }),
  header({ name: 'task', value: (call): string => call.name, fast: 'string' }),
  header({ name: 'id', value: (call): string => call.id, fast: 'string' }),
  header({ name: 'shadow', value: (call): string | null => call.shadow ?? null, fast: 'scalar' }),
  header({ name: 'eta', value: (call) => isoOrNull(call.eta), fast: 'scalar' }),
  header({ name: 'expires', value: (call) => isoOrNull(call.expires), fast: 'scalar' }),
  header({ name: 'group', value: (call): string | null => call.groupId ?? null, fast: 'scalar' }),
  header({ name: 'group_index', value: (call): number | null => call.groupIndex ?? null, fast: 'scalar' }),
  header({ name: 'retries', value: (call): number => call.retries ?? 0, fast: 'scalar' }),
  // [hard, soft] in seconds.
  header({
    name: 'timelimit', fast: 'pair',
    value: (call): [number | null, number | null] => [call.timeLimit ?? null, call.softTimeLimit ?? null],
  }),
  header({ name: 'root_id', value: (call): string => call.rootId ?? call.id, fast: 'scalar' }),
  header({ name: 'parent_id', value: (call): string | null => call.parentId ?? null, fast: 'scalar' }),
  // What Celery tools show for the arguments (Python reprs).
  header({ name: 'argsrepr', value: (call) => argsRepr(call.args ?? []), fast: 'scalar' }),
  header({ name: 'kwargsrepr', value: (call) => kwargsRepr(call.kwargs ?? {}), fast: 'scalar' }),
  header({ name: 'origin', value: (_call, sender): string => sender.origin, fast: 'scalar' }),
  header({ name: 'ignore_result', value: (call): boolean => call.ignoreResult ?? false, fast: 'scalar' }),
] as const;

/**
 * The headers Celery 5.3 added after `ignore_result`, in its order (`as_task_v2`); Celery 5.6 writes them on every
 * message, and Radish in 5.3's layout (and on a call with stamps in any).
 */
export const CELERY53_HEADERS = [
  header({ name: 'replaced_task_nesting', value: (call): number => call.replacedTaskNesting ?? 0, fast: 'scalar' }),
  // The stamps' names, then the stamps: `stamped_headers: null, stamps: {}` when there are none.
  header({ name: 'stamped_headers', value: (call): string[] | null => (call.stamps ? Object.keys(call.stamps) : null), fast: 'names' }),
  header({ name: 'stamps', value: (call): JsonObject => call.stamps ?? {}, fast: 'stamps' }),
] as const;

/**
 * Radish's send-time stamp (ms since the epoch, an integer), written after the standard headers (and before any
 * extra ones) on every message Radish sends; Celery writes none and ignores it. See {@link sentStamp}.
 */
export const SENT_AT_HEADER = 'radish_sent_at';

/**
 * The stamp a call is sent with: its `sentAt` (whole ms), now when it has none, or null for no stamp. Both encoders
 * call this once per message, so they write the same value.
 */
export function sentStamp(call: TaskCall): number | null {
  const at = call.sentAt;
  if (at === null) return null;
  return typeof at === 'number' && Number.isFinite(at) ? Math.round(at) : Date.now();
}

/** The standard headers and their value types, as the table writes them. */
export type StandardHeaders = { -readonly [H in (typeof TASK_HEADERS)[number] as H['name']]: ReturnType<H['value']> };

/** The headers Celery 5.3 added, and their value types. */
export type Celery53Headers = { -readonly [H in (typeof CELERY53_HEADERS)[number] as H['name']]: ReturnType<H['value']> };

/** A task message's headers: the standard ones, kombu's `redelivered` mark, and any a sender added. */
export type TaskHeaders = StandardHeaders & { redelivered?: boolean; [extra: string]: unknown };

/** Whether a message has the headers Celery 5.3 added: in 5.3's layout (the default), and for a call with stamps. */
export function hasCelery53Headers(call: TaskCall, layout: CeleryLayout | undefined): boolean {
  return layout !== '5.2' || (call.stamps !== undefined && call.stamps !== null);
}

/** The standard headers as the generic encoder writes them: each row's value, in table order (Celery 5.3's after). */
export function standardHeaders(call: TaskCall, sender: Sender): StandardHeaders & Partial<Celery53Headers> {
  const headers: Record<string, unknown> = {};
  for (const spec of TASK_HEADERS) headers[spec.name] = spec.value(call, sender);
  if (hasCelery53Headers(call, sender.layout)) for (const spec of CELERY53_HEADERS) headers[spec.name] = spec.value(call, sender);
  // Every row's key with its value's type: what StandardHeaders (and Celery53Headers) are made of.
  return headers as StandardHeaders & Partial<Celery53Headers>;
}

// ---------------------------------------------------------------------------------------------
// The hot paths, written out (checked against the table below)

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

/** Celery 5.3's headers of a call without stamps or nesting: what nearly every message ends its headers with. */
const CELERY53_PLAIN = ',"replaced_task_nesting":0,"stamped_headers":null,"stamps":{}';

/** Celery 5.3's headers as JSON.stringify writes them, with their leading comma; undefined as for headersJson. */
export function celery53HeadersJson(call: TaskCall): string | undefined {
  const nesting = call.replacedTaskNesting;
  const stamps = call.stamps;
  const plainNesting = nesting === undefined || nesting === null || nesting === 0;
  if (plainNesting && (stamps === undefined || stamps === null)) return CELERY53_PLAIN;
  const n = plainNesting ? '0' : JSON.stringify(nesting) as string | undefined;
  if (n === undefined) return undefined;
  if (stamps === undefined || stamps === null) return ',"replaced_task_nesting":' + n + ',"stamped_headers":null,"stamps":{}';
  // A toJSON is called with its key, which differs here ('') from the generic path's ('stamps').
  if (typeof (stamps as { toJSON?: unknown }).toJSON === 'function') return undefined;
  return ',"replaced_task_nesting":' + n + ',"stamped_headers":' + JSON.stringify(Object.keys(stamps)) + ',"stamps":' + JSON.stringify(stamps);
}

/**
 * The standard headers (Celery 5.2's) as JSON.stringify writes {@link standardHeaders} (without the braces), for the
 * template encoder: `idJson` and `originJson` are the id and origin it has already quoted. Undefined when a value is
 * one JSON.stringify leaves out of an object (undefined, a function): the generic encoder writes that message. The
 * encoder adds {@link celery53HeadersJson} after them where {@link hasCelery53Headers} says (kept out of here: a
 * branch in this function cost the 5.2 layout 5% of an encode).
 */
export function headersJson(call: TaskCall, idJson: string, originJson: string): string | undefined {
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
  const eta = call.eta ? '"' + isoWithOffset(call.eta) + '"' : 'null';
  const expires = call.expires ? '"' + isoWithOffset(call.expires) + '"' : 'null';
  // The reprs of a call without arguments, the common case, without walking them.
  const args = call.args ?? [];
  const kwargs = call.kwargs ?? {};
  const argsrepr = Array.isArray(args) && args.length === 0 ? '"()"' : JSON.stringify(argsRepr(args));
  const kwargsrepr = isEmptyDict(kwargs) ? '"{}"' : JSON.stringify(kwargsRepr(kwargs));
  return '"lang":"py","task":' + JSON.stringify(call.name) + ',"id":' + idJson + ',"shadow":' + shadow + ',"eta":' + eta +
    ',"expires":' + expires + ',"group":' + group + ',"group_index":' + groupIndex + ',"retries":' + retries +
    ',"timelimit":' + timelimit + ',"root_id":' + root + ',"parent_id":' + parent + ',"argsrepr":' + argsrepr +
    ',"kwargsrepr":' + kwargsrepr + ',"origin":' + originJson + ',"ignore_result":' + ignore;
}

/** Where the fast decoder has read each header's value (a pair's second value is at the next place). */
export type HeaderPlaces = Readonly<Record<keyof StandardHeaders | keyof Celery53Headers, number>>;

/** The header object JSON.parse builds, from the values the fast decoder read (`values[at.<header>]`). */
export function headersOf(values: readonly unknown[], at: HeaderPlaces): Record<keyof StandardHeaders, unknown> {
  return {
    lang: values[at.lang], task: values[at.task], id: values[at.id], shadow: values[at.shadow], eta: values[at.eta],
    expires: values[at.expires], group: values[at.group], group_index: values[at.group_index], retries: values[at.retries],
    timelimit: [values[at.timelimit], values[at.timelimit + 1]], root_id: values[at.root_id], parent_id: values[at.parent_id],
    argsrepr: values[at.argsrepr], kwargsrepr: values[at.kwargsrepr], origin: values[at.origin],
    ignore_result: values[at.ignore_result],
  };
}

/** {@link headersOf} of a message with Celery 5.3's headers. */
export function headersOf53(values: readonly unknown[], at: HeaderPlaces): Record<keyof StandardHeaders | keyof Celery53Headers, unknown> {
  return {
    lang: values[at.lang], task: values[at.task], id: values[at.id], shadow: values[at.shadow], eta: values[at.eta],
    expires: values[at.expires], group: values[at.group], group_index: values[at.group_index], retries: values[at.retries],
    timelimit: [values[at.timelimit], values[at.timelimit + 1]], root_id: values[at.root_id], parent_id: values[at.parent_id],
    argsrepr: values[at.argsrepr], kwargsrepr: values[at.kwargsrepr], origin: values[at.origin],
    ignore_result: values[at.ignore_result], replaced_task_nesting: values[at.replaced_task_nesting],
    stamped_headers: values[at.stamped_headers], stamps: values[at.stamps],
  };
}

/**
 * Throws when headersJson, headersOf or headersOf53 does not do what the tables say: other keys, another order,
 * another value. Run once at load, in both layouts, on a call that sets nothing and calls that set everything.
 */
function checkAgainstTable(): void {
  const fix = (what: string): Error => new Error(`task-headers.ts: ${what} does not match TASK_HEADERS and CELERY53_HEADERS; update it with the tables`);
  const sender: Sender = { origin: 'o"rigin', replyTo: 'r', deliveryTag: 't' };
  const all: TaskCall = {
    id: 'i', name: 'n', queue: 'q', args: [1, 'a'], kwargs: { k: null }, eta: new Date(1e12), expires: new Date(2e12), retries: 2,
    timeLimit: 3, softTimeLimit: 1.5, parentId: 'p', rootId: 'r', groupId: 'g', groupIndex: 4, ignoreResult: true, shadow: 's',
  };
  const calls: TaskCall[] = [
    { id: 'i', name: 'n', queue: 'q' },
    all,
    { ...all, stamps: { a: 'x"', b: [1, null] }, replacedTaskNesting: 1 },
    { ...all, stamps: {}, replacedTaskNesting: 0 },
    { ...all, replacedTaskNesting: 2 },
  ];
  for (const layout of ['5.2', '5.3', undefined] as const) {
    for (const call of calls) {
      const tail = hasCelery53Headers(call, layout) ? celery53HeadersJson(call) : '';
      const text = String(headersJson(call, JSON.stringify(call.id), JSON.stringify(sender.origin))) + String(tail);
      if ('{' + text + '}' !== JSON.stringify(standardHeaders(call, { ...sender, ...(layout ? { layout } : {}) }))) throw fix('headersJson or celery53HeadersJson');
    }
  }
  const rows: readonly HeaderSpec<string, unknown>[] = [...TASK_HEADERS, ...CELERY53_HEADERS];
  // Each header at its own place, two apart so that a pair's second value is its own too.
  const at = Object.fromEntries(rows.map((spec, i) => [spec.name, 2 * i])) as HeaderPlaces;
  const values = Array.from({ length: 2 * rows.length }, (_, i) => i);
  const expected = (table: readonly HeaderSpec<string, unknown>[]): string =>
    JSON.stringify(Object.fromEntries(table.map((spec) => [spec.name, spec.fast === 'pair' ? [at[spec.name as keyof HeaderPlaces], at[spec.name as keyof HeaderPlaces] + 1] : at[spec.name as keyof HeaderPlaces]])));
  if (JSON.stringify(headersOf(values, at)) !== expected(TASK_HEADERS)) throw fix('headersOf');
  if (JSON.stringify(headersOf53(values, at)) !== expected(rows)) throw fix('headersOf53');
}
checkAgainstTable();
