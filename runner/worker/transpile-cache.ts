/**
 * TypeScript task modules, transpiled once per content: the loader's output is kept on disk under a hash of what
 * produced it (the transpiler's identity, the transforms, the file's path and its source), so a worker restarted on
 * unchanged modules, and each child of a process pool, loads them without loading the transpiler at all: about 50 ms
 * and 4-5 MB of a worker's memory for as long as it runs. An edited file hashes to a new entry; an entry is only ever
 * written whole (a temporary file renamed into place), so a reader sees all of it or nothing.
 *
 * The cache holds code that will run, so it lives in the user's own cache directory, never in a shared temporary
 * one: `RADISH_TS_CACHE` names another directory, or `off` turns it off. Any failure to read or write it (a read-only
 * home, a full disk) falls back to transpiling, silently: the cache only ever saves time.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Entries kept before the oldest half is pruned (each is one module's output, a few kB). */
const MAX_ENTRIES = 1000;

/** The cache directory, or undefined when it is off. */
export function transpileCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  const configured = env.RADISH_TS_CACHE;
  if (configured === 'off') return undefined;
  if (configured) return configured;
  let home: string;
  try {
    home = homedir();
  } catch {
    return undefined;
  }
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'radish', 'Cache', 'ts');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'radish', 'ts');
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'radish', 'ts');
}

export class TranspileCache {
  private pruned = false;

  /**
   * @param transpiler what makes the output besides the source (Radish's and the transpiler's versions): a new one
   *   never reads an older one's entries.
   * @param dir where the entries are ({@link transpileCacheDir}); undefined: the cache is off.
   */
  constructor(private readonly transpiler: string, private readonly dir: string | undefined) {}

  /** The transpiled code for this source: from the cache, else from `transpile`, then kept. */
  get(source: string, filename: string, transforms: readonly string[], transpile: () => string): string {
    if (!this.dir) return transpile();
    const key = createHash('sha256').update(`${this.transpiler}\0${transforms.join(',')}\0${filename}\0`).update(source).digest('hex');
    const path = join(this.dir, `${key}.js`);
    let code: string | undefined;
    try {
      code = readFileSync(path, 'utf8');
    } catch {
      // not cached yet (or unreadable): transpile below
    }
    if (code !== undefined) {
      this.touch(path);
      return code;
    }
    code = transpile();
    this.put(path, code);
    return code;
  }

  /** Mark an entry as used now: pruning drops the least recently used, not the oldest written. */
  private touch(path: string): void {
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // a read-only cache, or pruned meanwhile: it is only a hint
    }
  }

  private put(path: string, code: string): void {
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      mkdirSync(this.dir!, { recursive: true, mode: 0o700 });
      writeFileSync(temporary, code, { mode: 0o600 });
      renameSync(temporary, path);
    } catch {
      try {
        unlinkSync(temporary);
      } catch {
        // never written
      }
      return;
    }
    if (!this.pruned) this.prune();
  }

  /** Once per process, after its first new entry: past MAX_ENTRIES, drop the least recently used half. */
  private prune(): void {
    this.pruned = true;
    try {
      const names = readdirSync(this.dir!).filter((n) => n.endsWith('.js'));
      if (names.length <= MAX_ENTRIES) return;
      const aged = names.map((n) => ({ path: join(this.dir!, n), at: statSync(join(this.dir!, n)).mtimeMs })).sort((a, b) => a.at - b.at);
      for (const { path } of aged.slice(0, aged.length - MAX_ENTRIES / 2)) unlinkSync(path);
    } catch {
      // another process pruned meanwhile, or the directory went away: next time
    }
  }
}
