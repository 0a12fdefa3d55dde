/**
 * Celery's broadcasts on AMQP, declared as Celery 5.2-5.6 (kombu) declares them: events on the `celeryev` topic
 * exchange; remote-control requests on the `celery.pidbox` fanout exchange, each worker node consuming its queue
 * `<node>.celery.pidbox`; replies through the `reply.celery.pidbox` direct exchange to the requester's queue, routed
 * by its oid.
 */
import { randomUUID } from 'node:crypto';
import type * as amqp from 'amqplib';
import { envelopeToAmqp, amqpToEnvelope, type AmqpProperties } from '../../protocol/amqp-envelope';
import { errorMessage } from '../../errors';
import type { EventListener, Fanout, PidboxListener, PidboxReplyTo, PidboxSubscription, ReplyInbox } from '../transport';
import type { AmqpConnection } from './connection';
import {
  EVENT_EXCHANGE_DECLARATION, eventQueue, PIDBOX_EXCHANGE_DECLARATION, pidboxNodeQueue, publishOptionsOf, REPLY_EXCHANGE_DECLARATION, replyQueue,
  type ExchangeDeclaration,
} from './topology';

/** Stop hearing, on one channel that is made again after every reconnection. */
type Listening = { close(): Promise<void> };

export class AmqpFanout implements Fanout {
  private readonly open = new Set<Listening>();

  constructor(private readonly connection: AmqpConnection) {}

  private declare(exchange: ExchangeDeclaration): Promise<void> {
    return this.connection.declareOnce(`exchange:${exchange.name}`, () => this.connection.withChannel(async (ch) => {
      await ch.assertExchange(exchange.name, exchange.type, exchange.options);
    }));
  }

  async publishEvent(routingKey: string, message: string): Promise<void> {
    await this.declare(EVENT_EXCHANGE_DECLARATION);
    const { content, properties } = envelopeToAmqp(message);
    await this.connection.publish(EVENT_EXCHANGE_DECLARATION.name, routingKey, content, publishOptionsOf(properties));
  }

  async broadcastPidbox(message: string): Promise<void> {
    await this.declare(PIDBOX_EXCHANGE_DECLARATION);
    const { content, properties } = envelopeToAmqp(message);
    await this.connection.publish(PIDBOX_EXCHANGE_DECLARATION.name, '', content, publishOptionsOf(properties));
  }

  /**
   * Consume `queue` (declared, bound) on a channel of its own with `onMessage`, again after every reconnection (the
   * queues are transient: a restarted broker has none), until closed.
   */
  private async listen(
    setup: (ch: amqp.Channel) => Promise<string>, onMessage: (raw: string) => void, hooks: { lost?(reason: string): void; back?(): void } = {},
  ): Promise<Listening> {
    let channel: amqp.Channel | undefined;
    let closed = false;
    const start = async (): Promise<void> => {
      const ch = await this.connection.channel();
      const queue = await setup(ch);
      await ch.consume(queue, (m) => {
        if (!m) return;
        onMessage(amqpToEnvelope({
          content: m.content, properties: m.properties as AmqpProperties,
          exchange: m.fields.exchange, routingKey: m.fields.routingKey, redelivered: m.fields.redelivered,
        }, '').raw);
      }, { noAck: true });
      if (closed) await ch.close().catch(() => undefined);
      else channel = ch;
    };
    const onLost = (reason: string) => { if (!closed) hooks.lost?.(reason); };
    const onRestored = () => {
      if (!closed) void start().then(() => hooks.back?.(), (err: unknown) => hooks.lost?.(errorMessage(err)));
    };
    await start();
    this.connection.on('lost', onLost);
    this.connection.on('restored', onRestored);
    const listening: Listening = {
      close: async () => {
        closed = true;
        this.open.delete(listening);
        this.connection.off('lost', onLost);
        this.connection.off('restored', onRestored);
        // Closing the channel cancels the consumer; the broker deletes the auto-delete queue with it.
        await channel?.close().catch(() => undefined);
      },
    };
    this.open.add(listening);
    return listening;
  }

  async listenPidbox(node: string, listener: PidboxListener): Promise<PidboxSubscription> {
    const queue = pidboxNodeQueue(node);
    const { name: exchange, type, options } = PIDBOX_EXCHANGE_DECLARATION;
    return this.listen(async (ch) => {
      await ch.assertExchange(exchange, type, options);
      await ch.assertQueue(queue.name, queue.options);
      await ch.bindQueue(queue.name, exchange, '');
      return queue.name;
    }, (raw) => listener.request(raw), listener);
  }

  /** A reply queue `<oid>.reply.celery.pidbox` bound by the oid, as kombu's client declares it; replies buffered. */
  async openReplies(oid: string): Promise<ReplyInbox> {
    const queue = replyQueue(oid);
    const { name: exchange, type, options } = REPLY_EXCHANGE_DECLARATION;
    const arrived: string[] = [];
    let wake: (() => void) | undefined;
    const listening = await this.listen(async (ch) => {
      await ch.assertExchange(exchange, type, options);
      await ch.assertQueue(queue.name, queue.options);
      await ch.bindQueue(queue.name, exchange, oid);
      return queue.name;
    }, (raw) => { arrived.push(raw); wake?.(); });
    return {
      next: async (timeoutSec) => {
        if (arrived.length === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, timeoutSec * 1000);
            function done(): void { clearTimeout(timer); resolve(); }
            wake = done;
          });
          wake = undefined;
        }
        return arrived.shift() ?? null;
      },
      close: () => listening.close(),
    };
  }

  /** An event queue `celeryev.<uuid>` bound to `celeryev` with the pattern, as Celery's event receiver declares one. */
  async subscribeEvents(pattern: string, listener: EventListener): Promise<{ close(): Promise<void> }> {
    const queue = eventQueue(randomUUID());
    const { name: exchange, type, options } = EVENT_EXCHANGE_DECLARATION;
    // `*` is "every event" to Radish's callers (a Redis glob); on a topic exchange that is `#`.
    const topic = pattern === '*' ? '#' : pattern;
    return this.listen(async (ch) => {
      await ch.assertExchange(exchange, type, options);
      await ch.assertQueue(queue.name, queue.options);
      await ch.bindQueue(queue.name, exchange, topic);
      return queue.name;
    }, (raw) => listener.event(raw), listener);
  }

  async close(): Promise<void> {
    await Promise.all([...this.open].map((l) => l.close()));
  }

  /**
   * Publish to the reply exchange, which the requester declared. A requester that is gone took its queue with it:
   * the exchange may be missing then (a channel error, answered as "nobody waits").
   */
  async replyPidbox(replyTo: PidboxReplyTo, message: string): Promise<boolean> {
    const { content, properties } = envelopeToAmqp(message);
    try {
      await this.connection.withChannel(async (ch) => {
        await ch.checkExchange(REPLY_EXCHANGE_DECLARATION.name);
        ch.publish(replyTo.exchange, replyTo.routing_key, content, publishOptionsOf(properties));
      });
      return true;
    } catch (err) {
      if (/NOT_FOUND/.test(errorMessage(err))) return false;
      throw err;
    }
  }
}
