/**
 * kombu-compatible Redis transport: publish, reserve (pop + unacked record), ack, dead-letter, restore,
 * purge and queue depths. A Celery worker and a Radish worker can share every key this class touches.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { markRedelivered, clampPriority, envelopeSentAt } from '../protocol/message';
import { connect, type ConnectOptions } from './connection';
import { ConsumerCount } from './consumer-count';
import { encodeDeadLetter } from './dead-letter';
import { Keys, PRIORITY_STEPS } from './keys';
import { RedisFanout } from './redis-fanout';
import { scripts } from './scripts';
import type { Broker, BrokerConnectionInfo, BrokerOptions, Fanout, DeadLetterRecord, Delivery, HeldMessage, QueueDepth, QueueStats, RecoveringWorker } from './transport';
import { Utf8Packer } from './utf8-packer';

/** A task that ran, as {@link RedisBroker.finish} ends it. */
export interface FinishedTask {
  taskId: string;
  /** Its delivery tag, or '' when it was acked already (early ack). */
  tag: string;
  /** Its encoded result (`encodeResult`), or '' when none is stored (ignore_result). */
  result: string;
}

const DEFAULTS = { visibilityTimeout: 3600, deadLetterMax: 10_000 };

/** A connection that waits for messages on one list: its client id (for CLIENT UNBLOCK) and its pending wait. */
interface Waiter {
  redis: Redis;
  id?: number;
  pending?: Promise<unknown>;
}

export class RedisBroker implements Broker {
  readonly transport = 'redis';
  readonly keys: Keys;
  readonly visibilityTimeout: number;
  readonly deadLetterMax: number;
  /** One waiting connection per list waited on (each consumed queue's default-priority list). */
  private readonly waiters = new Map<string, Waiter>();
  private readonly declared = new Set<string>();
  private closed = false;
  private interrupted = false;
  /** The workers consuming through this broker: the last one to stop ends the waits (see {@link interrupt}). */
  private readonly consumers = new ConsumerCount();

  readonly fanout: Fanout;

  private constructor(readonly redis: Redis, readonly config: BrokerOptions, private readonly connectOptions: ConnectOptions) {
    this.keys = new Keys(config.keyPrefix ?? '', redis.options.db ?? 0);
    this.fanout = new RedisFanout(redis, this.keys, config);
    this.visibilityTimeout = config.visibilityTimeout ?? DEFAULTS.visibilityTimeout;
    this.deadLetterMax = config.deadLetterMax ?? DEFAULTS.deadLetterMax;
  }

  static async connect(config: BrokerOptions = {}, options: ConnectOptions = {}): Promise<RedisBroker> {
    const redis = await connect(config, { name: 'radish', ...options });
    return new RedisBroker(redis, config, options);
  }

  /**
   * Declare a queue the way kombu does before its first publish (its binding in `_kombu.binding.<queue>`),
   * once per process, so Celery tools that list bindings see it.
   */
  private declare(queue: string): void {
    if (this.declared.has(queue)) return;
    this.declared.add(queue);
    void this.redis.sadd(this.keys.binding(queue), Keys.bindingMember(queue)).catch(() => this.declared.delete(queue));
  }

  /** LPUSH a message to its queue's priority list. */
  async publish(queue: string, priority: number, message: string): Promise<void> {
    this.declare(queue);
    await this.redis.lpush(this.keys.queue(queue, clampPriority(priority)), message);
  }

  /**
   * Publish many messages in one round-trip: one multi-value LPUSH per list, which keeps their order (the first
   * given is the first consumed) and costs far less than one LPUSH each. A message is its text or its UTF-8 bytes
   * (see {@link Utf8Packer}, which strings are packed with here too).
   */
  async publishMany(items: readonly { queue: string; priority: number; message: string | Buffer }[]): Promise<void> {
    const byKey = new Map<string, Buffer[]>();
    let packer: Utf8Packer | undefined;
    for (const { queue, priority, message } of items) {
      this.declare(queue);
      const key = this.keys.queue(queue, clampPriority(priority));
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push(typeof message === 'string' ? (packer ??= new Utf8Packer()).add(message) : message);
    }
    await Promise.all([...byKey].map(([key, messages]) => this.redis.lpush(key, ...messages)));
  }

