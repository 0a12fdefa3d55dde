/**
 * Revoked task ids that outlive worker restarts. Celery keeps its revoked list in each worker's memory only (a
 * restarted worker runs a task revoked before, see WIRE_FORMAT.md section 4); Radish also writes it to a sorted set,
 * `radish.revoked`, scored by expiry, which every Radish worker loads when it starts. The worker asks `has()` for
 * every message, so that answers from memory; Redis is written only when something is revoked.
 *
 * Also the stamped headers revoked by `revoke_by_stamped_headers` (Celery 5.3+), which Celery keeps in memory only
 * and so does Radish ({@link RevokedStamps}).
 */
import type { SharedStore } from './shared-store';

/** Celery's `REVOKE_EXPIRES`: a revoke is honoured for 3 hours. */
export const REVOKE_EXPIRES_SEC = 10_800;

/** Celery's `REVOKES_MAX`: the most revoked ids a worker remembers (the oldest are forgotten first). */
export const REVOKES_MAX = 50_000;

export interface RevokedStoreOptions {
  /** Seconds a revoke lasts unless `add()` says otherwise. Default 10800 (Celery's REVOKE_EXPIRES). */
  ttlSec?: number;
  /** Most ids kept, in Redis and in memory; those expiring first go first. Default 50000 (Celery's REVOKES_MAX). */
  maxSize?: number;
  /** The time in milliseconds. Default `Date.now` (tests pass a fake clock). */
  now?: () => number;
}

export class RevokedStore {
  readonly ttlSec: number;
  readonly maxSize: number;
  private readonly now: () => number;
  /** id -> expiry (unix ms), in insertion order, so the memory cap forgets the oldest first. */
  private readonly live = new Map<string, number>();

  /** @param shared where revokes outlive this process; undefined keeps them in memory only, as Celery does. */
  constructor(private readonly shared: SharedStore | undefined, options: RevokedStoreOptions = {}) {
    this.ttlSec = options.ttlSec ?? REVOKE_EXPIRES_SEC;
    this.maxSize = Math.max(1, options.maxSize ?? REVOKES_MAX);
    this.now = options.now ?? Date.now;
    if (!(this.ttlSec > 0)) throw new RangeError(`ttlSec must be positive, got ${this.ttlSec}`);
  }

  /**
   * Revoke `ids` for `ttlSec` seconds (default the store's): recorded in Redis for workers that start later and in
   * this process's memory at once. Revoking an id again extends it. Expired ids are pruned in the same round-trip.
   */
  async add(ids: string | Iterable<string>, ttlSec = this.ttlSec): Promise<void> {
    const list = [...new Set(typeof ids === 'string' ? [ids] : ids)];
    if (list.some((id) => typeof id !== 'string' || id === '')) throw new TypeError('task ids must be non-empty strings');
    if (!(ttlSec > 0)) throw new RangeError(`ttlSec must be positive, got ${ttlSec}`);
    if (list.length === 0) return;
    const now = this.now();
    const expires = now + ttlSec * 1000;
    this.remember(list, expires);
    if (!this.shared) return;
    const { redis, keys } = this.shared;
    const members = list.flatMap((id) => [expires / 1000, id]);
    await redis.multi()
      .zadd(keys.revoked, ...members)
      .zremrangebyscore(keys.revoked, '-inf', now / 1000)
      // Past the cap, the ids closest to expiry go (lowest scores), as Celery's LimitedSet drops its oldest.
      .zremrangebyrank(keys.revoked, 0, -(this.maxSize + 1))
      .exec();
  }

  /**
   * Read the live revoked ids from Redis (deleting expired ones), make them this process's set, and return them.
   * A worker calls it when it starts, and again after a Redis outage (a revoke broadcast meanwhile was missed).
   */
  async load(): Promise<string[]> {
    if (!this.shared) return this.ids();
    const { redis, keys } = this.shared;
    const now = this.now() / 1000;
    const replies = await redis.multi()
      .zremrangebyscore(keys.revoked, '-inf', now)
      .zrangebyscore(keys.revoked, `(${now}`, '+inf', 'WITHSCORES')
      .exec();
    const failed = replies?.find(([err]) => err)?.[0];
    const ranged = replies?.[1];
    if (failed || !ranged) throw failed ?? new Error('revoked ids could not be read (transaction aborted)');
    const flat = ranged[1] as string[];
    this.live.clear();
    for (let i = 0; i + 1 < flat.length; i += 2) this.live.set(flat[i] ?? '', Number(flat[i + 1]) * 1000);
    this.trim();
    return [...this.live.keys()];
  }

