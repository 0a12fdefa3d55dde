/** Python literal tokens to JavaScript values, for options such as `name='orders.charge'` or `max_retries=3`. */
import type { Token } from './python-tokens';
import type { TaskOptionValue } from './types';

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/**
 * The value of a plain or raw string token; undefined for f-strings, t-strings and bytes (not constants a
 * task name can be read from) and for `\N{...}` escapes (which need Unicode's name table).
 */
export function pythonString(token: string): string | undefined {
  const prefix = /^[a-zA-Z]*/.exec(token)?.[0] ?? '';
  if (/[fFtTbB]/.test(prefix)) return undefined;
  const rest = token.slice(prefix.length);
  const quote = rest.startsWith("'''") || rest.startsWith('"""') ? rest.slice(0, 3) : rest.slice(0, 1);
  if (rest.length < quote.length * 2 || !rest.endsWith(quote)) return undefined;
  const body = rest.slice(quote.length, rest.length - quote.length);
  if (/[rR]/.test(prefix)) return body;
  if (/\\N\{/.test(body)) return undefined;
  return body.replace(/\\(?:\r\n|[\r\n]|x[\da-fA-F]{2}|u[\da-fA-F]{4}|U[\da-fA-F]{8}|[0-7]{1,3}|[\s\S])/g, (escape) => {
    const c = escape.slice(1);
    if (c === '\n' || c === '\r' || c === '\r\n') return '';
    if (c in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[c] ?? c;
    if (/^[xuU]/.test(c) && c.length > 1) return String.fromCodePoint(parseInt(c.slice(1), 16));
    if (/^[0-7]+$/.test(c)) return String.fromCodePoint(parseInt(c, 8));
    return escape; // Python keeps an unknown escape as written
  });
}

function pythonNumber(token: string): number | undefined {
  if (/[jJ]$/.test(token)) return undefined; // complex
  const value = Number(token.replace(/_/g, ''));
  return Number.isNaN(value) ? undefined : value;
}

/**
 * A literal expression made of `tokens`: a string (adjacent strings concatenate, as in Python), a number with an
 * optional sign, `True` or `False`. Anything else (`None`, names, calls) is not a literal option.
 */
export function literalValue(tokens: readonly Token[]): TaskOptionValue | undefined {
  const [first, second] = tokens;
  if (!first) return undefined;
  if (first.kind === 'string') {
    let value = '';
    for (const token of tokens) {
      const part = token.kind === 'string' ? pythonString(token.text) : undefined;
      if (part === undefined) return undefined;
      value += part;
    }
    return value;
  }
  if (tokens.length === 1 && first.kind === 'number') return pythonNumber(first.text);
  if (tokens.length === 1 && first.kind === 'name') {
    if (first.text === 'True') return true;
    if (first.text === 'False') return false;
    return undefined;
  }
  if (tokens.length === 2 && first.kind === 'op' && (first.text === '-' || first.text === '+') && second?.kind === 'number') {
    const n = pythonNumber(second.text);
    return n === undefined ? undefined : first.text === '-' ? -n : n;
  }
  return undefined;
}