  private reserveArgs(queues: readonly string[], max: number, worker: string, popped?: { key: string; message: string }) {
    const queueKeys = this.keys.consumeOrder(queues);
    const names = queueKeys.map((k) => this.keys.queueName(k));
    const poppedIndex = popped ? queueKeys.indexOf(popped.key) + 1 : 0;
    const keys = [this.keys.unacked, this.keys.unackedIndex, this.keys.deadLetter, this.keys.owners, ...queueKeys];
    const args = [Date.now() / 1000, max, worker, this.deadLetterMax, popped?.message ?? '', poppedIndex, ...names];
    return { keys, args, names };
  }

  /**
   * The reserve script's reply, read as bytes: UTF-8 is checked here, where it costs a fraction of a microsecond per
   * message (in the script it was the largest part of a reserve's cost).
   */
  private static deliveries(reply: (Buffer | number)[], names: string[]): Delivery[] {
    const out: Delivery[] = [];
    for (let i = 0; i < reply.length; i += 3) {
      const bytes = reply[i + 2] as Buffer;
      const delivery: Delivery = { queue: names[Number(reply[i]) - 1] ?? '', tag: String(reply[i + 1]), raw: bytes.toString() };
      if (!isUtf8(bytes)) delivery.bytes = bytes;
      out.push(delivery);
    }
    return out;
  }

  /** Take up to `max` waiting messages without blocking, highest priority first, recorded as unacked. */
  async reserve(queues: readonly string[], max: number, worker: string): Promise<Delivery[]> {
    const { keys, args, names } = this.reserveArgs(queues, max, worker);
    // A worker's waiting connection, when it is not waiting, sends the reserve at once: on the shared connection it
    // would wait behind the results and acks in flight (the client sends one pipeline at a time).
    const waiter = queues.length === 1 ? this.waiters.get(this.keys.queue(queues[0]!, 0)) : undefined;
    const redis = waiter && !waiter.pending && waiter.redis.status === 'ready' ? waiter.redis : this.redis;
    return RedisBroker.deliveries(await scripts.reserve.runBuffer(redis, keys, args), names);
  }

  /**
   * Wait up to 100 ms for a message, then reserve up to `max` in kombu's order (the atomic reserve script). Returns
   * [] when nothing came, or at once after `interrupt()`.
   *
   * It waits without taking: BLMOVE of each queue's default-priority list onto itself (tail to tail) returns once a
   * message is there and leaves it in place, so a reply lost on the way (Redis stopping in that very turn, or this
   * process dying) loses nothing, where kombu's BRPOP would have taken it. BLMOVE waits on one list, so each queue's
   * list has a connection of its own; the other priority lists are checked every 100 ms by the caller's loop.
   */
  async waitAndReserve(queues: readonly string[], max: number, worker: string): Promise<Delivery[]> {
    if (this.interrupted) return [];
    if (queues.length === 1) return this.waitThenReserve(queues[0]!, max, worker);
    const waits = await Promise.all(queues.map((q) => this.waitOn(this.keys.queue(q, 0))));
    await Promise.race(waits);
    if (this.interrupted) return [];
    return this.reserve(queues, max, worker);
  }

  /**
   * One queue: the reserve script is sent right behind the BLMOVE on the waiting connection, so Redis runs it the
   * moment the wait ends, without a round-trip to this process in between (an idle worker's enqueue-to-start is one
   * hop shorter). A reserve that runs after `interrupt()` still returns what it took: the caller gives back whatever
   * arrives once it is stopping, as it does for any reply that comes late.
   */
  private async waitThenReserve(queue: string, max: number, worker: string): Promise<Delivery[]> {
    const key = this.keys.queue(queue, 0);
    const waiter = await this.waiter(key);
    // A wait left by an earlier multi-queue call goes first; this one queues behind it on the same connection.
    const wait = waiter.redis.blmove(key, key, 'RIGHT', 'RIGHT', 0.1);
    const tracked = wait.finally(() => { if (waiter.pending === tracked) waiter.pending = undefined; });
    waiter.pending = tracked;
    const { keys, args, names } = this.reserveArgs([queue], max, worker);
    const reserved = scripts.reserve.runBuffer<(Buffer | number)[]>(waiter.redis, keys, args);
    // Both replies come back together; a failed wait (connection lost) fails the reserve too, which the caller retries.
    const [, reply] = await Promise.all([tracked, reserved]);
    return RedisBroker.deliveries(reply, names);
  }