  /** Whether `id` is revoked and not expired, from memory (no round-trip). */
  has(id: string): boolean {
    const expires = this.live.get(id);
    if (expires === undefined) return false;
    if (expires > this.now()) return true;
    this.live.delete(id);
    return false;
  }

  /** The live revoked ids in memory, oldest first: what Celery's `revoked` inspect command lists. */
  ids(): string[] {
    const now = this.now();
    for (const [id, expires] of this.live) if (expires <= now) this.live.delete(id);
    return [...this.live.keys()];
  }

  private remember(ids: readonly string[], expires: number): void {
    for (const id of ids) {
      // Re-inserting moves the id to the young end, so the cap forgets the ids revoked longest ago.
      this.live.delete(id);
      this.live.set(id, expires);
    }
    this.trim();
  }

  private trim(): void {
    for (const id of this.live.keys()) {
      if (this.live.size <= this.maxSize) break;
      this.live.delete(id);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Revoked stamped headers (`revoke_by_stamped_headers`, Celery 5.3+)

/** A stamp's value as a list of values: a list stamps each of its items (Celery's `maybe_list`). */
function valuesOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** Python's `==` on the JSON scalars stamps are: `'7'` is not `7`. Lists and objects compare by their JSON. */
function sameStamp(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Which of a task's stamps a `revoke_by_stamped_headers` request names, as Celery's terminate rule reads them: for
 * every requested header the task is stamped with, the values both have. Empty when none match.
 * @param stamps the task's stamps (`messageStamps()`), name -> value or list of values
 * @param headers the request's, name -> value or list of values
 */
export function matchStamps(stamps: Readonly<Record<string, unknown>>, headers: Readonly<Record<string, unknown>>): Map<string, unknown[]> {
  const matched = new Map<string, unknown[]>();
  for (const [name, wanted] of Object.entries(headers)) {
    if (!Object.hasOwn(stamps, name)) continue;
    const revoked = valuesOf(wanted);
    const hits = valuesOf(stamps[name]).filter((v, i, all) =>
      revoked.some((r) => sameStamp(r, v)) && all.findIndex((w) => sameStamp(w, v)) === i);
    if (hits.length) matched.set(name, hits);
  }
  return matched;
}

export interface RevokedStampsOptions {
  /** Most values kept per header; the oldest revoked go first. Default 50000 (Celery's REVOKES_MAX; Celery has no cap here). */
  maxPerHeader?: number;
}

/**
 * The stamped headers revoked on this worker (Celery's `worker_state.revoked_stamps`): header name -> values, added
 * up by every `revoke_by_stamped_headers`. As in Celery they live in the worker's memory only: not in Redis, not
 * expiring, not passed on by mingle.
 */
export class RevokedStamps {
  private readonly maxPerHeader: number;
  /** Header -> its revoked values, oldest first. */
  private readonly byHeader = new Map<string, unknown[]>();

  constructor(options: RevokedStampsOptions = {}) {
    this.maxPerHeader = Math.max(1, options.maxPerHeader ?? REVOKES_MAX);
  }

  /** Revoked values, all headers together. */
  get size(): number {
    let n = 0;
    for (const values of this.byHeader.values()) n += values.length;
    return n;
  }

  /** Revoke `headers` (name -> value or list of values) on top of what was revoked before. */
  add(headers: Readonly<Record<string, unknown>>): void {
    for (const [name, value] of Object.entries(headers)) {
      const values = this.byHeader.get(name) ?? [];
      for (const v of valuesOf(value)) {
        // Revoked again: moved to the young end, so the cap forgets the values revoked longest ago.
        const at = values.findIndex((w) => sameStamp(w, v));
        if (at >= 0) values.splice(at, 1);
        values.push(v);
      }
      if (values.length > this.maxPerHeader) values.splice(0, values.length - this.maxPerHeader);
      this.byHeader.set(name, values);
    }
  }

  /**
   * The first of a task's stamps that is revoked (a list stamp matches by any of its items), or undefined.
   * @param stamps the task's stamps (`messageStamps()`)
   */
  match(stamps: Readonly<Record<string, unknown>>): { header: string; value: unknown } | undefined {
    if (this.byHeader.size === 0) return undefined;
    for (const [header, value] of Object.entries(stamps)) {
      const revoked = this.byHeader.get(header);
      if (!revoked) continue;
      const hit = valuesOf(value).find((v) => revoked.some((r) => sameStamp(r, v)));
      if (hit !== undefined) return { header, value: hit };
    }
    return undefined;
  }

  /** The revoked values by header (copies). */
  entries(): Record<string, unknown[]> {
    return Object.fromEntries([...this.byHeader].map(([name, values]) => [name, [...values]]));
  }
}
