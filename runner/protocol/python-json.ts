/**
 * JSON as kombu writes it (Python's `json.dumps` defaults: `", "` and `": "` separators, `ensure_ascii`), for the
 * messages and stored values whose bytes must match what a Python client or worker writes: pidbox and event
 * envelopes, event bodies, saved groups and chord records.
 */

const ESCAPES: Record<string, string> = {
  '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f',
};

/** A JSON string literal with `ensure_ascii`: everything outside printable ASCII as `\uXXXX` (lower-case hex). */
function quote(s: string): string {
  return '"' + s.replace(/[\\"\u0000-\u001f\u007f-\uffff]/g, (ch) =>
    ESCAPES[ch] ?? '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0')) + '"';
}

/**
 * A number as Python writes it. JSON cannot say int or float, so integral values are written as ints; other values
 * use the same shortest round-trip digits as Python's `repr(float)`, which switches to exponent notation at other
 * thresholds than JavaScript does (1e-05 and 1e+16 rather than 1e-7 and 1e21).
 */
function pyNumber(n: number): string {
  // Python would write NaN/Infinity, which no strict JSON parser (JSON.parse included) accepts; null is readable.
  if (!Number.isFinite(n)) return 'null';
  if (Number.isSafeInteger(n)) return String(n);
  const [mantissa = '', expText = '0'] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const fixed = String(n);
  return fixed.includes('.') ? fixed : fixed + '.0';
}

function dump(value: unknown, stack: Set<object>): string | undefined {
  let v = value;
  if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof v) {
    case 'string': return quote(v);
    case 'number': return pyNumber(v);
    case 'boolean': return v ? 'true' : 'false';
    case 'bigint': throw new TypeError('a BigInt cannot be written as JSON');
    case 'object': break;
    default: return undefined; // undefined, functions, symbols: left out, as JSON.stringify does
  }
  if (v === null) return 'null';
  if (stack.has(v)) throw new TypeError('cannot write a circular structure as JSON');
  stack.add(v);
  try {
    if (Array.isArray(v)) return '[' + v.map((item) => dump(item, stack) ?? 'null').join(', ') + ']';
    const parts: string[] = [];
    for (const [key, item] of Object.entries(v)) {
      const text = dump(item, stack);
      if (text !== undefined) parts.push(quote(key) + ': ' + text);
    }
    return '{' + parts.join(', ') + '}';
  } finally {
    stack.delete(v);
  }
}

/**
 * `json.dumps(value)` as kombu calls it: `", "` and `": "` separators and ASCII-only output. Throws TypeError
 * for what JSON cannot hold (a BigInt, a cycle); like JSON.stringify it drops undefined members.
 */
export function pythonJson(value: unknown): string {
  return dump(value, new Set()) ?? 'null';
}
