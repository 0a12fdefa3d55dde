/**
 * Celery's broadcasts on Redis, as kombu's Redis transport carries them: events PUBLISHed on `/<db>.celeryev/<key>`,
 * remote-control requests on `/<db>.celery.pidbox` (PSUBSCRIBEd, the node announced in kombu's pidbox binding set),
 * and replies LPUSHed onto the reply lists bound to `reply.celery.pidbox` with the requester's oid.
 */
import type Redis from 'ioredis';
import { connect, type ConnectionConfig } from './connection';
import { Keys } from './keys';
import type { EventListener, Fanout, PidboxListener, PidboxReplyTo, PidboxSubscription, ReplyInbox } from './transport';

export class RedisFanout implements Fanout {
  /** Connections for BRPOP, which blocks its connection: one per broadcast in progress, kept for the next. */
  private readonly idle: Redis[] = [];
  private readonly busy = new Set<Redis>();
  /** Subscriber connections open for event listeners. */
  private readonly subscribers = new Set<Redis>();
  private closed = false;

  /**
   * @param redis connection for ordinary commands (PUBLISH, binding set, LPUSH); never closed here.
   * @param connection settings for the subscriber connections this opens (the broker's URL, password, TLS, Sentinel).
   */
  constructor(private readonly redis: Redis, private readonly keys: Keys, private readonly connection: ConnectionConfig) {}

  async publishEvent(routingKey: string, message: string): Promise<void> {
    await this.redis.publish(this.keys.eventChannel(routingKey), message);
  }

  async listenPidbox(node: string, listener: PidboxListener): Promise<PidboxSubscription> {
    const { keys, redis } = this;
    const member = Keys.pidboxBindingMember(node);
    let down = false;
    let closed = false;
    const subscriber = await connect(this.connection, {
      name: 'radish-pidbox',
      autoPipelining: false,
      onError: (err) => lost(err.message),
      onReconnect: () => {
        if (closed) return;
        down = false;
        // Redis may have restarted empty: the node announces itself again before it says it is back.
        void redis.sadd(keys.pidboxBinding, member).catch(() => undefined).finally(() => listener.back?.());
      },
    });
    function lost(reason: string): void {
      if (down || closed) return;
      down = true;
      listener.lost?.(reason);
    }
    // A clean close (Redis shut down) comes without an error event.
    subscriber.on('reconnecting', () => lost('connection closed'));
    subscriber.on('pmessage', (_pattern: string, _channel: string, message: string) => listener.request(message));
    try {
      // kombu PSUBSCRIBEs the fanout channel (no wildcard in it), so Radish does too. ioredis subscribes again by
      // itself after a reconnect.
      await subscriber.psubscribe(keys.pidboxChannel);
      await redis.sadd(keys.pidboxBinding, member);
    } catch (err) {
      subscriber.disconnect();
      throw err;
    }
    return {
      close: async () => {
        closed = true;
        // Closed at once (its subscription ends with it): an unsubscribe first would wait for a Redis that is down,
        // for ever, and leave this connection reconnecting after the caller gave up waiting.
        subscriber.disconnect();
        await redis.srem(keys.pidboxBinding, member);
      },
    };
  }

  async replyPidbox(replyTo: PidboxReplyTo, message: string): Promise<boolean> {
    const queues = await this.replyQueues(replyTo.routing_key);
    // As kombu: no bound reply queue means nobody waits (the client gave up and deleted it), so nothing is pushed.
    if (queues.length === 0) return false;
    await Promise.all(queues.map((queue) => this.redis.lpush(this.keys.queue(queue), message)));
    return true;
  }

  async broadcastPidbox(message: string): Promise<void> {
    await this.redis.publish(this.keys.pidboxChannel, message);
  }

  /** kombu's client side: SADD a reply binding, then BRPOP the reply lists; on close SREM it and delete the lists. */
  async openReplies(oid: string): Promise<ReplyInbox> {
    const member = Keys.replyBindingMember(oid);
    const lists = this.keys.replyLists(oid);
    await this.redis.sadd(this.keys.replyBinding, member);
    let conn: Redis | undefined;
    return {
      next: async (timeoutSec) => {
        conn ??= await this.acquire();
        const popped = await conn.brpop(...lists, timeoutSec);
        return popped ? popped[1] : null;
      },
      close: async () => {
        if (conn) this.release(conn);
        conn = undefined;
        // As kombu's queue_delete: unbind first, so a late worker pushes nothing, then drop what arrived too late.
        await this.redis.multi().srem(this.keys.replyBinding, member).del(...lists).exec().catch(() => undefined);
      },
    };
  }

  private async acquire(): Promise<Redis> {
    const conn = this.idle.pop() ?? await connect(this.connection, { name: 'radish-control-reply', autoPipelining: false });
    this.busy.add(conn);
    return conn;
  }

  private release(conn: Redis): void {
    this.busy.delete(conn);
    if (this.closed || conn.status !== 'ready') conn.disconnect();
    else this.idle.push(conn);
  }

  /**
   * PSUBSCRIBE `/<db>.celeryev/<pattern>` on a connection of its own (a subscribed connection can run no other
   * command), as Flower and `celery events` do. Commands wait while it is down: the re-subscription after an outage
   * must not be refused, whatever the caller chose for its own connection.
   */
  async subscribeEvents(pattern: string, listener: EventListener): Promise<{ close(): Promise<void> }> {
    const subscriber = await connect({ ...this.connection, offlineQueue: true }, {
      name: 'radish-events', autoPipelining: false,
      onError: (err) => listener.lost?.(err.message),
      onReconnect: () => listener.back?.(),
    });
    this.subscribers.add(subscriber);
    // A clean close (Redis shut down) comes without an error event.
    subscriber.on('reconnecting', () => listener.lost?.('connection closed'));
    subscriber.on('pmessage', (_pattern: string, _channel: string, raw: string) => listener.event(raw));
    try {
      await subscriber.psubscribe(this.keys.eventPattern(pattern.replace(/#/g, '*')));
    } catch (err) {
      this.subscribers.delete(subscriber);
      subscriber.disconnect();
      throw err;
    }
    return {
      close: async () => {
        this.subscribers.delete(subscriber);
        // QUIT would wait in the offline queue for a server that is down: then just drop the socket.
        if (subscriber.status === 'ready') await subscriber.quit().catch(() => subscriber.disconnect());
        else subscriber.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const conn of [...this.idle.splice(0), ...this.busy, ...this.subscribers]) conn.disconnect();
    this.busy.clear();
    this.subscribers.clear();
  }

  /** kombu's direct-exchange lookup: the queues bound to the reply exchange with the reply's routing key. */
  private async replyQueues(routingKey: string): Promise<string[]> {
    const queues = new Set<string>();
    for (const member of await this.redis.smembers(this.keys.replyBinding)) {
      const parts = Keys.bindingParts(member);
      if (parts?.routingKey === routingKey && parts.queue) queues.add(parts.queue);
    }
    return [...queues];
  }
}