  /** Nothing to stop: each reserve names its queues, and a wait left on this queue's list takes nothing. */
  async stopConsuming(_queue: string): Promise<void> {}

  /** The pending wait on one list, started when none is (a wait outliving one call serves the next). */
  private async waitOn(key: string): Promise<unknown> {
    const w = await this.waiter(key);
    w.pending ??= w.redis.blmove(key, key, 'RIGHT', 'RIGHT', 0.1).finally(() => { w.pending = undefined; });
    return w.pending;
  }

  /** The connection that waits on one list (made on first use). */
  private async waiter(key: string): Promise<Waiter> {
    let waiter = this.waiters.get(key);
    if (!waiter) {
      const redis = await connect(this.config, { ...this.connectOptions, name: 'radish-consumer', autoPipelining: false });
      const created: Waiter = { redis };
      const learnId = async () => { created.id = Number(await redis.client('ID')); };
      redis.on('ready', () => void learnId().catch(() => undefined));
      await learnId();
      if (this.closed) redis.disconnect();
      // Another call may have made one meanwhile: keep the first, so each list has one waiting connection.
      const raced = this.waiters.get(key);
      if (raced) {
        redis.disconnect();
        return raced;
      }
      this.waiters.set(key, (waiter = created));
    }
    return waiter;
  }

  /**
   * A worker stopping. When it is the last one consuming here (another worker on the same app may still be), end
   * waiting for good: a pending `waitAndReserve` returns [] at once (CLIENT UNBLOCK), and later ones return [] without
   * waiting. With Redis unreachable there is nothing to unblock; the pending wait then returns [] whenever its command
   * comes back. While others consume, the stopping worker's own wait ends by itself within 100 ms.
   */
  async interrupt(): Promise<void> {
    if (!this.consumers.leave()) return;
    this.interrupted = true;
    if (this.closed || this.redis.status !== 'ready') return;
    await Promise.all([...this.waiters.values()].map((w) => (w.id === undefined ? undefined : this.redis.client('UNBLOCK', w.id))));
  }

  resume(): void {
    this.consumers.join();
    this.interrupted = false;
  }

  /** The Redis server's version, as [major, minor]. */
  async serverVersion(): Promise<[number, number]> {
    const info = await this.redis.info('server');
    const [major = 0, minor = 0] = (/redis_version:(\d+)\.(\d+)/.exec(info) ?? []).slice(1).map(Number);
    return [major, minor];
  }

  /** Commands issued while the connection is down wait in the client's offline queue and go out once it is back. */
  watch(listener: (change: 'lost' | 'restored', reason?: string) => void): void {
    let lost = false;
    this.redis.on('close', () => {
      if (lost) return;
      lost = true;
      listener('lost', 'connection closed');
    });
    this.redis.on('ready', () => {
      if (!lost) return;
      lost = false;
      listener('restored');
    });
  }

  connectionInfo(): BrokerConnectionInfo {
    const o = this.redis.options;
    return {
      hostname: o.host ?? null, userid: o.username || null, virtual_host: String(o.db ?? 0), port: o.port ?? null,
      ssl: Boolean(o.tls), transport: 'redis', transport_options: { visibility_timeout: this.visibilityTimeout }, heartbeat: null,
    };
  }

  /** A worker needs Redis 6.2 (BLMOVE, ZMSCORE). */
  async checkServer(): Promise<void> {
    const [major, minor] = await this.serverVersion();
    if (major < 6 || (major === 6 && minor < 2)) {
      throw new Error(`Redis ${major}.${minor} is too old for a Radish worker: it needs Redis 6.2 or newer (BLMOVE, ZMSCORE)`);
    }
  }

  /** Redis bounds nothing per consumer: the worker's own count is the prefetch. */
  setPrefetch(_count: number): void {}
  holdOutsidePrefetch(_delta: number): void {}

