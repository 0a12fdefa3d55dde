/**
 * Celery's Redis result backend: `celery-task-meta-<id>` values written with SETEX and announced with PUBLISH on
 * the channel of the same name. Waiting for a result subscribes to that channel; it never polls.
 *
 * `ResultBackend` names two things, as before the rpc backend came: the type is the contract every result backend
 * implements ({@link ResultStore}), the value is this class (`ResultBackend.connect()`, `new ResultBackend(redis)`).
 */
import type Redis from 'ioredis';
import { Keys } from '../broker/keys';
import { connect, type ConnectionConfig } from '../broker/connection';
import { scripts } from '../broker/scripts';
import { dateDoneOf, decodeResult, encodeResult, READY_STATES, type ResultInput, type ResultMeta } from '../protocol/result';
import { GroupStore } from './groups';
import { resultDeadline, type ResultDestination, type ResultStore } from './result-store';

export { ResultTimeoutError } from './result-store';

export interface BackendOptions extends ConnectionConfig {
  /**
   * `redis://...` (also `rediss://`, `sentinel://`) for Celery's Redis backend, or `rpc://` for Celery's rpc backend,
   * which sends each result as a message to the client that sent the task (it needs an AMQP broker).
   */
  url?: string;
  /**
   * Seconds a result is kept (Celery's `result_expires`). Default 86,400 (one day); 0 keeps it for ever. With rpc://,
   * how long the client's reply queue lives unused (its `x-expires`).
   */
  resultExpires?: number;
  /**
   * rpc:// only: send results as persistent messages (delivery mode 2), as Celery's `result_persistent`. Default
   * false (delivery mode 1). The reply queue is not durable either way, as Celery declares it.
   */
  resultPersistent?: boolean;
}

interface Waiter {
  resolve(meta: ResultMeta): void;
}

/** The waits on one result channel, and their shared SUBSCRIBE. */
interface Channel {
  waiters: Set<Waiter>;
  /** Settles when Redis has answered the SUBSCRIBE (rejects when it could not be sent). */
  subscribed: Promise<void>;
}

export class RedisResultBackend implements ResultStore {
  readonly kind = 'redis';
  readonly supportsChords = true;
  readonly resultExpires: number;
  /** Saved groups and chord keys (`celery-taskset-meta-*`), kept as long as results. */
  readonly groups: GroupStore;
  private subscriber: Redis | undefined;
  private subscribing: Promise<Redis> | undefined;
  private readonly channels = new Map<string, Channel>();
  private closed = false;

  /** @param redis command connection (may be shared with the broker when both use the same server). */
  constructor(readonly redis: Redis, readonly config: BackendOptions, private readonly ownsConnection = false) {
    this.resultExpires = config.resultExpires ?? 86_400;
    this.groups = new GroupStore(redis, this.resultExpires);
  }

  static async connect(config: BackendOptions): Promise<RedisResultBackend> {
    return new RedisResultBackend(await connect(config, { name: 'radish-backend' }), config, true);
  }

  /** Nothing to prepare: results are stored by task id, for whoever reads them. */
  async beforeSend(): Promise<void> {}

  /** Store a state change (never replacing a stored SUCCESS). Resolves true when written. `_to` is for rpc://. */
  store(input: ResultInput, _to?: ResultDestination): Promise<boolean> {
    return this.storeEncoded(input.taskId, encodeResult(input));
  }

  /** Store a value already encoded with `encodeResult` (so encoding errors surface before anything is written). */
  async storeEncoded(taskId: string, json: string, _to?: ResultDestination): Promise<boolean> {
    const stored = await scripts.storeResult.run<number>(this.redis, [Keys.result(taskId)], [json, this.resultExpires]);
    return stored === 1;
  }

  /** The stored meta, or null when nothing is stored (Celery calls that PENDING). */
  async get(taskId: string): Promise<ResultMeta | null> {
    const raw = await this.redis.get(Keys.result(taskId));
    return raw === null ? null : decodeResult(raw);
  }

