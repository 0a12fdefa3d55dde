/**
 * How Celery's `args` and `kwargs` reach a TypeScript function, the same whoever sent the message:
 *
 * - `args` fill the parameters in order, as in Python.
 * - each kwarg goes to the parameter of that name (names read from the function's own source, or given with
 *   the task's `params` option); a parameter left without a value is `undefined`, so JS defaults apply.
 * - a kwarg for a parameter already given by position, or one that names no parameter, fails the task with a
 *   TypeError worded as Python's, unless the function ends in a rest parameter (`...rest`): such a function
 *   takes anything, and reads extra keywords from `task.request.kwargs` (with `bind: true`).
 * - a parameter before the first one with a default (JavaScript's `fn.length`) is required, as in Python: a call
 *   that gives it no value fails with Python's TypeError ("missing 1 required positional argument: 'y'"). An
 *   optional parameter needs a default (`cc: string | null = null`); TypeScript's `cc?: string` alone is erased.
 */

/** Parameter names of a function, in order; null where a parameter is destructured; stops at a rest parameter. */
export interface ParamInfo {
  names: (string | null)[];
  rest: boolean;
  /** How many leading parameters have no default (JavaScript's `fn.length`): each must be given a value. */
  required: number;
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  const last = list.slice(start);
  if (last.trim() !== '') parts.push(last);
  return parts;
}

/** The text between a function's parameter parentheses (or the single bare arrow parameter). */
function parameterList(source: string): string {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '').trim();
  const bare = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(text);
  if (bare) return bare[1] ?? '';
  const open = text.indexOf('(');
  if (open === -1) return '';
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  return '';
}

export function paramInfo(fn: (...args: never[]) => unknown): ParamInfo {
  const names: (string | null)[] = [];
  for (const raw of splitTopLevel(parameterList(Function.prototype.toString.call(fn)))) {
    const p = raw.trim();
    if (p.startsWith('...')) return { names, rest: true, required: fn.length };
    const name = /^([A-Za-z_$][\w$]*)/.exec(p);
    names.push(name ? (name[1] ?? null) : null);
  }
  return { names, rest: false, required: fn.length };
}

/** Python's list of names: `'x'`, `'x' and 'y'`, `'x', 'y', and 'z'`. */
function pyNames(names: string[]): string {
  const quoted = names.map((n) => `'${n}'`);
  if (quoted.length <= 2) return quoted.join(' and ');
  return `${quoted.slice(0, -1).join(', ')}, and ${quoted[quoted.length - 1]}`;
}

/** Python's wording, so a Python caller reads the same error it would get from a Python task. */
export class ArgumentError extends TypeError {
  override readonly name = 'TypeError';
}

/** Positional arguments for the call, from Celery's args and kwargs. */
export function bindArguments(taskName: string, params: ParamInfo, args: readonly unknown[], kwargs: Record<string, unknown>): unknown[] {
  const keys = Object.keys(kwargs);
  if (keys.length === 0) {
    if (args.length < params.required) missing(taskName, params, new Set(args.keys()));
    return [...args];
  }
  const bound: unknown[] = [...args];
  const given = new Set(args.keys());
  for (const key of keys) {
    const at = params.names.indexOf(key);
    if (at === -1) {
      if (params.rest) continue;
      throw new ArgumentError(`${taskName}() got an unexpected keyword argument '${key}'`);
    }
    if (at < args.length) throw new ArgumentError(`${taskName}() got multiple values for argument '${key}'`);
    while (bound.length < at) bound.push(undefined);
    bound[at] = kwargs[key];
    given.add(at);
  }
  if (given.size < params.required || bound.length < params.required) missing(taskName, params, given);
  return bound;
}

/** Throw Python's TypeError for the required parameters not in `given`, if any. */
function missing(taskName: string, params: ParamInfo, given: Set<number>): void {
  const names: string[] = [];
  for (let i = 0; i < params.required; i++) if (!given.has(i)) names.push(params.names[i] ?? `arg${i}`);
  if (names.length === 0) return;
  const plural = names.length === 1 ? 'argument' : 'arguments';
  throw new ArgumentError(`${taskName}() missing ${names.length} required positional ${plural}: ${pyNames(names)}`);
}
