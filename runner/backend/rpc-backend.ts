/**
 * Celery's `rpc://` result backend, on the AMQP broker's own connection: a result is not stored anywhere, it is a
 * message sent to the client that sent the task.
 *
 * - The client's reply queue is named by its app's oid, the `reply_to` of every task it sends: not durable, not
 *   exclusive, auto-deleted, `x-expires` = `result_expires`, bound to no exchange (only the default one). The client
 *   declares it before sending a task whose result it wants, and consumes it with no-ack from its first wait on.
 * - A worker publishes each state change (STARTED with track_started, RETRY, SUCCESS, FAILURE, REVOKED) to the default
 *   exchange with the task's `reply_to` as routing key and its `correlation_id` (the task id): a JSON body
 *   `{task_id, status, result, traceback, children}`, an empty headers table, delivery mode 1 (2 with
 *   `resultPersistent`). It never declares the queue; a task without `reply_to` gets no result.
 * - The client matches results to tasks by correlation id, keeps those nobody waits for yet (the latest state of each,
 *   up to {@link RpcBackendOptions.keep} tasks) for a later `get()`.
 *
 * What it cannot do, as in Celery: a result reaches only the client that sent the task, once. Another client (or this
 * one after a restart, or after {@link forget}) sees such a task as PENDING. Results published while the client's
 * connection is down are lost (the auto-delete queue goes with its consumer). It keeps no groups and runs no chords:
 * those calls reject with a {@link BackendUnsupportedError}. It lists no failures.
 */
import type * as amqp from 'amqplib';
import type { AmqpConnection } from '../broker/amqp/connection';
import { amqpFieldValue } from '../protocol/amqp-envelope';
import { decodeRpcResult, encodeRpcResult, READY_STATES, ResultDecodeError, rpcResultOf, type ResultInput, type ResultMeta } from '../protocol/result';
import { errorMessage } from '../errors';
import { BackendUnsupportedError, resultDeadline, type ResultDestination, type ResultGroups, type ResultStore } from './result-store';

/** Whether a result backend URL names Celery's rpc backend (`rpc://`, or Celery's alias `rpc`). */
export function isRpcBackendUrl(url: string | undefined): boolean {
  return url !== undefined && /^rpc(:\/\/.*)?$/i.test(url.trim());
}

/** Why a chord cannot run on the rpc backend (Celery raises NotImplementedError in the same places). */
export const RPC_NO_CHORDS = 'the rpc:// result backend cannot run chords: it keeps no results for the callback to join '
  + '(a group followed by a task in a chain is a chord too); use a result backend that stores results, such as Redis';

const RPC_NO_GROUPS = 'the rpc:// result backend keeps no groups (GroupResult.save, restoreGroup): a result is a message '
  + 'for the client that sent the task; use a result backend that stores results, such as Redis';

/** How many tasks' results a client keeps when nobody waits for them (Celery keeps 8192). */
const DEFAULT_KEEP = 10_000;

/** The groups of a backend that keeps none: every call rejects, saying why. */
const NO_GROUPS: ResultGroups = {
  setChordSize: () => Promise.reject(new BackendUnsupportedError(RPC_NO_CHORDS)),
  recordPart: () => Promise.reject(new BackendUnsupportedError(RPC_NO_CHORDS)),
  clearChord: () => Promise.reject(new BackendUnsupportedError(RPC_NO_CHORDS)),
  saveGroup: () => Promise.reject(new BackendUnsupportedError(RPC_NO_GROUPS)),
  saveGroupTuple: () => Promise.reject(new BackendUnsupportedError(RPC_NO_CHORDS)),
  restoreGroupTuple: () => Promise.reject(new BackendUnsupportedError(RPC_NO_CHORDS)),
  deleteGroup: () => Promise.reject(new BackendUnsupportedError(RPC_NO_GROUPS)),
  restoreGroup: () => Promise.reject(new BackendUnsupportedError(RPC_NO_GROUPS)),
};

export interface RpcBackendOptions {
  /** The client's reply queue: its app's oid, the `reply_to` of the tasks it sends. */
  replyTo: string;
  /** Seconds the reply queue lives unused (its `x-expires`), Celery's `result_expires`. Default 86,400; 0: no expiry. */
  resultExpires?: number;
  /** Send results with delivery mode 2 (Celery's `result_persistent`). Default false: 1. */
  resultPersistent?: boolean;
  /** How many tasks' results are kept for a later `get()` when nobody waits for them; the oldest go first. Default 10,000. */
  keep?: number;
}

interface Waiter {
  resolve(meta: ResultMeta): void;
  reject(err: Error): void;
}

/** The consumer of the reply queue, on a channel of its own. */
interface Consumer {
  channel: amqp.Channel;
  generation: number;
}

