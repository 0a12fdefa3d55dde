/**
 * Just enough of Python's tokenizer to find decorators and `def`s without a Python runtime: comments dropped,
 * strings (all prefixes, triple quotes, f-string replacement fields) kept whole as one token, and physical lines
 * joined into logical lines the way Python joins them (open brackets, backslash continuations). Working on
 * logical lines is what keeps `'@app.task'` inside a string or a docstring from looking like a decorator.
 */

export type TokenKind = 'name' | 'number' | 'string' | 'op';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offsets into the source text, `[start, end)`. */
  start: number;
  end: number;
}

export interface LogicalLine {
  tokens: Token[];
  /** Indentation width of the line's first token, tabs expanded to multiples of 8 as Python does. */
  indent: number;
}

const NAME = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const NUMBER = /0[xX][\da-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?/y;
const OPERATOR = /\.\.\.|\*\*=?|\/\/=?|->|:=|<<=?|>>=?|[=!<>]=|[-+*/%&|^@]=?|[()[\]{},:;.~=<>]/y;
/**
 * A physical line that starts a `def` or `class` cannot continue a bracketed expression: seeing one while a
 * bracket is still open means the bracket was never closed (usually mid-edit), so the open line is abandoned
 * rather than swallowing the rest of the file.
 */
const BLOCK_START = /[ \t\f]*(?:async[ \t]+)?(?:def|class)[ \t]/y;

/** End of the match of sticky `re` at `at`, or -1. `test` rather than `exec`: no match array to collect. */
function matchEnd(re: RegExp, text: string, at: number): number {
  re.lastIndex = at;
  return re.test(text) ? re.lastIndex : -1;
}

interface StringStart {
  /** Index of the opening quote (after any prefix). */
  quoteAt: number;
  quote: string;
  formatted: boolean;
}

/** A string literal starting at `i`: up to two prefix letters (`r`, `b`, `u`, `f`, `t`, any case), then a quote. */
function stringStart(text: string, i: number): StringStart | undefined {
  let q = i;
  while (q < i + 2 && 'rRbBuUfFtT'.includes(text[q] ?? '"')) q++;
  const c = text[q];
  if (c !== "'" && c !== '"') return undefined;
  const prefix = text.slice(i, q);
  return { quoteAt: q, quote: text.startsWith(c + c + c, q) ? c + c + c : c, formatted: /[fFtT]/.test(prefix) };
}

function isLineBreak(c: string | undefined): boolean {
  return c === '\n' || c === '\r';
}

/** Index just past a line break starting at `i` (`\r\n` is one break). */
function skipLineBreak(text: string, i: number): number {
  return text[i] === '\r' && text[i + 1] === '\n' ? i + 2 : i + 1;
}

function indentWidth(text: string, from: number, to: number): number {
  let width = 0;
  for (let i = from; i < to; i++) width = text[i] === '\t' ? width - (width % 8) + 8 : width + 1;
  return width;
}

/**
 * Index just past the string whose opening quote is at `quoteAt`. An unterminated one-line string ends at the
 * line break and an unterminated triple-quoted one at the end of the text, which is where Python stops too.
 */
export function stringEnd(text: string, quoteAt: number, quote: string, formatted: boolean): number {
  const triple = quote.length === 3;
  let i = quoteAt + quote.length;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      // An escape (raw strings included: `r'\''` does not end at the middle quote) covers one character or break.
      i = isLineBreak(text[i + 1]) ? skipLineBreak(text, i + 1) : i + 2;
    } else if (text.startsWith(quote, i)) {
      return i + quote.length;
    } else if (!triple && isLineBreak(c)) {
      return i;
    } else if (formatted && c === '{') {
      i = text[i + 1] === '{' ? i + 2 : replacementFieldEnd(text, i + 1, !triple);
    } else {
      i++;
    }
  }
  return text.length;
}

/**
 * Index just past the `}` closing an f-string replacement field whose body starts at `from`. The expression may
 * hold brackets and (since Python 3.12) strings with the same quotes; after a top-level `:` comes the format
 * spec, where quotes are plain text and only nested `{fields}` count. In a one-line string a line break ends
 * the field too, so an unclosed `{` (mid-edit) does not swallow the lines after it.
 */