  /**
   * Acknowledge: forget the message as unacked (it has been handled). Two plain commands rather than kombu's
   * MULTI: they ride the auto-pipeline with everything else (a MULTI is written on its own, which costs a quarter
   * of a worker's CPU at full drain), and restore already copes with an index entry whose hash entry is gone.
   */
  async ack(tag: string): Promise<void> {
    await Promise.all([
      this.redis.zrem(this.keys.unackedIndex, tag), this.redis.hdel(this.keys.unacked, tag), this.redis.hdel(this.keys.owners, tag),
    ]);
  }

  /**
   * End tasks that ran, in one atomic step for the whole batch: store each result given (as the result backend's
   * store does: SETEX + PUBLISH, never replacing a SUCCESS), then ack each tag given. Only for a result backend on
   * this broker's server. Returns how many results were stored.
   */
  async finish(tasks: readonly FinishedTask[], resultExpires: number): Promise<number> {
    const keys = [this.keys.unacked, this.keys.unackedIndex, this.keys.owners];
    const args: (string | number)[] = [resultExpires];
    for (const t of tasks) {
      if (t.result) keys.push(Keys.result(t.taskId));
      args.push(t.tag, t.result);
    }
    return scripts.finish.run<number>(this.redis, keys, args);
  }

  /**
   * Mark messages still held (waiting for an ETA, a slot, or running) as just delivered in kombu's `unacked_index`
   * (only those still there: XX), so that no consumer's `restore_visible` takes them for lost while they are held.
   */
  async touch(tags: readonly string[]): Promise<void> {
    const now = Date.now() / 1000;
    for (let i = 0; i < tags.length; i += 1000) {
      await this.redis.zadd(this.keys.unackedIndex, 'XX', ...tags.slice(i, i + 1000).flatMap((tag) => [now, tag]));
    }
  }

  /**
   * Move a reserved message to the dead-letter list and ack it, atomically. Returns records dropped to keep the bound.
   * `bytes`: the message's own bytes when they are not UTF-8 ({@link Delivery.bytes}), kept as the record's `raw`.
   */
  async deadLetter(tag: string, record: DeadLetterRecord, bytes?: Buffer): Promise<number> {
    return scripts.deadLetter.run<number>(this.redis, [this.keys.unacked, this.keys.unackedIndex, this.keys.deadLetter, this.keys.owners],
      [tag, encodeDeadLetter(record, bytes), this.deadLetterMax]);
  }

  /**
   * Give back messages this process reserved but will not run (warm shutdown): each goes back to the consuming
   * end of its queue marked redelivered, as kombu's restore does.
   */
  async giveBack(deliveries: readonly HeldMessage[]): Promise<number> {
    let restored = 0;
    for (const d of deliveries) {
      if (!d.tag) continue;
      restored += await this.runRestore(d.tag, this.keys.queue(d.queue, d.priority), markRedelivered(d.raw), '');
    }
    return restored;
  }

  /**
   * kombu's `restore_visible`: under `unacked_mutex`, put back every unacked message older than the visibility
   * timeout. Returns how many were restored (0 when another process holds the mutex).
   */
  async restoreVisible(visibilityTimeout = this.visibilityTimeout): Promise<number> {
    const token = randomUUID();
    const locked = await this.redis.set(this.keys.unackedMutex, token, 'PX', 300_000, 'NX');
    if (locked !== 'OK') return 0;
    let restored = 0;
    try {
      const ceiling = Date.now() / 1000 - visibilityTimeout;
      const tags = await this.redis.zrevrangebyscore(this.keys.unackedIndex, ceiling, 0);
      for (const tag of tags) restored += await this.restoreTag(tag, '(visibility restore)');
    } finally {
      await scripts.releaseLock.run(this.redis, [this.keys.unackedMutex], [token]);
    }
    return restored;
  }

