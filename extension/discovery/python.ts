/**
 * Celery task definitions in Python source: a `def` (or `async def`) decorated with `@<expr>.task`,
 * `@shared_task`, with or without call arguments, read from logical lines (see python-tokens.ts).
 *
 * Bare `@task` is deliberately not a task decorator: it is how Invoke and Fabric mark their tasks.
 */
import * as path from 'node:path';
import { LineMap } from './positions';
import { literalValue } from './python-literals';
import { findPythonRoutes, mayDeclareRoutes, projectRoutes, routesForTask } from './python-routes';
import { closingIndex, logicalLines, splitArguments, type LogicalLine, type Token } from './python-tokens';
import type { TaskDefinitionSite, TaskOptionValue } from './types';

interface Decorator {
  /** Dotted name, e.g. `['app', 'task']`. */
  names: string[];
  /** Tokens of each call argument, or undefined when the decorator is not called (`@app.task`). */
  args: Token[][] | undefined;
}

interface FunctionDef {
  nameToken: Token;
  params: string[];
  /** How many of `params`, from the first, a positional call must give (see TaskDefinitionSite.required). */
  required: number;
}

/**
 * Every decorated task definition in a Python source text.
 *
 * @param moduleName the file's dotted module path (`proj.tasks`), which Celery puts before the function name
 *   when the task has no `name=` option. Default: the file name without `.py`.
 */
export function findPythonTasks(file: string, text: string, moduleName?: string): TaskDefinitionSite[] {
  const lines = logicalLines(text);
  const positions = new LineMap(text);
  const module = celeryModule(file, moduleName);
  const sites: TaskDefinitionSite[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!isDecoratorLine(lines[i])) continue;
    let j = i;
    while (isDecoratorLine(lines[j])) j++;
    const defLine = lines[j];
    const def = defLine && parseDef(defLine.tokens);
    const task = lines.slice(i, j).map((l) => parseDecorator(l.tokens)).find((d) => d && isTaskDecorator(d.names));
    if (defLine && def && task) {
      const { options, spans } = readOptions(task.args ?? []);
      const explicitName = typeof options.name === 'string' ? options.name : undefined;
      const nameSpan = explicitName !== undefined ? spans.name : undefined;
      const first = lines[i]?.tokens[0];
      const last = lastToken(lines[bodyEnd(lines, j)]);
      sites.push({
        name: explicitName ?? `${module}.${def.nameToken.text}`,
        file,
        language: 'python',
        range: positions.range(first?.start ?? def.nameToken.start, last?.end ?? def.nameToken.end),
        nameRange: nameSpan ? positions.range(nameSpan.start, nameSpan.end) : positions.range(def.nameToken.start, def.nameToken.end),
        // bind=True passes the task itself (`self`) first; callers never fill it.
        params: options.bind === true ? def.params.slice(1) : def.params,
        required: options.bind === true ? Math.max(0, def.required - 1) : def.required,
        options,
      });
    }
    // Resume at the def: decorators of functions nested in its body are still to be seen.
    i = j - 1;
  }
  // An app configured in this file routes its tasks (the project's other files are the workspace index's to add).
  if (sites.length && mayDeclareRoutes(text)) {
    const table = projectRoutes([{ file, root: path.dirname(file), facts: findPythonRoutes(text, lines) }], file);
    for (const site of sites) {
      const routes = table && routesForTask(table, site.name);
      if (routes && Object.keys(routes).length) site.appRoutes = routes;
    }
  }
  return sites;
}

/**
 * Celery's `gen_task_name` prefix. A package's `__init__.py` is imported as the package itself, so its tasks
 * are `pkg.func`, not `pkg.__init__.func`.
 */
function celeryModule(file: string, moduleName: string | undefined): string {
  const name = moduleName || path.basename(file).replace(/\.py$/i, '');
  if (name === '__init__') return path.basename(path.dirname(file));
  return name.replace(/\.__init__$/, '');
}

