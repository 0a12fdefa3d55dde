/**
 * A worker's presence in Redis: a JSON record under Radish's prefix, refreshed every few seconds with a TTL, so
 * tools (the CLI, the VS Code extension) see which Radish workers are alive and what they run, and a worker that
 * died without a word disappears on its own.
 */
import type Redis from 'ioredis';
import type { Keys } from './keys';

export interface ActiveTask {
  id: string;
  name: string;
  /** Unix seconds. */
  started: number;
  /** The process running it: a process-pool child, or the worker itself with the async pool. Absent until it runs there. */
  pid?: number;
}

export interface WorkerPresence {
  hostname: string;
  /** The machine (os.hostname()), to tell a live process of the same node name from a dead one. */
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  pool: string;
  /** Unix seconds. */
  started: number;
  /** Unix seconds of this record. */
  heartbeat: number;
  active: ActiveTask[];
  /** Names of the tasks this worker can run. */
  tasks: string[];
  processed: number;
  failed: number;
  sw_ident: string;
  sw_ver: string;
}

export class Presence {
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param intervalMs how often the record is rewritten. Default 2000 (Celery's heartbeat frequency).
   * @param ttlSec how long a record outlives its last refresh. Default 15: long enough that a busy event loop is
   *   not mistaken for a dead worker, short enough that a dead one's messages come back within seconds.
   */
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly snapshot: () => Omit<WorkerPresence, 'heartbeat'>,
    private readonly intervalMs = 2000,
    private readonly ttlSec = 15,
  ) {}

  private async write(): Promise<void> {
    const record: WorkerPresence = { ...this.snapshot(), heartbeat: Date.now() / 1000 };
    await this.redis.set(this.keys.worker(record.hostname), JSON.stringify(record), 'EX', this.ttlSec);
  }

  async start(): Promise<void> {
    await this.write();
    // A failed refresh (Redis briefly gone) is retried at the next tick; the record's TTL covers the gap.
    this.timer = setInterval(() => void this.write().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.del(this.keys.worker(this.snapshot().hostname)).catch(() => undefined);
  }
}

/** A worker's presence record, or null when it has none (gone, or never started) or it cannot be read. */
export async function readPresence(redis: Redis, keys: Keys, hostname: string): Promise<WorkerPresence | null> {
  return parsePresence(await redis.get(keys.worker(hostname)));
}

/** Whether a worker's presence record is there (it refreshed it within the TTL). */
export async function isPresent(redis: Redis, keys: Keys, hostname: string): Promise<boolean> {
  return (await redis.exists(keys.worker(hostname))) === 1;
}

/** Every readable presence record (SCAN, then one MGET per page); a record being rewritten or damaged is skipped. */
export async function listPresences(redis: Redis, keys: Keys): Promise<WorkerPresence[]> {
  const found: WorkerPresence[] = [];
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'MATCH', keys.workerPattern, 'COUNT', 200);
    cursor = next;
    for (const raw of page.length ? await redis.mget(...page) : []) {
      const presence = parsePresence(raw);
      if (presence) found.push(presence);
    }
  } while (cursor !== '0');
  return found;
}

function parsePresence(raw: string | null): WorkerPresence | null {
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as WorkerPresence;
  } catch {
    return null;
  }
}
