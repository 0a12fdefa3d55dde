/**
 * Celery's names and declarations on AMQP, in one place: the task queues' arguments, the exchanges of events and
 * remote control, and Radish's dead-letter queue.
 */
import type * as amqp from 'amqplib';
import type { AmqpProperties } from '../../protocol/amqp-envelope';
import type { BrokerOptions } from '../transport';

/** Radish's dead-letter queue: durable, bounded (the oldest record dropped first, as the Redis list is trimmed). */
export const DEAD_LETTER_QUEUE = 'radish.dlq';

/** The arguments a task queue is declared with: none by default, as Celery; `x-max-priority`, `x-queue-type` when set. */
export function taskQueueArguments(config: BrokerOptions): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  if (config.queueMaxPriority !== undefined) args['x-max-priority'] = config.queueMaxPriority;
  if (config.queueType === 'quorum') args['x-queue-type'] = 'quorum';
  return args;
}

/** Whether a queue name is a task queue, not one of Celery's (events, remote control, replies) or Radish's own. */
export function isTaskQueueName(name: string): boolean {
  return !(name === DEAD_LETTER_QUEUE || name.startsWith('amq.') || name.startsWith('celeryev.')
    || name.endsWith('.celery.pidbox') || name.startsWith('celery_delayed_'));
}

/** An exchange as Celery declares it. */
export interface ExchangeDeclaration {
  name: string;
  type: 'direct' | 'topic' | 'fanout';
  options: amqp.Options.AssertExchange;
}

/** Celery's event exchange: a durable topic exchange, events routed by type (`worker.heartbeat`, `task.multi`). */
export const EVENT_EXCHANGE_DECLARATION: ExchangeDeclaration = {
  name: 'celeryev', type: 'topic', options: { durable: true, autoDelete: false },
};

/** Remote-control requests: a transient fanout exchange (kombu's Mailbox, `celery.pidbox`). */
export const PIDBOX_EXCHANGE_DECLARATION: ExchangeDeclaration = {
  name: 'celery.pidbox', type: 'fanout', options: { durable: false, autoDelete: false },
};

/** Remote-control replies: a transient direct exchange, routed by the requester's oid. */
export const REPLY_EXCHANGE_DECLARATION: ExchangeDeclaration = {
  name: 'reply.celery.pidbox', type: 'direct', options: { durable: false, autoDelete: false },
};

/**
 * A worker node's remote-control queue, as kombu declares it with Celery's `control_queue_ttl` (300 s) and
 * `control_queue_expires` (10 s): transient, deleted with its consumer, requests older than 5 minutes dropped.
 */
export function pidboxNodeQueue(node: string): { name: string; options: amqp.Options.AssertQueue } {
  return {
    name: `${node}.celery.pidbox`,
    options: { durable: false, autoDelete: true, exclusive: false, arguments: { 'x-message-ttl': 300_000, 'x-expires': 10_000 } },
  };
}

/**
 * A requester's reply queue, as kombu's Mailbox declares it with Celery's control settings: transient, deleted with
 * its consumer or 10 s after it was last used, replies older than 5 minutes dropped.
 */
export function replyQueue(oid: string): { name: string; options: amqp.Options.AssertQueue } {
  return {
    name: `${oid}.reply.celery.pidbox`,
    options: { durable: false, autoDelete: true, exclusive: false, arguments: { 'x-message-ttl': 300_000, 'x-expires': 10_000 } },
  };
}

/**
 * A monitor's event queue, as Celery's EventReceiver declares one (`event_queue_ttl` 5 s, `event_queue_expires`
 * 60 s): transient and deleted with its consumer, so a monitor that goes away leaves nothing to fill up.
 */
export function eventQueue(id: string): { name: string; options: amqp.Options.AssertQueue } {
  return {
    name: `celeryev.${id}`,
    options: { durable: false, autoDelete: true, exclusive: false, arguments: { 'x-message-ttl': 5000, 'x-expires': 60_000 } },
  };
}

/** amqplib's publish options for an envelope's basic properties. */
export function publishOptionsOf(properties: AmqpProperties): amqp.Options.Publish {
  const options: amqp.Options.Publish = { headers: properties.headers ?? {}, deliveryMode: properties.deliveryMode ?? 2 };
  if (properties.contentType) options.contentType = properties.contentType;
  if (properties.contentEncoding) options.contentEncoding = properties.contentEncoding;
  if (properties.correlationId) options.correlationId = properties.correlationId;
  if (properties.replyTo) options.replyTo = properties.replyTo;
  if (properties.priority !== undefined) options.priority = properties.priority;
  if (properties.expiration !== undefined) options.expiration = properties.expiration;
  if (properties.timestamp !== undefined) options.timestamp = properties.timestamp;
  return options;
}
