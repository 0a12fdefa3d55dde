/**
 * How long a worker takes to load TypeScript task modules: examples/ts-tasks (one module) and a generated project of
 * 50 modules (a tasks module importing 49 others, each with an enum, a class with parameter properties and `import
 * type`, chained through `./modN.js` imports). Each run is a fresh Node process that requires the runner bundle and
 * calls loadModule, as `radish worker -A` does before it connects; nothing here needs Redis. Each run is a pair on a
 * transpile cache of its own: cold (empty, as after an edit or in a new container: every module is transpiled),
 * then warm (a restart on the same modules: none is).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from './errors';
import { median } from './stats';

/** Medians over the runs, in ms. */
export interface LoadTiming {
  /** loadModule itself (transpiling, or reading the cache, and running every module). */
  loadMs: number;
  /** The whole process from Node's start to the modules loaded (Node, the runner bundle, the load). */
  processMs: number;
  /** CPU time of the load (user + system): what it costs on a busy machine. */
  loadCpuMs: number;
}

export interface LoadProject {
  project: string;
  modules: number;
  /** Transpile cache empty; then the same modules again on the cache the cold run filled. */
  cold: LoadTiming;
  warm: LoadTiming;
}

export interface LoadResult {
  runs: number;
  projects: LoadProject[];
}

const GENERATED = 50;

/**
 * Writes the generated project into `dir`; returns its entry module. `suffix`: how its imports end (`.js`, as
 * TypeScript's node16 resolution has them written, or '' for runners that cannot map `.js` to `.ts`).
 */
export function writeProject(dir: string, modules = GENERATED, suffix = '.js'): string {
  for (let i = 1; i < modules; i++) {
    const previous = i > 1 ? `import { Service${i - 1} } from './mod${i - 1}${suffix}';\n` : '';
    writeFileSync(join(dir, `mod${i}.ts`), `import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
${previous}
export enum Status${i} { Idle = 'idle', Busy = 'busy', Done = 'done' }

export interface Options${i} {
  retries: number;
  name?: string;
  tags: readonly string[];
}

export class Service${i} {
  private readonly cache = new Map<string, number>();
  status: Status${i} = Status${i}.Idle;
  constructor(private readonly options: Options${i}, public weight = ${i}) {}

  hash(input: string): string {
    return createHash('sha1').update(input + this.options.retries).digest('hex').slice(0, 8);
  }

  async run(items: Array<{ id: string; size: number }>, _stream?: Readable): Promise<number> {
    this.status = Status${i}.Busy;
    let total = 0;
    for (const item of items) {
      total += this.cache.get(item.id) ?? item.size * this.weight;
      this.cache.set(item.id, item.size);
    }
    this.status = Status${i}.Done;
    return total${i > 1 ? ` + new Service${i - 1}({ retries: 1, tags: [] }).weight` : ''};
  }
}

export function make${i}(tags: string[] = []): Service${i} {
  return new Service${i}({ retries: ${i}, tags, name: \`svc-${i}\` });
}
`);
  }
  const imports = Array.from({ length: modules - 1 }, (_, k) => `import { make${k + 1} } from './mod${k + 1}${suffix}';`);
  const tasks = Array.from({ length: modules - 1 }, (_, k) =>
    `export const run${k + 1} = app.task('load.run${k + 1}', (size: number) => make${k + 1}().run([{ id: 'a', size }]));`);
  const entry = join(dir, 'tasks.ts');
  writeFileSync(entry, `import { Radish } from 'radish';\n${imports.join('\n')}\n\nexport const app = new Radish();\n${tasks.join('\n')}\n`);
  return entry;
}

// Run in the child: performance.now() counts from the process's start.
const CHILD = `
const [bundle, entry] = process.argv.slice(1);
const runner = require(bundle);
const start = performance.now();
const cpu = process.cpuUsage();
runner.loadModule(entry).then(() => {
  const used = process.cpuUsage(cpu);
  const end = performance.now();
  process.stdout.write(JSON.stringify({ loadMs: end - start, processMs: end, loadCpuMs: (used.user + used.system) / 1000 }));
  process.exit(0);
});`;

function loadOnce(bundle: string, entry: string, cache: string): LoadTiming {
  const run = spawnSync(process.execPath, ['-e', CHILD, bundle, entry], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, RADISH_TS_CACHE: cache },
  });
  if (run.status !== 0) throw new BenchError(`loading ${entry} failed: ${run.stderr || run.error?.message || `exit ${run.status}`}`);
  return JSON.parse(run.stdout) as LoadTiming;
}

function medians(samples: LoadTiming[]): LoadTiming {
  return {
    loadMs: median(samples.map((s) => s.loadMs)),
    processMs: median(samples.map((s) => s.processMs)),
    loadCpuMs: median(samples.map((s) => s.loadCpuMs)),
  };
}

function measureProject(bundle: string, project: string, entry: string, modules: number, runs: number): LoadProject {
  const cold: LoadTiming[] = [];
  const warm: LoadTiming[] = [];
  for (let i = 0; i < runs; i++) {
    const cache = mkdtempSync(join(tmpdir(), 'radish-load-cache-'));
    try {
      cold.push(loadOnce(bundle, entry, cache));
      warm.push(loadOnce(bundle, entry, cache));
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  return { project, modules, cold: medians(cold), warm: medians(warm) };
}

/** `bundle`: the runner to measure (dist/radish.js); `root`: the repository, for examples/ts-tasks. */
export function measureLoad(bundle: string, root: string, runs: number, suffix = '.js'): LoadResult {
  const dir = mkdtempSync(join(tmpdir(), 'radish-load-'));
  try {
    const entry = writeProject(dir, GENERATED, suffix);
    return {
      runs,
      projects: [
        measureProject(bundle, 'examples/ts-tasks', join(root, 'examples/ts-tasks/tasks.ts'), 1, runs),
        measureProject(bundle, `generated, ${GENERATED} modules`, entry, GENERATED, runs),
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
