/**
 * The headers of a task message (protocol 2), in the order Celery writes them. Every place that names a header is
 * in this module:
 * - {@link TASK_HEADERS}, the table: each header's key, its value for a call (Celery's default when the call does not
 *   say) and what the fast decoder accepts there. The headers' type, the generic encoder and the fast decoder's
 *   expression are built from it.
 * - {@link headersJson} and {@link headersOf}, the two per-message hot paths (the template encoder's header text, the
 *   fast decoder's header object), written out by hand because a loop over the table costs ~100 ns per encode and
 *   ~200 ns per decode (15-20%). The module refuses to load when either disagrees with the table, so a header added
 *   to the table and not to them fails every test at once, with the place to fix.
 * A header the worker acts on also needs its TaskCall option and its TaskMessage field (message-decode.ts).
 */
import { argsRepr, kwargsRepr } from './pyrepr';
import type { Sender, TaskCall } from './task-call';
import { isoWithOffset } from './time';

/**
 * What the fast decoder's expression accepts as the header's value: a JSON string, a JSON scalar (string, number,
 * true, false, null) or a pair of scalars. A message with anything else there is left to the general decoder.
 */
export type FastValue = 'string' | 'scalar' | 'pair';

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

/** The standard headers and their value types, as the table writes them. */
export type StandardHeaders = { -readonly [H in (typeof TASK_HEADERS)[number] as H['name']]: ReturnType<H['value']> };

/** A task message's headers: the standard ones, kombu's `redelivered` mark, and any a sender added. */
export type TaskHeaders = StandardHeaders & { redelivered?: boolean; [extra: string]: unknown };

/** The standard headers as the generic encoder writes them: each row's value, in table order. */
export function standardHeaders(call: TaskCall, sender: Sender): StandardHeaders {
  const headers: Record<string, unknown> = {};
  for (const spec of TASK_HEADERS) headers[spec.name] = spec.value(call, sender);
  // Every row's key with its value's type: what StandardHeaders is made of.
  return headers as StandardHeaders;
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

/**
 * The standard headers as JSON.stringify writes {@link standardHeaders} (without the braces), for the template
 * encoder: `idJson` and `originJson` are the id and origin it has already quoted. Undefined when a value is one
 * JSON.stringify leaves out of an object (undefined, a function): the generic encoder writes that message.
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
export type HeaderPlaces = Readonly<Record<keyof StandardHeaders, number>>;

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

/**
 * Throws when headersJson or headersOf does not do what the table says: other keys, another order, another value.
 * Run once at load, on a call that sets nothing and one that sets everything.
 */
function checkAgainstTable(): void {
  const fix = (what: string): Error => new Error(`task-headers.ts: ${what} does not match TASK_HEADERS; update it with the table`);
  const sender: Sender = { origin: 'o"rigin', replyTo: 'r', deliveryTag: 't' };
  const calls: TaskCall[] = [
    { id: 'i', name: 'n', queue: 'q' },
    {
      id: 'i', name: 'n', queue: 'q', args: [1, 'a'], kwargs: { k: null }, eta: new Date(1e12), expires: new Date(2e12), retries: 2,
      timeLimit: 3, softTimeLimit: 1.5, parentId: 'p', rootId: 'r', groupId: 'g', groupIndex: 4, ignoreResult: true, shadow: 's',
    },
  ];
  for (const call of calls) {
    const text = headersJson(call, JSON.stringify(call.id), JSON.stringify(sender.origin));
    if ('{' + text + '}' !== JSON.stringify(standardHeaders(call, sender))) throw fix('headersJson');
  }
  const names = TASK_HEADERS.map((spec) => spec.name);
  // Each header at its own place, two apart so that a pair's second value is its own too.
  const at = Object.fromEntries(names.map((name, i) => [name, 2 * i])) as HeaderPlaces;
  const values = Array.from({ length: 2 * names.length }, (_, i) => i);
  const read = headersOf(values, at);
  const expected = Object.fromEntries(TASK_HEADERS.map((spec, i) => [spec.name, spec.fast === 'pair' ? [2 * i, 2 * i + 1] : 2 * i]));
  if (JSON.stringify(read) !== JSON.stringify(expected)) throw fix('headersOf');
}
checkAgainstTable();