function isDecoratorLine(line: LogicalLine | undefined): boolean {
  const first = line?.tokens[0];
  return first?.kind === 'op' && first.text === '@';
}

function lastToken(line: LogicalLine | undefined): Token | undefined {
  return line?.tokens[line.tokens.length - 1];
}

/** Index of the last logical line of the body of the def at `defIndex` (the def itself for a one-liner). */
function bodyEnd(lines: readonly LogicalLine[], defIndex: number): number {
  const indent = lines[defIndex]?.indent ?? 0;
  let end = defIndex;
  while ((lines[end + 1]?.indent ?? -1) > indent) end++;
  return end;
}

function isTaskDecorator(names: readonly string[]): boolean {
  const last = names[names.length - 1];
  return (last === 'task' && names.length > 1) || last === 'shared_task';
}

/** `@a.b.c` or `@a.b.c(args)`; anything else (subscripts, calls on calls) is not a decorator we read. */
function parseDecorator(tokens: readonly Token[]): Decorator | undefined {
  const names: string[] = [];
  let i = 1;
  for (;;) {
    const name = tokens[i];
    if (name?.kind !== 'name') return undefined;
    names.push(name.text);
    if (tokens[i + 1]?.text !== '.') break;
    i += 2;
  }
  i++;
  if (i === tokens.length) return { names, args: undefined };
  if (tokens[i]?.text !== '(') return undefined;
  const close = closingIndex(tokens, i);
  // An unclosed call (mid-edit) still counts, so the definition keeps its lens while the user types.
  if (close !== undefined && close !== tokens.length - 1) return undefined;
  return { names, args: splitArguments(tokens.slice(i + 1, close ?? tokens.length)) };
}

/** `def name(params)` / `async def name(params)`, with the parameters a caller can fill. */
function parseDef(tokens: readonly Token[]): FunctionDef | undefined {
  const k = tokens[0]?.text === 'async' ? 1 : 0;
  const nameToken = tokens[k + 1];
  if (tokens[k]?.text !== 'def' || nameToken?.kind !== 'name' || tokens[k + 2]?.text !== '(') return undefined;
  const close = closingIndex(tokens, k + 2) ?? tokens.length;
  const params: string[] = [];
  let required = 0;
  let keywordOnly = false;
  for (const part of splitArguments(tokens.slice(k + 3, close))) {
    const head = part[0];
    // `*args`, `**kwargs`, the bare `*` and the `/` markers are not names a caller fills one by one; after `*` or
    // `*args`, parameters are keyword-only.
    if (head?.kind === 'op' && head.text === '*') keywordOnly = true;
    if (head?.kind !== 'name') continue;
    params.push(head.text);
    if (!keywordOnly && !hasDefault(part)) required = params.length;
  }
  return { nameToken, params, required };
}

/** `name=default` or `name: annotation = default`: an `=` outside any bracket of the annotation. */
function hasDefault(part: readonly Token[]): boolean {
  let depth = 0;
  for (const t of part) {
    if (t.kind !== 'op') continue;
    if ('([{'.includes(t.text)) depth++;
    else if (')]}'.includes(t.text)) depth = Math.max(0, depth - 1);
    else if (t.text === '=' && depth === 0) return true;
  }
  return false;
}

/** `key=literal` arguments, with the source span of each value (for `name`'s range). */
function readOptions(args: readonly Token[][]): { options: Record<string, TaskOptionValue>; spans: Record<string, { start: number; end: number }> } {
  const options: Record<string, TaskOptionValue> = {};
  const spans: Record<string, { start: number; end: number }> = {};
  for (const [key, eq, ...value] of args) {
    if (key?.kind !== 'name' || eq?.text !== '=') continue;
    const literal = literalValue(value);
    const first = value[0];
    const last = value[value.length - 1];
    if (literal === undefined || !first || !last) continue;
    options[key.text] = literal;
    spans[key.text] = { start: first.start, end: last.end };
  }
  return { options, spans };
}
