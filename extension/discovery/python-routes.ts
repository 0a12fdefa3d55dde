/**
 * Celery's `task_routes` in Python source, read as literals (Python is never run), and turned into the runner's
 * routes (runner/app.ts `Routes`) for one task, so the extension proposes the queue the project sends it to.
 *
 * Where a project sets them:
 * - on an app: `app.conf.task_routes = {...}`, `app.conf['task_routes'] = {...}`, `app.conf.update(task_routes=...)`,
 *   `app.conf.update({'task_routes': ...})`, `Celery('proj', task_routes=...)`: the last one in the file;
 * - in a settings module, at module level: `CELERY_TASK_ROUTES` (Django, read with `namespace='CELERY'`; another
 *   namespace given to `config_from_object` works the same), `task_routes` in `celeryconfig.py` or in a module an app
 *   names in `config_from_object('proj.conf')`, and Celery 3's `CELERY_ROUTES` when no namespace is used.
 *
 * What a table may be, as Celery's `prepare` and `MapRoute` take it: a dict, or a list/tuple of dicts and of lists of
 * `(key, route)` pairs; a key is a task name, or an fnmatch pattern when it holds `*` (`*` crosses dots; `?` and
 * `[...]` as in fnmatch); a route is a queue name or a dict with a `queue` (and `priority`; `routing_key`, `exchange`
 * are not queues and are ignored). Celery looks a map's exact names up before its patterns, and the maps in order.
 *
 * Left out, without failing: what cannot be read literally (`re.compile(...)` keys, router functions and router
 * strings, computed keys, `**spread`). A route whose key can be read but not its queue (a `Queue(...)` object, only an
 * exchange and a routing key) is kept without a target: Celery stops at it, so a task it matches gets no route.
 */
import * as path from 'node:path';
import { dottedName, pythonValue, type PythonValue } from './python-literals';
import { logicalLines, type LogicalLine, type Token } from './python-tokens';
import { assignment, calls, confItemKey, keyword, statements } from './python-statements';
import type { TaskDefinitionSite } from './types';

/** Where a route sends a task, in the runner's shape: a queue, or a queue and a priority. */
export type RouteTarget = NonNullable<TaskDefinitionSite['appRoutes']>[string];

/** One entry of a `task_routes` table, in the order Celery looks it up. */
export interface CeleryRoute {
  /** A task name, or an fnmatch pattern when it holds `*` (Celery's own test). */
  key: string;
  /** Absent when the route says something other than a queue that can be read (see the module's comment). */
  target?: RouteTarget;
}

/** What one Python file says about task routes. */
export interface PythonRouteFacts {
  /**
   * The table set on an app in this file (the last one set), or undefined when none is. An empty table when it is
   * set to something unreadable: the app has routes, unknown ones, which hide those of its settings.
   */
  app?: CeleryRoute[];
  /** Module-level settings that may hold the routes (`CELERY_TASK_ROUTES`, `task_routes`...), in source order. */
  settings: { name: string; routes: CeleryRoute[] }[];
  /** Namespaces given to `config_from_object(..., namespace='CELERY')`. */
  namespaces: string[];
  /** Modules given to `config_from_object('proj.celeryconfig')` (or as a module object), as written. */
  configModules: string[];
}

/** A file's route facts and its project's root: the first folder up that is not a package (where `celery -A` runs). */
export interface RouteSource {
  file: string;
  root: string;
  facts: PythonRouteFacts;
}

const HINT = /task_routes|TASK_ROUTES|CELERY_ROUTES|config_from_object/;
const SETTING = /^(?:task_routes|CELERY_ROUTES|[A-Z][A-Z0-9_]*_TASK_ROUTES)$/;

/** Whether a text may hold route facts at all (a cheap test before reading it). */
export function mayDeclareRoutes(text: string): boolean {
  return HINT.test(text);
}

/** Whether `findPythonRoutes` found anything worth keeping. */
export function hasRouteFacts(facts: PythonRouteFacts): boolean {
  return facts.app !== undefined || facts.settings.length > 0 || facts.namespaces.length > 0 || facts.configModules.length > 0;
}

