/**
 * The peers' packages, loaded at run time from bench/node_modules (installed by `npm ci --prefix bench`), so
 * Radish's own package stays lean and the bundle never contains them: BullMQ reads its Lua scripts from its
 * package folder, so it must be required where it is installed anyway.
 *
 * Only the few calls the bench makes are typed (in each system's file), so type-checking does not need
 * bench/node_modules either. BullMQ's Redis client (ioredis, an optional peer of it) is not in bench/package.json:
 * Node finds Radish's own by walking up from bench/node_modules, so BullMQ, Radish and the baseline use one client.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** bench/ in the repository: dist/bench.js runs from dist/. */
export const BENCH_DIR = join(__dirname, '..', 'bench');
const requireFromBench = createRequire(join(BENCH_DIR, 'package.json'));

export type PeerPackage = 'bullmq' | 'bee-queue' | 'celery-node';

/** Why the package cannot be loaded (the line the bench prints as `skipped <peer>: ...`), or undefined. */
export function peerMissing(pkg: PeerPackage): string | undefined {
  if (!existsSync(join(BENCH_DIR, 'node_modules', pkg, 'package.json'))) return 'run npm ci --prefix bench';
  return undefined;
}

/** The `version` of the package.json at `path`, or undefined when it cannot be read. */
function manifestVersion(path: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

/** The installed version of a peer, from its package.json (undefined when not installed: the system reports itself unavailable). */
export function peerVersion(pkg: PeerPackage): string | undefined {
  return manifestVersion(join(BENCH_DIR, 'node_modules', pkg, 'package.json'));
}

/**
 * The version of a package as a peer resolves it, from bench/ (BullMQ's optional peer ioredis is the root's), for the
 * report; undefined when it is not found.
 */
export function resolvedVersion(pkg: string): string | undefined {
  let path: string;
  try {
    path = requireFromBench.resolve(`${pkg}/package.json`);
  } catch {
    return undefined;
  }
  return manifestVersion(path);
}

/**
 * The module, typed by the caller with the subset it uses. The cast is the boundary: the peers' own type
 * declarations live in bench/node_modules, which type-checking must not depend on.
 */
export function loadPeer<T>(pkg: PeerPackage): T {
  return requireFromBench(pkg) as T;
}