  /**
   * Put back messages recorded in `radish.owners` as held by a worker that does not hold them, without waiting for
   * kombu's visibility timeout: every message of Radish workers that are gone (`isAlive` says no: their presence
   * expired), and those of `self.worker` (the caller) that it does not hold in memory (`self.held`) and whose
   * `unacked_index` score is older than `self.graceSec`: left by an earlier process of the same name that died, or
   * reserved by a script whose reply never arrived (Redis stopped right after running it, and the client resent it).
   * `graceSec: null` takes every one of them whatever its score: for a process that starts, when all its name holds
   * was held by an earlier process of that name (the reserve scores in whole seconds rounded up, so what that
   * process reserved in its last second is scored after now, and no age test would take it).
   * Returns how many were restored, per worker.
   */
  async recover(self: RecoveringWorker, isAlive: (worker: string) => Promise<boolean>): Promise<Map<string, number>> {
    const owners = await this.redis.hgetall(this.keys.owners);
    const byWorker = new Map<string, string[]>();
    for (const [tag, worker] of Object.entries(owners)) {
      let tags = byWorker.get(worker);
      if (!tags) byWorker.set(worker, (tags = []));
      tags.push(tag);
    }
    const recovered = new Map<string, number>();
    for (const [worker, tags] of byWorker) {
      let restore = tags;
      if (worker === self.worker) {
        const strays = tags.filter((tag) => !self.held.has(tag));
        restore = strays;
        if (self.graceSec !== null && strays.length) {
          const ceiling = Date.now() / 1000 - self.graceSec;
          const scores = await this.redis.zmscore(this.keys.unackedIndex, ...strays);
          restore = strays.filter((_, i) => scores[i] === null || Number(scores[i]) <= ceiling);
        }
      } else if (await isAlive(worker)) {
        continue;
      }
      let restored = 0;
      for (const tag of restore) restored += await this.restoreTag(tag, self.worker);
      if (restored) recovered.set(worker, restored);
    }
    return recovered;
  }

  /**
   * Put one unacked message back where it came from, unless someone acked or restored it meanwhile. An entry that
   * is not JSON (a message the reserve script recorded by its tail, whose worker died before it checked the rest)
   * goes to the dead-letter list, as its worker would have sent it: kombu's restore would fail on it. A tag whose
   * entry is gone, or whose entry kombu could not restore either, loses its Radish bookkeeping (that entry stays
   * for a human, as kombu leaves it). Returns 1 when restored.
   * `worker`: who recovers it (named in a dead-letter record).
   */
  private async restoreTag(tag: string, worker: string): Promise<number> {
    // Read once as bytes: a dead-letter record keeps them as they are; the restore compares the entry's text.
    const bytes = await this.redis.hgetBuffer(this.keys.unacked, tag);
    const entry = bytes === null ? null : bytes.toString();
    let parsed: unknown;
    if (bytes !== null) {
      try {
        parsed = JSON.parse(entry!);
      } catch {
        await this.deadLetterEntry(tag, bytes, worker);
        return 0;
      }
    }
    const target = entry === null ? undefined : await this.restoreTarget(parsed);
    if (entry === null || !target) {
      await Promise.all([
        entry === null ? this.redis.zrem(this.keys.unackedIndex, tag) : undefined,
        this.redis.hdel(this.keys.owners, tag),
      ]);
      return 0;
    }
    return this.runRestore(tag, target.key, target.message, entry);
  }

  /**
   * Dead-letter an `unacked` entry that is not JSON, with its message's own bytes (the entry less kombu's wrapping
   * `[` and `, "exchange", "routing_key"]`, when it has them) and the queue named in that wrapping.
   */
  private async deadLetterEntry(tag: string, bytes: Buffer, worker: string): Promise<void> {
    const text = bytes.toString('latin1');
    const wrap = /^\[([\s\S]*), "((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"\]$/.exec(text);
    const raw = wrap ? Buffer.from(wrap[1]!, 'latin1') : bytes;
    const record: DeadLetterRecord = {
      reason: 'message is not valid JSON (dead-lettered by recovery: the worker that reserved it stopped before it checked it)',
      queue: wrap?.[3] ?? '', worker, time: Date.now() / 1000, raw: raw.toString(),
    };
    await this.deadLetter(tag, record, isUtf8(raw) ? undefined : raw);
  }

