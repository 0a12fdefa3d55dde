/**
 * Task discovery: where tasks are defined, from source text alone. Pure (no vscode), so it runs in plain mocha,
 * and bundled apart from the extension (it carries the TypeScript compiler) to be loaded on first use.
 */
import * as path from 'node:path';
import { findPythonTasks } from './python';
import { findTypeScriptTasks } from './typescript';
import type { TaskDefinitionSite } from './types';

export { findPythonTasks } from './python';
export { findTypeScriptTasks } from './typescript';
export { findPythonRoutes, hasRouteFacts, mayDeclareRoutes, projectRoutes, routesForTask } from './python-routes';
export { chooseProjectBroker, findPythonBroker, hasBrokerFacts, mayNameBroker } from './python-broker';
export { findCeleryBeatSchedules, mayDeclareBeatSchedule } from './python-beat';
export type { SourcePosition, SourceRange, TaskDefinitionSite, TaskOptionValue } from './types';

const LANGUAGES: Record<string, TaskDefinitionSite['language']> = {
  '.ts': 'typescript', '.tsx': 'typescript', '.mts': 'typescript', '.cts': 'typescript',
  '.js': 'javascript', '.jsx': 'javascript', '.mjs': 'javascript', '.cjs': 'javascript',
  '.py': 'python',
};

/** The language discovery reads a file as, by extension; undefined for files it does not read (`.d.ts` too). */
export function languageOf(file: string): TaskDefinitionSite['language'] | undefined {
  if (/\.d\.[cm]?ts$/i.test(file)) return undefined;
  return LANGUAGES[path.extname(file).toLowerCase()];
}

/**
 * Task definitions in one file's text, in source order. Never throws: a file discovery cannot read (or a parser
 * bug) yields no tasks instead of breaking the index of every other file.
 *
 * @param moduleName Python only: the file's dotted module path, for Celery's default names (see findPythonTasks).
 */
export function discoverInText(file: string, text: string, moduleName?: string): TaskDefinitionSite[] {
  try {
    switch (languageOf(file)) {
      case 'python':
        return findPythonTasks(file, text, moduleName);
      case 'typescript':
      case 'javascript':
        return findTypeScriptTasks(file, text);
      default:
        return [];
    }
  } catch {
    return [];
  }
}

function compare(a: { line: number; character: number }, b: { line: number; character: number }): number {
  return a.line - b.line || a.character - b.character;
}

/**
 * The definition whose range holds the position (both ends included, so a cursor just after the closing `)`
 * still counts); the innermost one when definitions nest.
 */
export function findTaskAt(sites: readonly TaskDefinitionSite[], line: number, character: number): TaskDefinitionSite | undefined {
  const at = { line, character };
  let best: TaskDefinitionSite | undefined;
  for (const site of sites) {
    if (compare(site.range.start, at) > 0 || compare(at, site.range.end) > 0) continue;
    // Nested ranges: the one starting later is inside the other.
    if (!best || compare(site.range.start, best.range.start) >= 0) best = site;
  }
  return best;
}
