/**
 * A task message as it sits in Redis (the kombu envelope, parsed) and as the worker reads it (TaskMessage), and the
 * error for one that cannot be read. The call side (TaskCall, Sender, Signature, Embed) is in task-call.ts and
 * the headers' type in task-headers.ts; all are re-exported here.
 */
import type { JsonObject } from './json';
import type { Embed } from './task-call';
import type { TaskHeaders } from './task-headers';

export type { JsonObject } from './json';
export type { Embed, Sender, Signature, TaskCall } from './task-call';
export type { TaskHeaders } from './task-headers';

export interface DeliveryInfo {
  exchange: string;
  routing_key: string;
  redelivered?: boolean;
}

export interface MessageProperties {
  correlation_id: string;
  reply_to: string;
  delivery_mode: number;
  expiration?: string;
  delivery_info: DeliveryInfo;
  priority: number;
  body_encoding: string;
  delivery_tag: string;
  [extra: string]: unknown;
}

/** The message exactly as it sits in Redis, parsed. */
export interface Envelope {
  body: string;
  'content-encoding': string;
  'content-type': string;
  headers: TaskHeaders;
  properties: MessageProperties;
}

/** A decoded task, with the original bytes kept for dead-lettering and restoring. */
export interface TaskMessage {
  raw: string;
  envelope: Envelope;
  id: string;
  name: string;
  args: unknown[];
  kwargs: JsonObject;
  embed: Embed;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  priority: number;
  deliveryTag: string;
  routingKey: string;
  exchange: string;
  redelivered: boolean;
  timeLimit: number | null;
  softTimeLimit: number | null;
  parentId: string | null;
  rootId: string;
  groupId: string | null;
  groupIndex: number | null;
  ignoreResult: boolean;
  /**
   * When the message was sent (ms since the epoch), from Radish's `radish_sent_at` header; null for a message
   * without one (Celery's). A retry is a new send, with its own stamp; a restored message keeps its stamp.
   */
  sentAt: number | null;
}

/** A message that cannot be read as a task; `reason` is one line fit for a log and a dead-letter record. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(readonly reason: string, readonly taskId?: string, readonly taskName?: string) {
    super(reason);
  }
}
