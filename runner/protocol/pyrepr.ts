/**
 * Python `repr()` of JSON values, for the `argsrepr`/`kwargsrepr` headers and event fields that Celery tools
 * (Flower, `celery events`, `celery inspect`) display as they would for a Python client.
 */

/** Celery's `argsrepr_maxsize` / `kwargsrepr_maxsize` default. */
export const REPR_MAX = 1024;

function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

function reprNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return String(n);
}

/** repr() of one JSON value (null -> None, true -> True, objects -> dicts). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return reprNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return reprString(value);
  if (Array.isArray(value)) return '[' + value.map(pyRepr).join(', ') + ']';
  if (typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${reprString(k)}: ${pyRepr(v)}`);
    return '{' + parts.join(', ') + '}';
  }
  return reprString(String(value));
}

/**
 * A repr cut to at most `max` characters, the last three `...` when cut: how the headers and events Celery sends
 * shorten reprs.
 */
export function truncateRepr(s: string, max = REPR_MAX): string {
  return s.length <= max ? s : s.slice(0, max - 3) + '...';
}

/** repr() of an args tuple: `()`, `(1,)`, `(1, 'two')`. */
export function argsRepr(args: readonly unknown[], max = REPR_MAX): string {
  const inner = args.map(pyRepr).join(', ');
  return truncateRepr(args.length === 1 ? `(${inner},)` : `(${inner})`, max);
}

/** repr() of a kwargs dict. */
export function kwargsRepr(kwargs: Record<string, unknown>, max = REPR_MAX): string {
  return truncateRepr(pyRepr(kwargs), max);
}