  /** The restore script: `expected` is the `unacked` value read before, or '' to skip that check (own messages). */
  private runRestore(tag: string, destination: string, message: string, expected: string): Promise<number> {
    return scripts.restore.run<number>(this.redis, [this.keys.unacked, this.keys.unackedIndex, destination, this.keys.owners],
      [tag, message, expected]);
  }

  /**
   * Where a parsed `unacked` entry `[message, exchange, routing_key]` goes back to, and in what form; undefined for
   * one of another shape (kombu cannot restore it either: left for a human, `radish inspect`).
   */
  private async restoreTarget(parsed: unknown): Promise<{ key: string; message: string } | undefined> {
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'object') return undefined;
    const [message, exchange, routingKey] = parsed as [Record<string, unknown>, string, string];
    const properties = (message.properties ?? {}) as Record<string, unknown>;
    const priority = clampPriority(properties.priority);
    const queue = exchange ? await this.lookupBinding(exchange, routingKey) : routingKey;
    if (!queue) return undefined;
    return { key: this.keys.queue(queue, priority), message: markRedelivered(JSON.stringify(message)) };
  }

  /** The queue an exchange + routing key delivers to, from kombu's binding set (direct routing). */
  private async lookupBinding(exchange: string, routingKey: string): Promise<string | undefined> {
    const members = await this.redis.smembers(this.keys.binding(exchange));
    for (const member of members) {
      const parts = Keys.bindingParts(member);
      if (parts && (parts.routingKey === routingKey || parts.routingKey === '')) return parts.queue;
    }
    return routingKey || undefined;
  }

  /** Delete every waiting message of a queue (all priorities). Returns how many were removed. */
  async purge(queue: string): Promise<number> {
    return scripts.purge.run<number>(this.redis, this.keys.queueSteps(queue), []);
  }

  /** Depth of each queue per priority step, in one pipelined round-trip (never reads the messages). */
  async depths(queues: readonly string[]): Promise<QueueDepth[]> {
    const pipeline = this.redis.pipeline();
    for (const q of queues) for (const key of this.keys.queueSteps(q)) pipeline.llen(key);
    const replies = (await pipeline.exec()) ?? [];
    return queues.map((queue, qi) => {
      const byPriority: Record<number, number> = {};
      let total = 0;
      PRIORITY_STEPS.forEach((step, si) => {
        const n = Number(replies[qi * PRIORITY_STEPS.length + si]?.[1] ?? 0);
        byPriority[step] = n;
        total += n;
      });
      return { queue, total, byPriority };
    });
  }

  /**
   * Depth and oldest send time per queue in one pipelined round trip: LLEN of every priority list, and LINDEX -1 of
   * each, the message BRPOP takes next, so the oldest of its list (kombu LPUSHes new messages and RPUSHes restored
   * ones). The oldest of the queue is the earliest of those heads; unknown when a non-empty list's head has no stamp
   * (a Celery message: it may be the oldest).
   */
  async queueStats(queues: readonly string[]): Promise<QueueStats[]> {
    const pipeline = this.redis.pipeline();
    for (const q of queues) for (const key of this.keys.queueSteps(q)) pipeline.llen(key).lindex(key, -1);
    const replies = (await pipeline.exec()) ?? [];
    return queues.map((queue, qi) => {
      let depth = 0;
      let oldest: number | undefined;
      let unknown = false;
      PRIORITY_STEPS.forEach((_step, si) => {
        const at = (qi * PRIORITY_STEPS.length + si) * 2;
        const n = Number(replies[at]?.[1] ?? 0);
        const head = replies[at + 1]?.[1];
        depth += n;
        if (n === 0 || typeof head !== 'string') return;
        const sent = envelopeSentAt(head);
        if (sent === null) unknown = true;
        else if (oldest === undefined || sent < oldest) oldest = sent;
      });
      return unknown || oldest === undefined ? { queue, depth } : { queue, depth, oldestSentAt: oldest };
    });
  }

  /**
   * Queues declared in Redis (kombu binding sets of the anonymous exchange), sorted. Round-trips do not grow with
   * the number of queues: SCAN (one page on a small keyspace; pages of 5,000 keys, so a keyspace full of results
   * costs few), then the members of every binding set in one pipeline.
   */
  async declaredQueues(): Promise<string[]> {
    const bindings: string[] = [];
    const prefix = this.keys.binding('');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.bindingPattern, 'COUNT', 5000);
      cursor = next;
      for (const key of keys) {
        const exchange = key.slice(prefix.length);
        // Internal exchanges (events, remote control, their replies) are not task queues.
        if (Keys.isTaskExchange(exchange)) bindings.push(key);
      }
    } while (cursor !== '0');
    if (bindings.length === 0) return [];
    // SCAN may return a key twice (a rehash between pages): asking twice is harmless, the Set dedupes queues.
    const pipeline = this.redis.pipeline();
    for (const key of bindings) pipeline.smembers(key);
    const found = new Set<string>();
    for (const [err, members] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      for (const member of members as string[]) {
        const queue = Keys.bindingParts(member)?.queue;
        if (queue) found.add(queue);
      }
    }
    return [...found].sort();
  }

  /**
   * A page of waiting messages of one queue, in the order workers will take them (priority 0 first, oldest
   * first). Reads only the page (LLEN per priority list, then LRANGE of the slices that fall in it).
   */
  async peek(queue: string, offset: number, limit: number): Promise<{ raw: string; priority: number }[]> {
    const keys = this.keys.queueSteps(queue);
    const lengths = await this.lengths(keys);
    const page: { raw: string; priority: number }[] = [];
    let start = offset;
    for (let i = 0; i < keys.length && page.length < limit; i++) {
      const len = lengths[i] ?? 0;
      if (start >= len) {
        start -= len;
        continue;
      }
      const take = Math.min(len - start, limit - page.length);
      // Workers pop from the right, so "first to run" is the last index.
      const items = await this.redis.lrange(keys[i]!, len - start - take, len - start - 1);
      for (const raw of items.reverse()) page.push({ raw, priority: PRIORITY_STEPS[i]! });
      start = 0;
    }
    return page;
  }

  private async lengths(keys: readonly string[]): Promise<number[]> {
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.llen(key);
    return ((await pipeline.exec()) ?? []).map(([, n]) => Number(n ?? 0));
  }

  /** A page of dead-letter records (newest first), exactly as stored. */
  deadLetters(offset: number, limit: number): Promise<string[]> {
    return this.redis.lrange(this.keys.deadLetter, offset, offset + limit - 1);
  }

  deadLetterCount(): Promise<number> {
    return this.redis.llen(this.keys.deadLetter);
  }

  /** Publish `message` again and remove `record` from the dead-letter list, atomically. False if the record is gone. */
  async replayDeadLetter(record: string, queue: string, priority: number, message: string): Promise<boolean> {
    this.declare(queue);
    const done = await scripts.replay.run<number>(this.redis, [this.keys.deadLetter, this.keys.queue(queue, clampPriority(priority))], [record, message]);
    return done === 1;
  }

  /** Remove one record. False if it was already gone. */
  async discardDeadLetter(record: string): Promise<boolean> {
    return (await this.redis.lrem(this.keys.deadLetter, 1, record)) === 1;
  }

  /** Remove every dead-letter record; returns how many there were. */
  async purgeDeadLetters(): Promise<number> {
    const [[, count] = [null, 0]] = (await this.redis.multi().llen(this.keys.deadLetter).del(this.keys.deadLetter).exec()) ?? [];
    return Number(count);
  }

  /** The node names in kombu's pidbox binding set: every live Celery (or Radish) worker that answers remote control. */
  async pidboxNodes(): Promise<string[]> {
    const nodes: string[] = [];
    for (const member of await this.redis.smembers(this.keys.pidboxBinding)) {
      const node = Keys.pidboxNode(member);
      if (node) nodes.push(node);
    }
    return nodes;
  }

  /** Messages currently unacked (reserved by some consumer and not yet acked). */
  async unackedCount(): Promise<number | null> {
    return this.redis.hlen(this.keys.unacked);
  }

  /** Close both connections; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fanout.close();
    for (const w of this.waiters.values()) w.redis.disconnect();
    this.waiters.clear();
    // QUIT would wait in the offline queue for a server that is down: then just drop the socket.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}