export class RpcBackend implements ResultStore {
  readonly kind = 'rpc';
  readonly supportsChords = false;
  readonly redis = undefined;
  readonly groups: ResultGroups = NO_GROUPS;
  readonly resultExpires: number;
  readonly persistent: boolean;
  /** The reply queue's name (the client app's oid). */
  readonly replyTo: string;
  private readonly keep: number;
  /** The latest state heard of each task (a ready one is never replaced by a later non-ready one), oldest first. */
  private readonly known = new Map<string, ResultMeta>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private consumer: Consumer | undefined;
  private starting: Promise<Consumer> | undefined;
  /** Connection generation the reply queue was last declared in (a reconnection may have lost it). */
  private declaredIn = -1;
  private declaring: Promise<void> | undefined;
  /** Consuming was asked for: start again after a reconnection. */
  private wanted = false;
  private closed = false;

  constructor(readonly connection: AmqpConnection, options: RpcBackendOptions) {
    this.replyTo = options.replyTo;
    this.resultExpires = options.resultExpires ?? 86_400;
    this.persistent = options.resultPersistent ?? false;
    this.keep = Math.max(1, options.keep ?? DEFAULT_KEEP);
    connection.on('restored', this.onRestored);
  }

  private readonly onRestored = (): void => {
    // The auto-delete queue went with the lost connection's consumer: declare it and consume again.
    if (this.wanted && !this.closed) void this.consuming().catch(() => undefined);
  };

  /** The reply queue as Celery declares it. */
  private get queueOptions(): amqp.Options.AssertQueue {
    const expires = Math.round(this.resultExpires * 1000);
    return {
      durable: false, exclusive: false, autoDelete: true,
      // Typed int32 as py-amqp writes it (RabbitMQ compares the types of a redeclaration's arguments).
      arguments: expires > 0 ? { 'x-expires': amqpFieldValue(expires) } : {},
    };
  }

  // -----------------------------------------------------------------------------------------------
  // The worker's side: results as messages

  /** Declares the reply queue once per connection, before a task whose result is wanted goes out (Celery's `on_task_call`). */
  async beforeSend(): Promise<void> {
    if (this.closed) throw new Error('result backend is closed');
    if (this.declaredIn === this.connection.generation) return;
    this.declaring ??= (async () => {
      const generation = this.connection.generation;
      await this.connection.withChannel((ch) => ch.assertQueue(this.replyTo, this.queueOptions));
      this.declaredIn = generation;
    })().finally(() => { this.declaring = undefined; });
    return this.declaring;
  }

  /** Send a state change to the task's reply queue. Resolves false, sending nothing, for a task without `reply_to`. */
  store(input: ResultInput, to?: ResultDestination): Promise<boolean> {
    return this.send(input.taskId, encodeRpcResult(input), to);
  }

  /** {@link store} of a value encoded in the Redis form (`encodeResult`/`encodeSuccess`): its five fields are sent. */
  storeEncoded(taskId: string, json: string, to?: ResultDestination): Promise<boolean> {
    return this.send(taskId, rpcResultOf(json), to);
  }

  private async send(taskId: string, body: string, to: ResultDestination | undefined): Promise<boolean> {
    const replyTo = to?.replyTo;
    if (!replyTo) return false;
    // To the default exchange, never declared by the worker: when the client's queue is gone, RabbitMQ drops it.
    await this.connection.publish('', replyTo, Buffer.from(body, 'utf8'), {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: {},
      deliveryMode: this.persistent ? 2 : 1,
      priority: 0,
      correlationId: to.correlationId || taskId,
    });
    return true;
  }

  // -----------------------------------------------------------------------------------------------
  // The client's side: the reply queue

  /** The consumer of the reply queue, started (queue declared, consume with no-ack) on first use and after reconnections. */
  private consuming(): Promise<Consumer> {
    if (this.closed) return Promise.reject(new Error('result backend is closed'));
    this.wanted = true;
    const c = this.consumer;
    if (c && c.generation === this.connection.generation) return Promise.resolve(c);
    this.starting ??= (async () => {
      const channel = await this.connection.channel();
      const made: Consumer = { channel, generation: this.connection.generation };
      channel.on('close', () => {
        if (this.consumer !== made) return;
        this.consumer = undefined;
        // Lost under a wait (a channel error; a lost connection comes back through `restored`): consume again.
        if (this.waiters.size > 0 && !this.closed && this.connection.connected) void this.consuming().catch(() => undefined);
      });
      try {
        await channel.assertQueue(this.replyTo, this.queueOptions);
        this.declaredIn = made.generation;
        await channel.consume(this.replyTo, (message) => this.arrived(message, made), { noAck: true });
      } catch (err) {
        await channel.close().catch(() => undefined);
        throw err;
      }
      this.consumer = made;
      return made;
    })().finally(() => { this.starting = undefined; });
    return this.starting;
  }