  /** The stored metas of many tasks in one round-trip (MGET), null where nothing is stored, in the order given. */
  async getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]> {
    if (taskIds.length === 0) return [];
    const raws = await this.redis.mget(...taskIds.map((id) => Keys.result(id)));
    return raws.map((raw) => (raw === null ? null : decodeResult(raw)));
  }

  /**
   * FAILURE results stored (e.g. of Celery workers, whose failures never reach the dead-letter list), newest first.
   * Scans at most `scanBudget` keys, so a huge keyspace costs a bounded read.
   */
  async failures(limit = 200, scanBudget = 20_000): Promise<ResultMeta[]> {
    const failed: ResultMeta[] = [];
    let cursor = '0';
    let scanned = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', Keys.resultPattern, 'COUNT', 1000);
      cursor = next;
      scanned += keys.length;
      for (const raw of keys.length ? await this.redis.mget(...keys) : []) {
        if (!raw || !raw.includes('"FAILURE"')) continue;
        try {
          const meta = decodeResult(raw);
          if (meta.status === 'FAILURE') failed.push(meta);
        } catch {
          // not a result we can read: leave it
        }
      }
    } while (cursor !== '0' && scanned < scanBudget);
    // By time, not by text: Celery 5.2 writes date_done naive, 5.3+ with its offset, and a fleet may hold both.
    const time = (meta: ResultMeta): number => dateDoneOf(meta)?.getTime() ?? -Infinity;
    return failed.map((meta) => ({ meta, at: time(meta) })).sort((a, b) => b.at - a.at).slice(0, limit).map(({ meta }) => meta);
  }

  /** Delete a stored result. */
  async forget(taskId: string): Promise<void> {
    await this.redis.del(Keys.result(taskId));
  }

  private async subscriberConnection(): Promise<Redis> {
    if (this.subscriber) return this.subscriber;
    this.subscribing ??= (async () => {
      const sub = await connect(this.config, { name: 'radish-results', autoPipelining: false });
      sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.deliver(channel.toString(), message.toString()));
      // Results published while the connection was down were missed: read them once it is back.
      sub.on('ready', () => void this.recheckAll());
      this.subscriber = sub;
      return sub;
    })();
    return this.subscribing;
  }

  private deliver(channel: string, raw: string): void {
    let meta: ResultMeta;
    try {
      meta = decodeResult(raw);
    } catch {
      return; // not a result we can read; the waiter keeps waiting for a good one (or its timeout)
    }
    if (!READY_STATES.has(meta.status)) return;
    const waiters = this.channels.get(channel)?.waiters;
    if (!waiters) return;
    for (const w of waiters) w.resolve(meta);
  }

  private async recheckAll(): Promise<void> {
    for (const channel of this.channels.keys()) {
      const raw = await this.redis.get(channel).catch(() => null);
      if (raw !== null) this.deliver(channel, raw);
    }
  }

  /**
   * Wait until the task's result is ready (SUCCESS, FAILURE or REVOKED) and return its meta, or reject with a
   * ResultTimeoutError after `timeoutMs`. Subscribes first, then reads the key, so a result stored before or while
   * subscribing is not missed. Waits on one task share one SUBSCRIBE, and each of them reads the key only once
   * Redis has answered it: Redis orders commands per connection only, so a GET sent on the command connection after
   * the SUBSCRIBE was sent on the subscriber's can still run before it, and a result stored between the two would
   * be neither read nor heard (the VS Code extension waits twice on every task it sends: its announcement and the
   * caller).
   */
  async waitFor(taskId: string, timeoutMs: number): Promise<ResultMeta> {
    if (this.closed) throw new Error('result backend is closed');
    const key = Keys.result(taskId);
    const sub = await this.subscriberConnection();
    let waiter!: Waiter;
    const settled = new Promise<ResultMeta>((resolve) => { waiter = { resolve }; });
    let channel = this.channels.get(key);
    if (!channel) {
      const created: Channel = {
        waiters: new Set(),
        subscribed: sub.subscribe(key).then(() => undefined, (err: unknown) => {
          // Not subscribed: the next wait on this task subscribes afresh instead of joining a subscription that is not there.
          if (this.channels.get(key) === created) this.channels.delete(key);
          throw err;
        }),
      };
      this.channels.set(key, (channel = created));
    }
    channel.waiters.add(waiter);
    const { within, clear } = resultDeadline(taskId, timeoutMs);
    try {
      await within(channel.subscribed);
      const current = await within(this.get(taskId));
      if (current && READY_STATES.has(current.status)) return current;
      return await within(settled);
    } finally {
      clear();
      channel.waiters.delete(waiter);
      if (channel.waiters.size === 0 && this.channels.get(key) === channel) {
        this.channels.delete(key);
        void sub.unsubscribe(key).catch(() => undefined);
      }
    }
  }

  /** Close the subscriber (and the command connection if this backend opened it). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sub = this.subscriber ?? (this.subscribing ? await this.subscribing.catch(() => undefined) : undefined);
    sub?.disconnect();
    if (this.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** The result backend contract (the type), and the Redis backend (the value), as `ResultBackend` always named them. */
export type ResultBackend = ResultStore;
export const ResultBackend = RedisResultBackend;
