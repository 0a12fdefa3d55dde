/**
 * Radish task definitions in TypeScript and JavaScript: calls `<expr>.task('name', [options,] fn)`, found with
 * the TypeScript parser (syntax only: no program, no type checker, so one file parses in isolation and a file
 * with syntax errors still yields what the parser recovered).
 */
import * as path from 'node:path';
import ts from 'typescript';
import { LineMap } from './positions';
import type { TaskDefinitionSite, TaskOptionValue } from './types';

const SCRIPT_KINDS: Record<string, ts.ScriptKind> = {
  '.ts': ts.ScriptKind.TS,
  '.mts': ts.ScriptKind.TS,
  '.cts': ts.ScriptKind.TS,
  '.tsx': ts.ScriptKind.TSX,
  '.js': ts.ScriptKind.JS,
  '.mjs': ts.ScriptKind.JS,
  '.cjs': ts.ScriptKind.JS,
  '.jsx': ts.ScriptKind.JSX,
};

/** How many identifier hops (`const handler = wrapped; const wrapped = ...`) to follow before giving up. */
const MAX_RESOLVE_DEPTH = 5;

type FunctionNode = ts.ArrowFunction | ts.FunctionExpression | ts.FunctionDeclaration;

/** Every `.task('literal', ...)` definition in a TS/JS source text. Never throws on bad syntax. */
export function findTypeScriptTasks(file: string, text: string): TaskDefinitionSite[] {
  const kind = SCRIPT_KINDS[path.extname(file).toLowerCase()] ?? ts.ScriptKind.TS;
  const language = kind === ts.ScriptKind.JS || kind === ts.ScriptKind.JSX ? 'javascript' : 'typescript';
  // setParentNodes is off: nothing below walks upwards, and the parse is cheaper without it.
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, kind);
  const lines = new LineMap(text);
  const sites: TaskDefinitionSite[] = [];
  const apps: NonNullable<TaskDefinitionSite['appRoutes']>[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Radish') {
      apps.push(literalRoutes(node.arguments?.[0]));
    }
    if (ts.isCallExpression(node)) {
      const found = taskSite(node, source);
      if (found) {
        const { name, nameNode, params, required, options } = found;
        sites.push({
          name,
          file,
          language,
          range: lines.range(node.getStart(source), node.getEnd()),
          nameRange: lines.range(nameNode.getStart(source), nameNode.getEnd()),
          params,
          required,
          options,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  // One app in the file: its routes are the ones its tasks are sent by (with several, which is whose is unknown).
  const [routes] = apps;
  if (apps.length === 1 && routes && Object.keys(routes).length > 0) for (const site of sites) site.appRoutes = routes;
  return sites;
}

/** The literal entries of `routes` in `new Radish({ routes: {...} })`: `'pattern': 'queue'` or `{ queue, priority }`. */
function literalRoutes(arg: ts.Expression | undefined): NonNullable<TaskDefinitionSite['appRoutes']> {
  const routes: NonNullable<TaskDefinitionSite['appRoutes']> = {};
  const options = arg && unwrap(arg);
  if (!options || !ts.isObjectLiteralExpression(options)) return routes;
  const table = options.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && propertyName(p.name) === 'routes');
  const value = table && unwrap(table.initializer);
  if (!value || !ts.isObjectLiteralExpression(value)) return routes;
  for (const entry of value.properties) {
    if (!ts.isPropertyAssignment(entry)) continue;
    const pattern = propertyName(entry.name);
    const target = unwrap(entry.initializer);
    if (pattern === undefined) continue;
    if (ts.isStringLiteral(target) || ts.isNoSubstitutionTemplateLiteral(target)) {
      routes[pattern] = target.text;
    } else if (ts.isObjectLiteralExpression(target)) {
      let queue: string | undefined;
      let priority: number | undefined;
      for (const p of target.properties) {
        if (!ts.isPropertyAssignment(p)) continue;
        const v = unwrap(p.initializer);
        if (propertyName(p.name) === 'queue' && (ts.isStringLiteral(v) || ts.isNoSubstitutionTemplateLiteral(v))) queue = v.text;
        if (propertyName(p.name) === 'priority' && ts.isNumericLiteral(v)) priority = Number(v.text);
      }
      if (queue !== undefined) routes[pattern] = priority === undefined ? { queue } : { queue, priority };
    }
  }
  return routes;
}

/** A property's name when it is written literally (`routes`, `'reports.*'`). */
function propertyName(name: ts.PropertyName): string | undefined {
  return ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name) || ts.isNumericLiteral(name) ? name.text : undefined;
}

interface FoundTask {
  name: string;
  nameNode: ts.StringLiteral | ts.NoSubstitutionTemplateLiteral;
  params: string[];
  required: number;
  options: Record<string, TaskOptionValue>;
}

function taskSite(call: ts.CallExpression, source: ts.SourceFile): FoundTask | undefined {
  if (!isTaskCallee(call.expression)) return undefined;
  const [first, second, third] = call.arguments;
  if (!first || !second || call.arguments.length > 3) return undefined;
  if (!ts.isStringLiteral(first) && !ts.isNoSubstitutionTemplateLiteral(first)) return undefined;
  const optionsArg = third ? second : undefined;
  const fnArg = third ?? second;
  // Gulp 3's `gulp.task('build', ['deps'], fn)` and other shapes with data where Radish wants a function or an
  // options object are not Radish tasks. Options built by a call (`opts()`) are fine, just not readable.
  if (isPlainData(fnArg) || (optionsArg && isPlainData(optionsArg) && !ts.isObjectLiteralExpression(unwrap(optionsArg)))) {
    return undefined;
  }
  const { options, params: declaredParams } = readOptions(optionsArg && resolveObject(optionsArg, source));
  const fn = resolveFunction(fnArg, source, 0);
  let params = declaredParams;
  let required = params?.length ?? 0;
  if (!params) {
    ({ names: params, required } = fn ? parameterNames(fn, source) : { names: [], required: 0 });
    // The runner drops the bound context the same way (runner/task.ts), and `params` replaces names outright.
    if (options.bind === true) {
      params = params.slice(1);
      required = Math.max(0, required - 1);
    }
  }
  return { name: first.text, nameNode: first, params, required, options };
}

function isTaskCallee(callee: ts.Expression): boolean {
  if (ts.isPropertyAccessExpression(callee)) {
    // Gulp 4's `gulp.task('name', fn)` has Radish's exact shape; it is common enough in JS projects to exclude.
    if (ts.isIdentifier(callee.expression) && callee.expression.text === 'gulp') return false;
    return callee.name.text === 'task';
  }
  if (ts.isElementAccessExpression(callee)) {
    const key = callee.argumentExpression;
    return (ts.isStringLiteral(key) || ts.isNoSubstitutionTemplateLiteral(key)) && key.text === 'task';
  }
  return false;
}

/** A value that can never be the task function. */
function isPlainData(node: ts.Expression): boolean {
  const e = unwrap(node);
  return ts.isObjectLiteralExpression(e) || ts.isArrayLiteralExpression(e) || ts.isStringLiteral(e) || ts.isNumericLiteral(e)
    || ts.isNoSubstitutionTemplateLiteral(e) || ts.isTemplateExpression(e)
    || e.kind === ts.SyntaxKind.TrueKeyword || e.kind === ts.SyntaxKind.FalseKeyword || e.kind === ts.SyntaxKind.NullKeyword;
}

/** Strips what does not change the value: parentheses, `as`, `satisfies`, `!`, `<T>x`. */
function unwrap(node: ts.Expression): ts.Expression {
  let e = node;
  for (;;) {
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e)) {
      e = e.expression;
    } else {
      return e;
    }
  }
}

