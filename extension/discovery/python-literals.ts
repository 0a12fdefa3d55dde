/**
 * Python literal tokens to JavaScript values, for options such as `name='orders.charge'` or `max_retries=3`, and
 * for literal structures such as a `task_routes` table (dicts, lists, tuples of literals).
 */
import { closingIndex, splitArguments, type Token } from './python-tokens';
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

/**
 * A Python expression read as a literal structure, never evaluated. A bare name (`ROUTES`, `a.b`) is reported as
 * such, for the caller to resolve against the assignments it knows; anything else that is not a literal (a call,
 * an operator, a comprehension, `lambda`) is `other`.
 */
export type PythonValue =
  | { kind: 'str'; value: string }
  | { kind: 'num'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' }
  | { kind: 'dict'; entries: PythonDictEntry[] }
  | { kind: 'list' | 'tuple'; items: PythonValue[] }
  | { kind: 'name'; name: string }
  | { kind: 'other' };

/** One `key: value` of a dict display, in source order; a `**spread` has an `other` key. */
export interface PythonDictEntry {
  key: PythonValue;
  value: PythonValue;
}

const OTHER: PythonValue = { kind: 'other' };

/** `a`, `a.b.c` as written, or undefined when the tokens are anything else. */
export function dottedName(tokens: readonly Token[]): string | undefined {
  if (tokens.length % 2 === 0) return undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (i % 2 === 0 ? t?.kind !== 'name' : t?.text !== '.') return undefined;
  }
  return tokens.map((t) => t.text).join('');
}

/** The first `:` outside any bracket (a dict entry's), or -1. */
function topLevelColon(tokens: readonly Token[]): number {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t?.kind !== 'op') continue;
    if ('([{'.includes(t.text)) depth++;
    else if (')]}'.includes(t.text)) depth--;
    else if (t.text === ':' && depth === 0) return i;
  }
  return -1;
}

/** A comprehension (`[x for x in y]`, `{k: v for ...}`): a `for` outside any inner bracket. */
function isComprehension(tokens: readonly Token[]): boolean {
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'op' && '([{'.includes(t.text)) depth++;
    else if (t.kind === 'op' && ')]}'.includes(t.text)) depth--;
    else if (depth === 0 && t.kind === 'name' && t.text === 'for') return true;
  }
  return false;
}

/**
 * The literal structure `tokens` spell (see PythonValue): strings (adjacent ones joined), numbers, `True`,
 * `False`, `None`, dict displays, `dict(key=value, ...)`, lists, tuples, parentheses, bare names. Never throws.
 */
export function pythonValue(tokens: readonly Token[]): PythonValue {
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  if (!first || !last) return OTHER;
  const literal = literalValue(tokens);
  if (typeof literal === 'string') return { kind: 'str', value: literal };
  if (typeof literal === 'number') return { kind: 'num', value: literal };
  if (typeof literal === 'boolean') return { kind: 'bool', value: literal };
  if (tokens.length === 1 && first.kind === 'name' && first.text === 'None') return { kind: 'none' };
  const name = dottedName(tokens);
  if (name !== undefined) return name === 'lambda' ? OTHER : { kind: 'name', name };
  if (first.kind === 'op' && '([{'.includes(first.text) && closingIndex(tokens, 0) === tokens.length - 1) {
    const inner = tokens.slice(1, -1);
    if (isComprehension(inner)) return OTHER;
    const parts = splitArguments(inner);
    if (first.text === '[') return { kind: 'list', items: parts.map(pythonValue) };
    if (first.text === '(') {
      // `(x)` is x; `()`, `(x,)` and `(x, y)` are tuples.
      const tuple = inner.length === 0 || parts.length > 1 || inner[inner.length - 1]?.text === ',';
      return tuple ? { kind: 'tuple', items: parts.map(pythonValue) } : pythonValue(inner);
    }
    const entries: PythonDictEntry[] = [];
    for (const part of parts) {
      if (part[0]?.text === '**') {
        entries.push({ key: OTHER, value: OTHER });
        continue;
      }
      const colon = topLevelColon(part);
      if (colon === -1) return OTHER; // a set display, or something mid-edit
      entries.push({ key: pythonValue(part.slice(0, colon)), value: pythonValue(part.slice(colon + 1)) });
    }
    return { kind: 'dict', entries };
  }
  // dict(queue='q', priority=1): the builtin with keyword arguments only.
  const open = tokens.findIndex((t) => t.kind === 'op' && t.text === '(');
  if (open > 0 && dottedName(tokens.slice(0, open)) === 'dict' && closingIndex(tokens, open) === tokens.length - 1) {
    const entries: PythonDictEntry[] = [];
    for (const [key, eq, ...value] of splitArguments(tokens.slice(open + 1, -1))) {
      if (key?.kind !== 'name' || eq?.text !== '=') return OTHER;
      entries.push({ key: { kind: 'str', value: key.text }, value: pythonValue(value) });
    }
    return { kind: 'dict', entries };
  }
  return OTHER;
}
