/**
 * Celery's broadcasts on AMQP, declared as Celery 5.2-5.6 (kombu) declares them: events on the `celeryev` topic
 * exchange; remote-control requests on the `celery.pidbox` fanout exchange, each worker node consuming its queue
 * `<node>.celery.pidbox`; replies through the `reply.celery.pidbox` direct exchange to the requester's queue, routed
 * by its oid.
 */
import type * as amqp from 'amqplib';
import { envelopeToAmqp, amqpToEnvelope, type AmqpProperties } from '../../protocol/amqp-envelope';
import { errorMessage } from '../../errors';
import type { Fanout, PidboxListener, PidboxReplyTo, PidboxSubscription } from '../transport';
import type { AmqpConnection } from './connection';
import { EVENT_EXCHANGE_DECLARATION, PIDBOX_EXCHANGE_DECLARATION, pidboxNodeQueue, publishOptionsOf, REPLY_EXCHANGE_DECLARATION } from './topology';

export class AmqpFanout implements Fanout {
  private eventsDeclared = -1;

  constructor(private readonly connection: AmqpConnection) {}

  async publishEvent(routingKey: string, message: string): Promise<void> {
    const { name, type, options } = EVENT_EXCHANGE_DECLARATION;
    if (this.eventsDeclared !== this.connection.generation) {
      await this.connection.withChannel(async (ch) => { await ch.assertExchange(name, type, options); });
      this.eventsDeclared = this.connection.generation;
    }
    const { content, properties } = envelopeToAmqp(message);
    await this.connection.publish(name, routingKey, content, publishOptionsOf(properties));
  }

  async listenPidbox(node: string, listener: PidboxListener): Promise<PidboxSubscription> {
    const queue = pidboxNodeQueue(node);
    let channel: amqp.Channel | undefined;
    let closed = false;
    const { name: exchange, type, options } = PIDBOX_EXCHANGE_DECLARATION;
    // Declared and consumed on every (re)connection: the node queue is auto-deleted with its consumer.
    const listen = async (): Promise<void> => {
      if (closed) return;
      const ch = await this.connection.channel();
      await ch.assertExchange(exchange, type, options);
      await ch.assertQueue(queue.name, queue.options);
      await ch.bindQueue(queue.name, exchange, '');
      await ch.consume(queue.name, (m) => {
        if (!m) return;
        listener.request(amqpToEnvelope({
          content: m.content, properties: m.properties as AmqpProperties,
          exchange: m.fields.exchange, routingKey: m.fields.routingKey, redelivered: m.fields.redelivered,
        }, '').raw);
      }, { noAck: true });
      channel = ch;
    };
    const onLost = (reason: string) => { if (!closed) listener.lost?.(reason); };
    const onRestored = () => { if (!closed) void listen().then(() => listener.back?.(), (err: unknown) => listener.lost?.(errorMessage(err))); };
    await listen();
    this.connection.on('lost', onLost);
    this.connection.on('restored', onRestored);
    return {
      close: async () => {
        closed = true;
        this.connection.off('lost', onLost);
        this.connection.off('restored', onRestored);
        // Closing the channel cancels the consumer; the broker deletes the auto-delete queue with it.
        await channel?.close().catch(() => undefined);
      },
    };
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
