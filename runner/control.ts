/**
 * The client side of Celery's remote control, for the CLI and the VS Code extension: broadcast a command to
 * worker nodes (Radish's and Python Celery's alike) and collect their replies, exactly as kombu's client does: open
 * a reply queue, broadcast the request, take replies until the wait runs out or enough nodes answered, then delete
 * the queue. The broker's {@link Fanout} carries it (a binding set and lists on Redis, exchanges on RabbitMQ).
 *
 *     const control = await Control.forApp(app);
 *     await control.ping();                        // { 'radish@host': { ok: 'pong' }, 'w1@vm': { ok: 'pong' } }
 *     await control.revoke('6f1c...');            // Radish and Celery workers both drop the task
 *     await control.inspect('registered');         // { 'w1@vm': ['tasks.add', ...] }
 *     await control.close();
 */
import { randomUUID } from 'node:crypto';
import type { Radish } from './app';
import { connectBroker } from './broker/connect';
import { REPLY_EXCHANGE } from './broker/keys';
import { sharedStore, type SharedStore } from './broker/shared-store';
import type { Broker, BrokerOptions, Fanout, ReplyInbox } from './broker/transport';
import type { JsonObject } from './protocol/message';
import { decodeReply, encodeRequest, LamportClock, PidboxError, type PidboxReply } from './protocol/pidbox';
import { RevokedStore, type RevokedStoreOptions } from './broker/revoked';

/** Replies by node name, e.g. `{ 'w1@vm': { ok: 'pong' } }`. A node that did not answer in time is absent. */
export type NodeReplies<T = unknown> = Record<string, T>;

export interface BroadcastOptions {
  /** Node names that should act; default every node. */
  destination?: readonly string[];
  /**
   * Seconds to wait for the next reply. As in kombu, the wait starts again after each reply, so a broadcast ends
   * after this long without a reply (or at `limit`). It is also the request's expiry. Default 1.
   */
  timeout?: number;
  /** Collect replies. Without, the command is only published, and `{}` is returned. Default true. */
  reply?: boolean;
  /** Stop after this many replies. Default: the number of destinations when given, else no limit. */
  limit?: number;
  /** Called with each reply as it arrives (e.g. to print it at once). */
  onReply?: (hostname: string, value: unknown) => void;
}

export interface RevokeOptions extends BroadcastOptions {
  /** Also stop the task where it is running. Default false. */
  terminate?: boolean;
  /** Signal name for `terminate`, as Celery takes it. Default `SIGTERM`. */
  signal?: string;
  /** Seconds Radish workers keep honouring the revoke (starting or restarted ones too). Default 10800, Celery's. */
  ttlSec?: number;
}

export interface ControlOptions {
  /** Options of the persistent revoked list (expiry, cap, clock). */
  revoked?: RevokedStoreOptions;
  /** The time in milliseconds, for request expiry. Default `Date.now`. */
  now?: () => number;
}

export class Control {
  /** The persistent revoked list `revoke()` writes to. */
  readonly revoked: RevokedStore;
  readonly clock = new LamportClock();
  private readonly now: () => number;
  private closed = false;

  /**
   * @param fanout the broker's remote control.
   * @param store where revokes are recorded for Radish workers that start later (none: broadcast only, as Celery).
   * @param owned a broker this Control opened, closed by `close()`.
   */
  constructor(readonly fanout: Fanout, store: SharedStore | undefined, private readonly owned?: Broker, options: ControlOptions = {}) {
    this.now = options.now ?? Date.now;
    this.revoked = new RevokedStore(store, options.revoked);
  }

  /** A Control with a connection of its own to the broker `config` describes (`keyPrefix` included). */
  static async connect(config: BrokerOptions = {}, options: ControlOptions = {}): Promise<Control> {
    const broker = await connectBroker(config, { name: 'radish-control' });
    return new Control(broker.fanout, sharedStore(broker, {}), broker, options);
  }

  /** A Control on an app's broker: shares the app's connections, opens its own only to wait for replies. */
  static async forApp(app: Radish, options: ControlOptions = {}): Promise<Control> {
    const broker = await app.broker();
    return new Control(broker.fanout, await app.sharedStore(), undefined, options);
  }