function replacementFieldEnd(text: string, from: number, singleLine: boolean): number {
  let depth = 0;
  let spec = false;
  let i = from;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (singleLine && isLineBreak(c)) return i;
    if (spec) {
      if (c === '{') i = replacementFieldEnd(text, i + 1, singleLine);
      else if (c === '}') return i + 1;
      else i++;
      continue;
    }
    const str = stringStart(text, i);
    if (str) {
      i = stringEnd(text, str.quoteAt, str.quote, str.formatted);
    } else if ('([{'.includes(c)) {
      depth++;
      i++;
    } else if (')]'.includes(c)) {
      depth = Math.max(0, depth - 1);
      i++;
    } else if (c === '}') {
      if (depth === 0) return i + 1;
      depth--;
      i++;
    } else if (c === ':' && depth === 0) {
      spec = true;
      i++;
    } else {
      i = Math.max(matchEnd(NAME, text, i), i + 1);
    }
  }
  return text.length;
}

/** The source's logical lines, each with at least one token; comments and blank lines make none. */
export function logicalLines(text: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let tokens: Token[] = [];
  let indent = 0;
  let depth = 0;
  let lineStart = 0;
  let i = 0;

  const flush = (): void => {
    if (tokens.length) lines.push({ tokens, indent });
    tokens = [];
    depth = 0;
  };
  const push = (kind: TokenKind, start: number, end: number): void => {
    if (!tokens.length) indent = indentWidth(text, lineStart, start);
    tokens.push({ kind, text: text.slice(start, end), start, end });
    i = end;
  };

  while (i < text.length) {
    const c = text[i] ?? '';
    if (isLineBreak(c)) {
      i = skipLineBreak(text, i);
      lineStart = i;
      if (depth === 0 || matchEnd(BLOCK_START, text, i) !== -1) flush();
    } else if (c === ' ' || c === '\t' || c === '\f') {
      i++;
    } else if (c === '#') {
      while (i < text.length && !isLineBreak(text[i])) i++;
    } else if (c === '\\' && isLineBreak(text[i + 1])) {
      i = skipLineBreak(text, i + 1);
      lineStart = i;
    } else {
      const str = stringStart(text, i);
      if (str) {
        push('string', i, stringEnd(text, str.quoteAt, str.quote, str.formatted));
        continue;
      }
      const numberEnd = (c >= '0' && c <= '9') || c === '.' ? matchEnd(NUMBER, text, i) : -1;
      if (numberEnd !== -1) {
        push('number', i, numberEnd);
        continue;
      }
      const nameEnd = matchEnd(NAME, text, i);
      if (nameEnd !== -1) {
        push('name', i, nameEnd);
        continue;
      }
      const opEnd = matchEnd(OPERATOR, text, i);
      const op = opEnd === -1 ? c : text.slice(i, opEnd);
      if ('([{'.includes(op)) depth++;
      else if (')]}'.includes(op)) depth = Math.max(0, depth - 1);
      push('op', i, i + op.length);
    }
  }
  flush();
  return lines;
}

/** Index of the bracket closing the one at `open`, or undefined when it is never closed. */
export function closingIndex(tokens: readonly Token[], open: number): number | undefined {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i];
    if (t?.kind !== 'op') continue;
    if ('([{'.includes(t.text)) depth++;
    else if (')]}'.includes(t.text) && --depth === 0) return i;
  }
  return undefined;
}

/**
 * Comma-separated items at the top level. A default such as `key=lambda a, b: a` has commas of its own outside
 * any bracket: they belong to the lambda until its `:`.
 */
export function splitArguments(tokens: readonly Token[]): Token[][] {
  const parts: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  let lambdas = 0;
  for (const t of tokens) {
    if (t.kind === 'name' && t.text === 'lambda' && depth === 0) lambdas++;
    if (t.kind === 'op') {
      if ('([{'.includes(t.text)) depth++;
      else if (')]}'.includes(t.text)) depth = Math.max(0, depth - 1);
      else if (depth === 0 && t.text === ':' && lambdas > 0) lambdas--;
      else if (depth === 0 && t.text === ',' && lambdas === 0) {
        parts.push(current);
        current = [];
        continue;
      }
    }
    current.push(t);
  }
  if (current.length) parts.push(current);
  return parts;
}
