/**
 * The fleet's paused queues, in the shared store (a hash, `radish.paused_queues`): what `pauseQueue` writes, what a
 * Radish worker reads when it starts and once a second after, and what the cockpit shows. Celery has no such record
 * (its workers only hear `cancel_consumer`), so this is Radish's, under its own prefix.
 */
import { scripts } from './scripts';
import type { SharedStore } from './shared-store';

/** One paused queue as recorded. */
export interface PausedQueue {
  queue: string;
  /** Unix seconds it was first paused. */
  since: number;
  /** Celery nodes told `cancel_consumer` for it (they consumed it): `resume` tells them `add_consumer`. */
  cancelled: string[];
}

/** A record read back; a damaged one (not JSON, wrong shape) still counts as paused, since now, with no nodes. */
function parseRecord(queue: string, raw: string): PausedQueue {
  try {
    const value = JSON.parse(raw) as { since?: unknown; cancelled?: unknown };
    const since = typeof value.since === 'number' ? value.since : 0;
    const cancelled = Array.isArray(value.cancelled) ? value.cancelled.filter((n): n is string => typeof n === 'string') : [];
    return { queue, since, cancelled };
  } catch {
    return { queue, since: 0, cancelled: [] };
  }
}

export class PausedQueues {
  constructor(private readonly store: SharedStore) {}

  /** The paused queue names (one HKEYS: what a worker asks once a second). */
  names(): Promise<string[]> {
    return this.store.redis.hkeys(this.store.keys.pausedQueues);
  }

  /** Every paused queue with its record, sorted by name. */
  async list(): Promise<PausedQueue[]> {
    const all = await this.store.redis.hgetall(this.store.keys.pausedQueues);
    return Object.entries(all).map(([queue, raw]) => parseRecord(queue, raw)).sort((a, b) => a.queue.localeCompare(b.queue));
  }

  /** One queue's record, or null when it is not paused. */
  async get(queue: string): Promise<PausedQueue | null> {
    const raw = await this.store.redis.hget(this.store.keys.pausedQueues, queue);
    return raw === null ? null : parseRecord(queue, raw);
  }

  /** Record `queue` as paused (replacing its record). */
  async set(record: PausedQueue): Promise<void> {
    await this.store.redis.hset(this.store.keys.pausedQueues, record.queue,
      JSON.stringify({ since: record.since, cancelled: record.cancelled }));
  }

  /**
   * Add Celery nodes to a paused queue's `cancelled`, only while it is still paused: false when its record is gone
   * (resumed meanwhile), so that the caller tells those nodes `add_consumer` itself. Compare-and-set, retried, so a
   * resume landing between the read and the write never has its record written back.
   */
  async addCancelled(queue: string, nodes: readonly string[]): Promise<boolean> {
    for (;;) {
      const raw = await this.store.redis.hget(this.store.keys.pausedQueues, queue);
      if (raw === null) return false;
      const record = parseRecord(queue, raw);
      const next = JSON.stringify({ since: record.since, cancelled: [...new Set([...record.cancelled, ...nodes])].sort() });
      const swapped = await scripts.hashSwap.run<number>(this.store.redis, [this.store.keys.pausedQueues], [queue, raw, next]);
      if (swapped === 1) return true;
    }
  }

  /** Forget the pause; returns the record it had, or null when it was not paused. */
  async remove(queue: string): Promise<PausedQueue | null> {
    // Read and deleted in one transaction, so two resumes never both get the record (and its Celery nodes).
    const replies = await this.store.redis.multi()
      .hget(this.store.keys.pausedQueues, queue)
      .hdel(this.store.keys.pausedQueues, queue)
      .exec();
    for (const [err] of replies ?? []) if (err) throw err;
    const raw = replies?.[0]?.[1];
    return typeof raw === 'string' ? parseRecord(queue, raw) : null;
  }
}