/** The route facts of a Python source text. Never throws. */
export function findPythonRoutes(text: string, lines: readonly LogicalLine[] = logicalLines(text)): PythonRouteFacts {
  const facts: PythonRouteFacts = { settings: [], namespaces: [], configModules: [] };
  if (!mayDeclareRoutes(text)) return facts;
  const settings = new Map<string, CeleryRoute[]>();
  /** Module-level names bound to a value, as far as it is a literal: what `task_routes = ROUTES` refers to. */
  const names = new Map<string, PythonValue>();
  const resolve = (v: PythonValue): PythonValue => {
    switch (v.kind) {
      case 'name':
        return names.get(v.name) ?? v;
      case 'dict':
        return { kind: 'dict', entries: v.entries.map((e) => ({ key: resolve(e.key), value: resolve(e.value) })) };
      case 'list':
      case 'tuple':
        return { kind: v.kind, items: v.items.map(resolve) };
      default:
        return v;
    }
  };
  const value = (tokens: readonly Token[]): PythonValue => resolve(pythonValue(tokens));

  for (const line of lines) {
    for (const statement of statements(line.tokens)) {
      const [targets, assigned] = assignment(statement);
      for (const call of calls(assigned ?? statement)) {
        const callee = call.callee.split('.');
        const last = callee[callee.length - 1];
        if (last === 'update' && callee[callee.length - 2] === 'conf') {
          // `conf.update(task_routes=...)`, `conf.update({'task_routes': ...})`: the last one given wins.
          for (const arg of call.args) {
            const kw = keyword(arg);
            if (kw?.name === 'task_routes') facts.app = readTable(value(kw.value));
            if (kw) continue;
            const given = value(arg);
            if (given.kind !== 'dict') continue;
            for (const { key, value: v } of given.entries) if (key.kind === 'str' && key.value === 'task_routes') facts.app = readTable(v);
          }
        } else if (last === 'Celery') {
          for (const arg of call.args) {
            const kw = keyword(arg);
            if (kw?.name === 'task_routes') facts.app = readTable(value(kw.value));
          }
        } else if (last === 'config_from_object') {
          for (const [i, arg] of call.args.entries()) {
            const kw = keyword(arg);
            if (kw) {
              const given = value(kw.value);
              if (kw.name === 'namespace' && given.kind === 'str' && given.value) facts.namespaces.push(given.value);
              continue;
            }
            if (i !== 0) continue;
            // A module's name, or the module itself (`import celeryconfig`). `'django.conf:settings'` names an
            // attribute, not a module of the project: its settings are found by their names anyway.
            const written = pythonValue(arg);
            const given = resolve(written);
            if (given.kind === 'str' && given.value && !given.value.includes(':')) facts.configModules.push(given.value);
            else if (written.kind === 'name') facts.configModules.push(written.name);
          }
        }
      }
      if (!assigned) continue;
      const bound = value(assigned);
      for (const target of targets) {
        const name = dottedName(target);
        if (name !== undefined && !name.includes('.') && line.indent === 0) {
          names.set(name, bound);
          if (SETTING.test(name)) settings.set(name, readTable(bound));
        } else if (name?.endsWith('conf.task_routes') && (name === 'conf.task_routes' || name.endsWith('.conf.task_routes'))) {
          facts.app = readTable(bound);
        } else if (confItemKey(target) === 'task_routes') {
          facts.app = readTable(bound);
        }
      }
    }
  }
  facts.settings = [...settings].map(([name, routes]) => ({ name, routes }));
  return facts;
}

/** A `task_routes` value (already resolved) as Celery's `prepare` expands it, flattened in lookup order. */
function readTable(table: PythonValue): CeleryRoute[] {
  if (table.kind === 'dict') return readMap(table.entries.map(({ key, value }) => [key, value]));
  if (table.kind !== 'list' && table.kind !== 'tuple') return [];
  return table.items.flatMap((item) => {
    if (item.kind === 'dict') return readMap(item.entries.map(({ key, value }) => [key, value]));
    if (item.kind === 'list' || item.kind === 'tuple') {
      // A map given as `(key, route)` pairs, which keeps its patterns in the order written.
      const pairs = item.items.flatMap((pair): [PythonValue, PythonValue][] => {
        if ((pair.kind !== 'list' && pair.kind !== 'tuple') || pair.items.length !== 2) return [];
        const [key, value] = pair.items;
        return key && value ? [[key, value]] : [];
      });
      return readMap(pairs);
    }
    return []; // a router function or a router's import path: not readable
  });
}

/** One of Celery's `MapRoute`s: its exact names first, then its patterns, each in the order of the map. */
function readMap(pairs: readonly [PythonValue, PythonValue][]): CeleryRoute[] {
  // As in a Python dict, a repeated key keeps its first place and its last value.
  const map = new Map<string, PythonValue>();
  for (const [key, value] of pairs) if (key.kind === 'str') map.set(key.value, value);
  const exact: CeleryRoute[] = [];
  const patterns: CeleryRoute[] = [];
  for (const [key, value] of map) {
    const target = readTarget(value);
    (key.includes('*') ? patterns : exact).push(target === undefined ? { key } : { key, target });
  }
  return [...exact, ...patterns];
}

