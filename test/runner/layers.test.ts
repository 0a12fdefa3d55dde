/**
 * The house rules of runner/, checked on its import graph: each file imports only from its own floor or below
 * (protocol -> broker -> backend -> definitions -> app -> worker/monitor/beat -> clients -> cli -> index), never
 * vscode or the extension, and no imports go round in a loop, except the pairs in TYPE_PAIRS: two modules whose
 * types name each other, one of them importing the other's only as a type (no loop at run time).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../runner');

/** Floors, lowest first. A file's floor is the first pattern its path (relative to runner/) matches. */
const FLOORS: [name: string, pattern: RegExp][] = [
  // The log names a task's trace: the optional OpenTelemetry API's loader is as low as the log.
  ['base', /^(errors|log|version|params)\.ts$|^types\/|^on-demand\/|^telemetry\/(otel-api|log-context)\.ts$/],
  ['protocol', /^protocol\//],
  ['broker', /^broker\//],
  ['telemetry', /^telemetry\//],
  ['backend', /^backend\//],
  ['definitions', /^(task|schedule)\.ts$/],
  ['app', /^app\.ts$/],
  // The metrics' building blocks (Prometheus tallies, the history's layout and reader): the worker's instruments
  // (worker/metrics*.ts) and the exporter (monitor/exporter.ts) are made of them.
  ['metrics', /^metrics\//],
  ['services', /^(worker|monitor|beat)\//],
  ['clients', /^(control|control-print|inspector|fleet|queue-control|queue-control-print|drain)\.ts$/],
  ['cli', /^cli\.ts$/],
  ['index', /^index\.ts$/],
];

/** Modules that belong together and name each other's types: [imports the other's values, imports only its types]. */
const TYPE_PAIRS: [string, string][] = [
  // A result knows the group it belongs to; the group is made of results.
  ['backend/group-result.ts', 'backend/async-result.ts'],
];

/** `to`: a path relative to runner/ for a file of the runner, else the specifier as written (a package, or outside). */
interface Import { from: string; to: string; typeOnly: boolean; local: boolean }

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function floorOf(file: string): number {
  const at = FLOORS.findIndex(([, pattern]) => pattern.test(file));
  assert.notEqual(at, -1, `runner/${file} is on no floor: add it to FLOORS in ${relative(process.cwd(), __filename)}`);
  return at;
}

const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function importsOf(file: string): { specifier: string; typeOnly: boolean }[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => {
    // `import { type A, type B } from` is type-only too.
    const names = /\{([^}]*)\}/.exec(m[0])?.[1];
    const allTypes = names !== undefined && names.split(',').map((n) => n.trim()).filter(Boolean).every((n) => n.startsWith('type '));
    return { specifier: m[2]!, typeOnly: m[1] !== undefined || allTypes };
  });
}

function graph(): Import[] {
  const edges: Import[] = [];
  for (const path of files(ROOT)) {
    const from = relative(ROOT, path);
    for (const { specifier, typeOnly } of importsOf(from)) {
      if (!specifier.startsWith('.')) {
        edges.push({ from, to: specifier, typeOnly, local: false });
        continue;
      }
      const target = relative(ROOT, resolve(dirname(path), specifier));
      // Lua scripts and other assets are imported with their extension.
      edges.push({ from, to: /\.\w+$/.test(target) ? target : target + '.ts', typeOnly, local: !target.startsWith('..') });
    }
  }
  return edges;
}

describe('runner/ layering', () => {
  const edges = graph();
  const local = edges.filter((e) => e.local);

  it('never imports vscode or the extension', () => {
    const outside = edges.filter((e) => e.to === 'vscode' || e.to.startsWith('../extension'));
    assert.deepEqual(outside.map((e) => `${e.from} -> ${e.to}`), []);
  });

  it('imports only from its own floor or below', () => {
    const up = local.filter((e) => floorOf(e.to) > floorOf(e.from));
    assert.deepEqual(up.map((e) => `${e.from} (${FLOORS[floorOf(e.from)]![0]}) -> ${e.to} (${FLOORS[floorOf(e.to)]![0]})`), []);
  });

  it('keeps worker/, monitor/ and beat/ apart', () => {
    const services = local.filter((e) => FLOORS[floorOf(e.from)]![0] === 'services' && FLOORS[floorOf(e.to)]![0] === 'services');
    const across = services.filter((e) => e.from.split('/')[0] !== e.to.split('/')[0]);
    assert.deepEqual(across.map((e) => `${e.from} -> ${e.to}`), []);
  });

  it('has no import loop (but the type-only pairs that belong together)', () => {
    const allowed = (e: Import) => e.typeOnly && TYPE_PAIRS.some(([a, b]) => e.from === b && e.to === a);
    const next = new Map<string, string[]>();
    for (const e of local) if (!allowed(e)) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const loops: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const walk = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        loops.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const to of next.get(file) ?? []) walk(to, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of next.keys()) walk(file, []);
    assert.deepEqual(loops, []);
  });
});
