/**
 * The inverse of {@link pyRepr} for the values JSON can hold: reads the Python reprs that Celery events carry
 * (`args='(2, 3)'`, `kwargs="{'to': 'a@b'}"`) back into JSON, so a task seen only through events can be sent again
 * or copied as a `radish call` command. Anything else (`datetime.datetime(...)`, `<object at 0x..>`, a repr cut
 * at Celery's 1024 characters and ending in `...`) is refused with a reason, never guessed.
 */

export class PythonLiteralError extends Error {
  override readonly name = 'PythonLiteralError';
}

const ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };

class Reader {
  private i = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    const near = this.s.slice(this.i, this.i + 20);
    throw new PythonLiteralError(`${what} at offset ${this.i}${near ? ` (near ${JSON.stringify(near)})` : ''}`);
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  private eat(token: string): boolean {
    this.ws();
    if (this.s.startsWith(token, this.i)) {
      this.i += token.length;
      return true;
    }
    return false;
  }

  end(): void {
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected text');
  }

  value(depth = 0): unknown {
    if (depth > 200) this.fail('nested too deep');
    this.ws();
    const c = this.s[this.i];
    if (c === undefined) this.fail('unexpected end (the repr may have been cut short)');
    if (c === '(' || c === '[') return this.sequence(c === '(' ? ')' : ']', depth);
    if (c === '{') return this.dict(depth);
    if (c === "'" || c === '"') return this.string();
    for (const [word, v] of [['None', null], ['True', true], ['False', false]] as const) {
      if (this.s.startsWith(word, this.i) && !/\w/.test(this.s[this.i + word.length] ?? '')) {
        this.i += word.length;
        return v;
      }
    }
    const num = /^-?(?:\d[\d_]*)(?:\.\d*)?(?:[eE][-+]?\d+)?/.exec(this.s.slice(this.i));
    if (num) {
      this.i += num[0].length;
      return Number(num[0].replace(/_/g, ''));
    }
    this.fail('not a JSON-like Python literal');
  }

  private sequence(close: string, depth: number): unknown[] {
    this.i++;
    const out: unknown[] = [];
    while (!this.eat(close)) {
      out.push(this.value(depth + 1));
      if (!this.eat(',')) {
        if (!this.eat(close)) this.fail(`expected , or ${close}`);
        break;
      }
    }
    return out;
  }

  private dict(depth: number): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    while (!this.eat('}')) {
      const key = this.value(depth + 1);
      if (typeof key !== 'string') this.fail('only string keys convert to JSON');
      if (!this.eat(':')) this.fail('expected :');
      out[key] = this.value(depth + 1);
      if (!this.eat(',')) {
        if (!this.eat('}')) this.fail('expected , or }');
        break;
      }
    }
    return { ...out };
  }

  private string(): string {
    const quote = this.s[this.i]!;
    this.i++;
    let out = '';
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail('unterminated string (the repr may have been cut short)');
      this.i++;
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i];
      if (e === undefined) this.fail('unterminated escape');
      this.i++;
      const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hex) {
        const digits = this.s.slice(this.i, this.i + hex);
        if (!/^[\da-fA-F]+$/.test(digits) || digits.length !== hex) this.fail('bad escape');
        out += String.fromCodePoint(parseInt(digits, 16));
        this.i += hex;
      } else if (e in ESCAPES) {
        out += ESCAPES[e];
      } else {
        out += '\\' + e; // Python keeps unknown escapes as written
      }
    }
  }
}

/**
 * A Python literal (as `repr()` prints None, bools, numbers, strings, lists, tuples and string-keyed dicts) as a
 * JSON value; tuples become arrays. Throws {@link PythonLiteralError} with the reason for anything else.
 */
export function parsePythonLiteral(text: string): unknown {
  if (/\.\.\.\s*$/.test(text)) throw new PythonLiteralError('the repr was cut short (Celery truncates args in events at 1024 characters)');
  const reader = new Reader(text);
  const value = reader.value();
  reader.end();
  return value;
}