/** A route's queue (and priority), as Celery's `expand_destination` reads it; undefined when there is none to read. */
function readTarget(value: PythonValue): RouteTarget | undefined {
  if (value.kind === 'str') return value.value || undefined;
  if (value.kind !== 'dict') return undefined;
  let queue: string | undefined;
  let priority: number | undefined;
  for (const { key, value: v } of value.entries) {
    if (key.kind !== 'str') continue;
    if (key.value === 'queue') queue = v.kind === 'str' && v.value ? v.value : undefined;
    if (key.value === 'priority') priority = v.kind === 'num' && Number.isInteger(v.value) ? v.value : undefined;
  }
  if (queue === undefined) return undefined;
  return priority === undefined ? { queue } : { queue, priority };
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Whether `file` is the module `name` (`proj.celeryconfig`: `.../proj/celeryconfig.py` or its package). */
function isModule(file: string, name: string): boolean {
  const rel = name.split('.').join(path.sep);
  return file.endsWith(path.sep + rel + '.py') || file.endsWith(path.sep + rel + path.sep + '__init__.py');
}

/**
 * The table a task defined in `taskFile` is sent by, among the sources of a workspace. Simple on purpose:
 * - only sources whose project root holds the task file count, and the deepest root wins (a project nested in
 *   another uses its own routes);
 * - then routes set on an app win over settings (Celery's `app.conf` changes win over `config_from_object`), settings
 *   read by a namespace or from a config module over Celery 3's `CELERY_ROUTES`;
 * - then a source in the task's own file wins;
 * - several different tables still in the running: which app's the task is cannot be told, so undefined.
 */
export function projectRoutes(sources: readonly RouteSource[], taskFile: string): CeleryRoute[] | undefined {
  const inside = sources.filter((s) => isInside(s.root, taskFile));
  const candidates: { score: number[]; routes: CeleryRoute[] }[] = [];
  for (const source of inside) {
    const peers = inside.filter((o) => o.root === source.root);
    const seen = peers.flatMap((p) => p.facts.namespaces);
    const namespaces = seen.length ? seen : ['CELERY'];
    const modules = ['celeryconfig', ...peers.flatMap((p) => p.facts.configModules)];
    const depth = path.resolve(source.root).split(path.sep).filter(Boolean).length;
    const own = source.file === taskFile ? 1 : 0;
    if (source.facts.app) candidates.push({ score: [depth, 3, own], routes: source.facts.app });
    for (const { name, routes } of source.facts.settings) {
      let rank = 0;
      if (name === 'task_routes') rank = modules.some((m) => isModule(source.file, m)) ? 2 : 0;
      // With a namespace, Celery reads new names only.
      else if (name === 'CELERY_ROUTES') rank = seen.length ? 0 : 1;
      else rank = namespaces.some((ns) => name === `${ns}_TASK_ROUTES`) ? 2 : 0;
      if (rank) candidates.push({ score: [depth, rank, own], routes });
    }
  }
  const compare = (a: number[], b: number[]): number => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (b[i] ?? 0) - (a[i] ?? 0);
    return 0;
  };
  candidates.sort((a, b) => compare(a.score, b.score));
  const [best] = candidates;
  if (!best) return undefined;
  const tied = candidates.filter((c) => compare(c.score, best.score) === 0);
  const text = JSON.stringify(best.routes);
  return tied.every((c) => JSON.stringify(c.routes) === text) ? best.routes : undefined;
}

/** Python's `fnmatch.translate` (what Celery matches a `*` key with) as a RegExp; undefined when it cannot be built. */
function fnmatchRegExp(pattern: string): RegExp | undefined {
  let re = '';
  let star = false;
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i++] ?? '';
    const wasStar = star;
    star = false;
    if (c === '*') {
      if (!wasStar) re += '[\\s\\S]*';
      star = true;
    } else if (c === '?') {
      re += '[\\s\\S]';
    } else if (c === '[') {
      let j = i;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        re += '\\[';
        continue;
      }
      let set = pattern.slice(i, j);
      i = j + 1;
      const negate = set.startsWith('!');
      if (negate) set = set.slice(1);
      if (!set) re += negate ? '[\\s\\S]' : '(?!)';
      else re += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  try {
    return new RegExp(`^(?:${re})$`, 'u');
  } catch {
    return undefined; // a range Python allows and JavaScript does not (`[z-a]`): no match
  }
}

function matches(key: string, name: string): boolean {
  return key.includes('*') ? fnmatchRegExp(key)?.test(name) === true : key === name;
}

/**
 * The runner's routes (runner/app.ts `Routes`, checked in order) that send the task `name` where Celery would by
 * `table`. The runner reads a key without `*` as a name and its `*` as fnmatch's (dots included), so most keys carry
 * over as written; fnmatch's `?` and `[...]` have no runner equivalent, so such a pattern becomes this task's own name
 * when it matches it and is left out when it does not. Past a route without a readable queue that matches the task,
 * nothing: the task gets the default queue.
 */
export function routesForTask(table: readonly CeleryRoute[], name: string): Record<string, RouteTarget> {
  const routes: Record<string, RouteTarget> = {};
  const add = (key: string, target: RouteTarget): void => {
    if (!Object.prototype.hasOwnProperty.call(routes, key)) routes[key] = target;
  };
  for (const { key, target } of table) {
    if (target === undefined) {
      if (matches(key, name)) break;
    } else if (!key.includes('*') || !/[?[]/.test(key)) {
      add(key, target);
    } else if (matches(key, name)) {
      add(name, target);
    }
  }
  return routes;
}
