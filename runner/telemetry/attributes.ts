/**
 * Span names and attributes, after OpenTelemetry's messaging semantic conventions (messaging spans, 1.26 and later:
 * `messaging.operation.type` `send`/`process`, span name `{operation} {target}`). The target is the task name: it is
 * low-cardinality and says what ran, where the queue (the destination, in `messaging.destination.name`) would name
 * every task of a queue alike. `celery.task_name` is the attribute Celery's Python instrumentation sets, so one
 * query finds a task's spans from either language.
 */
import type { Attributes } from '@opentelemetry/api';
import { isAmqpBroker } from '../broker/connect';

/** What the spans say the messaging system is: the broker. */
export type MessagingSystem = 'redis' | 'rabbitmq';

/** The messaging system of a broker URL (`amqp://`, `amqps://`: RabbitMQ; anything else Radish takes: Redis). */
export function messagingSystem(brokerUrl: string | undefined): MessagingSystem {
  return isAmqpBroker(brokerUrl) ? 'rabbitmq' : 'redis';
}

/** The operations Radish traces: a message sent, a message run. */
export type Operation = 'send' | 'process';

export function spanName(operation: Operation, taskName: string): string {
  return `${operation} ${taskName}`;
}

/** The attributes every Radish span has. */
export function messageAttributes(system: MessagingSystem, operation: Operation, taskName: string, taskId: string, queue: string): Attributes {
  const attributes: Attributes = {
    'messaging.system': system,
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': queue,
    'messaging.message.id': taskId,
    'celery.task_name': taskName,
  };
  // Celery's messages go through the default exchange, with the queue's name as the routing key.
  if (system === 'rabbitmq') attributes['messaging.rabbitmq.destination.routing_key'] = queue;
  return attributes;
}
