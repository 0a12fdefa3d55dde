/**
 * Revoked task ids that outlive worker restarts. Celery keeps its revoked list in each worker's memory only (a
 * restarted worker runs a task revoked before, see WIRE_FORMAT.md section 4); Radish also writes it to a sorted set,
 * `radish.revoked`, scored by expiry, which every Radish worker loads when it starts. The worker asks `has()` for
 * every message, so that answers from memory; Redis is written only when something is revoked.
 */
import type Redis from 'ioredis';
import type { Keys } from './keys';

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

  constructor(private readonly redis: Redis, private readonly keys: Keys, options: RevokedStoreOptions = {}) {
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
    const members = list.flatMap((id) => [expires / 1000, id]);
    await this.redis.multi()
      .zadd(this.keys.revoked, ...members)
      .zremrangebyscore(this.keys.revoked, '-inf', now / 1000)
      // Past the cap, the ids closest to expiry go (lowest scores), as Celery's LimitedSet drops its oldest.
      .zremrangebyrank(this.keys.revoked, 0, -(this.maxSize + 1))
      .exec();
  }

  /**
   * Read the live revoked ids from Redis (deleting expired ones), make them this process's set, and return them.
   * A worker calls it when it starts, and again after a Redis outage (a revoke broadcast meanwhile was missed).
   */
  async load(): Promise<string[]> {
    const now = this.now() / 1000;
    const replies = await this.redis.multi()
      .zremrangebyscore(this.keys.revoked, '-inf', now)
      .zrangebyscore(this.keys.revoked, `(${now}`, '+inf', 'WITHSCORES')
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