  /**
   * Send `method` with keyword arguments `args` to the nodes, and with `reply` (the default) collect their replies.
   * Throws on bad options and when Redis fails; nodes that do not answer are simply absent from the result.
   */
  async broadcast<T = unknown>(method: string, args: JsonObject = {}, options: BroadcastOptions = {}): Promise<NodeReplies<T>> {
    if (this.closed) throw new Error('this Control is closed');
    if (typeof method !== 'string' || method === '') throw new TypeError('a control command needs a method name');
    const timeout = options.timeout ?? 1;
    if (!(timeout > 0) || !Number.isFinite(timeout)) {
      throw new RangeError(`timeout must be a positive number of seconds, got ${timeout}`);
    }
    const destination = options.destination;
    if (destination !== undefined && (!Array.isArray(destination) || !destination.every((d) => typeof d === 'string'))) {
      throw new TypeError('destination must be a list of node names');
    }
    const limit = options.limit ?? (destination?.length ? destination.length : undefined);
    const expires = this.now() / 1000 + timeout;
    const request = { method, arguments: args, destination: destination ?? null };
    if (options.reply === false) {
      await this.fanout.broadcastPidbox(encodeRequest(request, { clock: this.clock.forward(), expires }));
      return {};
    }
    // A reply queue per broadcast: concurrent broadcasts never take each other's replies.
    const oid = randomUUID();
    const ticket = randomUUID();
    const inbox = await this.fanout.openReplies(oid);
    try {
      const replyTo = { exchange: REPLY_EXCHANGE, routing_key: oid };
      const message = encodeRequest({ ...request, ticket, replyTo }, { clock: this.clock.forward(), expires });
      await this.fanout.broadcastPidbox(message);
      return await this.collect<T>(inbox, ticket, timeout, limit, options.onReply);
    } finally {
      await inbox.close().catch(() => undefined);
    }
  }

  private async collect<T>(inbox: ReplyInbox, ticket: string, timeout: number, limit: number | undefined,
    onReply: BroadcastOptions['onReply']): Promise<NodeReplies<T>> {
    const replies: [string, unknown][] = [];
    let received = 0;
    while (limit === undefined || received < limit) {
      const popped = await inbox.next(timeout);
      if (popped === null) break;
      let reply: PidboxReply;
      try {
        reply = decodeReply(popped);
      } catch (err) {
        if (err instanceof PidboxError) continue; // kombu drops what it cannot decode and keeps waiting
        throw err;
      }
      this.clock.adjust(reply.clock);
      if (reply.expires > 0 && this.now() / 1000 > reply.expires) continue;
      if (reply.ticket !== null && reply.ticket !== ticket) continue;
      received++;
      for (const [node, value] of Object.entries(reply.replies)) {
        replies.push([node, value]);
        onReply?.(node, value);
      }
    }
    // As Celery's flatten_reply: a node that answered twice (two workers sharing a name) keeps its last reply.
    return Object.fromEntries(replies) as NodeReplies<T>;
  }

  /** Ask nodes for `{"ok": "pong"}`. */
  ping(options: BroadcastOptions = {}): Promise<NodeReplies> {
    return this.broadcast('ping', {}, options);
  }

  /**
   * Any inspect command (`active`, `reserved`, `scheduled`, `revoked`, `registered`, `stats`, `query_task`...),
   * with its keyword arguments; always collects replies.
   */
  inspect<T = unknown>(
    method: string, args: JsonObject = {}, options: Omit<BroadcastOptions, 'reply'> = {},
  ): Promise<NodeReplies<T>> {
    return this.broadcast<T>(method, args, { ...options, reply: true });
  }

  /**
   * Revoke tasks: record the ids in Radish's persistent revoked list first (so a Radish worker that starts or
   * restarts later still drops them), then broadcast Celery's `revoke` so running Radish and Python workers drop
   * them now. A destination limits the broadcast only: the persistent list applies to every Radish worker, as
   * Celery's workers share their revoked lists when they start (mingle).
   */
  async revoke(ids: string | readonly string[], options: RevokeOptions = {}): Promise<NodeReplies> {
    const list = typeof ids === 'string' ? [ids] : [...ids];
    if (list.length === 0 || list.some((id) => typeof id !== 'string' || id === '')) {
      throw new TypeError('revoke needs one or more task ids (non-empty strings)');
    }
    await this.revoked.add(list, options.ttlSec);
    const { terminate = false, signal = 'SIGTERM', ttlSec: _ttl, ...broadcast } = options;
    return this.broadcast('revoke', { task_id: typeof ids === 'string' ? ids : list, terminate, signal }, broadcast);
  }

  /** Close the broker connection this Control opened, if it opened one. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.owned?.close();
  }
}