  private arrived(message: amqp.ConsumeMessage | null, from: Consumer): void {
    if (message === null) {
      // Cancelled by the broker (the queue was deleted): declared and consumed again on the next use.
      if (this.consumer === from) this.consumer = undefined;
      void from.channel.close().catch(() => undefined);
      if (this.wanted && !this.closed) void this.consuming().catch(() => undefined);
      return;
    }
    const correlationId = typeof message.properties.correlationId === 'string' ? message.properties.correlationId : undefined;
    let meta: ResultMeta;
    try {
      const type = message.properties.contentType as unknown;
      if (typeof type === 'string' && type !== '' && type !== 'application/json') {
        throw new ResultDecodeError(`result is ${type}, not JSON (the worker's result_serializer must be 'json')`);
      }
      meta = decodeRpcResult(message.content.toString('utf8'), correlationId);
    } catch (err) {
      // Unreadable: whoever waits for it learns why instead of waiting for ever.
      const error = err instanceof Error ? err : new ResultDecodeError(errorMessage(err));
      for (const w of correlationId ? this.waiters.get(correlationId) ?? [] : []) w.reject(new ResultDecodeError(`result of task ${correlationId}: ${error.message}`));
      return;
    }
    this.remember(meta);
    if (!READY_STATES.has(meta.status)) return;
    for (const w of this.waiters.get(meta.task_id) ?? []) w.resolve(meta);
  }

  /** Keep the latest state of a task, a ready one over any later non-ready one (a RETRY overtaken by the retry's SUCCESS). */
  private remember(meta: ResultMeta): void {
    const previous = this.known.get(meta.task_id);
    if (previous && READY_STATES.has(previous.status) && !READY_STATES.has(meta.status)) return;
    this.known.delete(meta.task_id);
    this.known.set(meta.task_id, meta);
    if (this.known.size > this.keep) this.known.delete(this.known.keys().next().value!);
  }

  /**
   * Every result RabbitMQ holds for this client delivered: the consumer started, then a passive declare on its channel
   * until the queue shows nothing ready. RabbitMQ answers it on that channel after the deliveries it pushed before.
   * A client that never sent a task nor waited has no reply queue, so nothing can have come: it declares none.
   */
  private async drained(): Promise<void> {
    if (!this.wanted && this.declaredIn < 0) return;
    const c = await this.consuming();
    for (let i = 0; i < 50; i++) {
      const { messageCount } = await c.channel.checkQueue(this.replyTo);
      if (messageCount === 0) return;
    }
  }

  /**
   * The latest state this client has received for the task (after taking what its reply queue holds), or null:
   * PENDING, as Celery says for a task whose result is another client's, or was already consumed and forgotten.
   */
  async get(taskId: string): Promise<ResultMeta | null> {
    await this.drained();
    return this.known.get(taskId) ?? null;
  }

  async getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]> {
    if (taskIds.length === 0) return [];
    await this.drained();
    return taskIds.map((id) => this.known.get(id) ?? null);
  }

  /**
   * Wait for the task's ready state on the reply queue (it is consumed from the first wait on; results that came
   * earlier are kept). Only the client that sent the task gets its result: another client waits until `timeoutMs`.
   */
  async waitFor(taskId: string, timeoutMs: number): Promise<ResultMeta> {
    if (this.closed) throw new Error('result backend is closed');
    const { within, clear } = resultDeadline(taskId, timeoutMs);
    let waiter: Waiter | undefined;
    try {
      await within(this.consuming());
      const current = this.known.get(taskId);
      if (current && READY_STATES.has(current.status)) return current;
      const settled = new Promise<ResultMeta>((resolve, reject) => { waiter = { resolve, reject }; });
      let set = this.waiters.get(taskId);
      if (!set) this.waiters.set(taskId, (set = new Set()));
      set.add(waiter!);
      return await within(settled);
    } finally {
      clear();
      if (waiter) {
        const set = this.waiters.get(taskId);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(taskId);
      }
    }
  }

  /** Forget this client's copy of the result (nothing is stored anywhere else). */
  async forget(taskId: string): Promise<void> {
    this.known.delete(taskId);
  }

  /** None: the rpc backend keeps no results to list. */
  async failures(): Promise<ResultMeta[]> {
    return [];
  }

  /**
   * Stop consuming the reply queue (RabbitMQ then deletes it, with results still to come) and fail the waits in
   * progress. The connection is the broker's, closed with it. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.off('restored', this.onRestored);
    const c = this.consumer ?? (this.starting ? await this.starting.catch(() => undefined) : undefined);
    this.consumer = undefined;
    await c?.channel.close().catch(() => undefined);
    for (const [taskId, set] of this.waiters) for (const w of set) w.reject(new Error(`result backend closed while waiting for task ${taskId}`));
    this.waiters.clear();
  }
}
