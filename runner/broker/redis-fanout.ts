/**
 * Celery's broadcasts on Redis, as kombu's Redis transport carries them: events PUBLISHed on `/<db>.celeryev/<key>`,
 * remote-control requests on `/<db>.celery.pidbox` (PSUBSCRIBEd, the node announced in kombu's pidbox binding set),
 * and replies LPUSHed onto the reply lists bound to `reply.celery.pidbox` with the requester's oid.
 */
import type Redis from 'ioredis';
import { connect, type ConnectionConfig } from './connection';
import { Keys } from './keys';
import type { Fanout, PidboxListener, PidboxReplyTo, PidboxSubscription } from './transport';

export class RedisFanout implements Fanout {
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
        await subscriber.punsubscribe().catch(() => undefined);
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