/** The initializer of a top-level `const name = ...` (or `let`/`var`) in this file, if any. */
function topLevelInitializer(name: string, source: ts.SourceFile): ts.Expression | undefined {
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const decl of statement.declarationList.declarations) {
      if (ts.isIdentifier(decl.name) && decl.name.text === name) return decl.initializer;
    }
  }
  return undefined;
}

function topLevelFunction(name: string, source: ts.SourceFile): ts.FunctionDeclaration | undefined {
  return source.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === name && s.body !== undefined);
}

/** Options given inline or as a top-level constant of this file (`const opts = { queue: 'q' }`). */
function resolveObject(node: ts.Expression, source: ts.SourceFile): ts.ObjectLiteralExpression | undefined {
  const e = unwrap(node);
  if (ts.isObjectLiteralExpression(e)) return e;
  if (ts.isIdentifier(e)) {
    const init = topLevelInitializer(e.text, source);
    const value = init && unwrap(init);
    if (value && ts.isObjectLiteralExpression(value)) return value;
  }
  return undefined;
}

/**
 * The function whose parameters a caller fills: a literal function, a top-level function or constant of this
 * file named by an identifier, or the function literal inside a wrapper call (`retrying(async (id) => ...)`).
 * The last is a best guess: the runner reads names from the wrapper's result, which is why `params` exists.
 */
