/**
 * Statements of Python source as the literal readers take them (routes, broker settings): a logical line split into
 * statements, an assignment's targets and value, the calls of dotted names with their arguments, keyword arguments.
 * Token work only: nothing is evaluated.
 */
import { dottedName, pythonValue } from './python-literals';
import { closingIndex, splitArguments, type Token } from './python-tokens';

/** A logical line's statements: split at `;` outside brackets. */
export function statements(tokens: readonly Token[]): Token[][] {
  const out: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'op' && '([{'.includes(t.text)) depth++;
    else if (t.kind === 'op' && ')]}'.includes(t.text)) depth = Math.max(0, depth - 1);
    else if (t.kind === 'op' && t.text === ';' && depth === 0) {
      if (current.length) out.push(current);
      current = [];
      continue;
    }
    current.push(t);
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * `a = b = value`: the targets and the value, or no value when the statement is no plain assignment. An annotated
 * target (`X: dict = ...`) counts without its annotation.
 */
export function assignment(tokens: readonly Token[]): [Token[][], Token[] | undefined] {
  const parts: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'op' && '([{'.includes(t.text)) depth++;
    else if (t.kind === 'op' && ')]}'.includes(t.text)) depth = Math.max(0, depth - 1);
    else if (t.kind === 'op' && t.text === '=' && depth === 0) {
      parts.push(current);
      current = [];
      continue;
    }
    current.push(t);
  }
  if (!parts.length) return [[], undefined];
  const targets = parts.map((target) => {
    const colon = target.findIndex((t) => t.kind === 'op' && t.text === ':');
    return colon === -1 ? target : target.slice(0, colon);
  });
  return [targets, current];
}

/** The key of `x.conf['key']` as an assignment target (`task_routes`, `broker_url`), or undefined for any other target. */
export function confItemKey(target: readonly Token[]): string | undefined {
  const n = target.length;
  if (n < 4 || target[n - 3]?.text !== '[' || target[n - 1]?.text !== ']') return undefined;
  const key = pythonValue(target.slice(n - 2, n - 1));
  const owner = dottedName(target.slice(0, n - 3));
  return key.kind === 'str' && (owner === 'conf' || owner?.endsWith('.conf') === true) ? key.value : undefined;
}

/** Calls of a dotted name among `tokens` (`app.conf.update(...)`, `Celery(...)`), with their arguments' tokens. */
export function calls(tokens: readonly Token[]): { callee: string; args: Token[][] }[] {
  const found: { callee: string; args: Token[][] }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]?.kind !== 'name' || tokens[i - 1]?.text === '.') continue;
    let j = i;
    while (tokens[j + 1]?.text === '.' && tokens[j + 2]?.kind === 'name') j += 2;
    if (tokens[j + 1]?.text !== '(') continue;
    const close = closingIndex(tokens, j + 1);
    if (close === undefined) continue;
    found.push({ callee: tokens.slice(i, j + 1).map((t) => t.text).join(''), args: splitArguments(tokens.slice(j + 2, close)) });
  }
  return found;
}

/** `name=value` as a call argument. */
export function keyword(arg: readonly Token[]): { name: string; value: Token[] } | undefined {
  const [name, eq, ...value] = arg;
  return name?.kind === 'name' && eq?.kind === 'op' && eq.text === '=' ? { name: name.text, value } : undefined;
}