function resolveFunction(node: ts.Expression, source: ts.SourceFile, depth: number): FunctionNode | undefined {
  if (depth > MAX_RESOLVE_DEPTH) return undefined;
  const e = unwrap(node);
  if (ts.isArrowFunction(e) || ts.isFunctionExpression(e)) return e;
  if (ts.isIdentifier(e)) {
    const declared = topLevelFunction(e.text, source);
    if (declared) return declared;
    const init = topLevelInitializer(e.text, source);
    return init && resolveFunction(init, source, depth + 1);
  }
  if (ts.isCallExpression(e)) {
    for (let i = e.arguments.length - 1; i >= 0; i--) {
      const arg = e.arguments[i];
      const found = arg && resolveFunction(arg, source, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/** The names a caller fills, and how many of them (from the first) it must: up to the last without a default or `?`. */
function parameterNames(fn: FunctionNode, source: ts.SourceFile): { names: string[]; required: number } {
  const names: string[] = [];
  let required = 0;
  for (const p of fn.parameters) {
    // Like the runner: a rest parameter takes whatever is left, so it has no name a caller can fill.
    if (p.dotDotDotToken) break;
    if (ts.isIdentifier(p.name)) {
      // `this: Ctx` is a type annotation only; compiled JS has no such parameter.
      if (p.name.text === 'this') continue;
      names.push(p.name.text);
    } else {
      names.push(p.name.getText(source).replace(/\s+/g, ' '));
    }
    if (!p.initializer && !p.questionToken) required = names.length;
  }
  return { names, required };
}

function readOptions(object: ts.ObjectLiteralExpression | undefined): { options: Record<string, TaskOptionValue>; params: string[] | undefined } {
  const options: Record<string, TaskOptionValue> = {};
  let params: string[] | undefined;
  for (const prop of object?.properties ?? []) {
    if (!ts.isPropertyAssignment(prop)) continue;
    const key = propertyKey(prop.name);
    if (key === undefined) continue;
    if (key === 'params') {
      params = stringArray(prop.initializer);
      continue;
    }
    const value = literalValue(prop.initializer);
    if (value !== undefined) options[key] = value;
  }
  return { options, params };
}

function propertyKey(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
  return undefined;
}

function literalValue(node: ts.Expression): TaskOptionValue | undefined {
  const e = unwrap(node);
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return e.text;
  if (ts.isNumericLiteral(e)) return Number(e.text);
  if (e.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (e.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (ts.isPrefixUnaryExpression(e) && ts.isNumericLiteral(e.operand)) {
    if (e.operator === ts.SyntaxKind.MinusToken) return -Number(e.operand.text);
    if (e.operator === ts.SyntaxKind.PlusToken) return Number(e.operand.text);
  }
  return undefined;
}

/** `['a', 'b']` as names; anything not made of string literals only is not a usable override. */
function stringArray(node: ts.Expression): string[] | undefined {
  const e = unwrap(node);
  if (!ts.isArrayLiteralExpression(e)) return undefined;
  const names: string[] = [];
  for (const element of e.elements) {
    if (!ts.isStringLiteral(element) && !ts.isNoSubstitutionTemplateLiteral(element)) return undefined;
    names.push(element.text);
  }
  return names;
}
