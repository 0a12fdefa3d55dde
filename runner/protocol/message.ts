/**
 * Celery task messages (protocol 2, and reading protocol 1) as kombu stores them in a Redis list: a JSON envelope
 * whose base64 body is `[args, kwargs, embed]`. Pure functions, no I/O. This is the module the rest of Radish
 * imports; each job lives in its own: the types (message-types.ts, task-call.ts), the header table
 * (task-headers.ts), the body (message-body.ts), the encoders (message-encode.ts), the general decoder
 * (message-decode.ts) and its fast path (message-fast.ts).
 */
import { decodeFast } from './message-fast';
import { decodeTaskMessageGeneral } from './message-decode';
import type { TaskMessage } from './message-types';

export * from './message-types';
export { clampPriority, encodeRetry, encodeTaskMessage, markRedelivered } from './message-encode';
export { decodeTaskMessageGeneral, envelopeSentAt } from './message-decode';
export { SENT_AT_HEADER } from './task-headers';
export { decodeFast } from './message-fast';

/**
 * Decode one message string. Throws ProtocolError (with the task id and name when they could be read) for
 * anything that is not a well-formed JSON task message; never runs or evaluates anything.
 */
export function decodeTaskMessage(raw: string): TaskMessage {
  // The messages Radish and Celery write, read without JSON.parse's walk of the envelope (see decodeFast); anything
  // else, and every message that is not a well-formed task, takes the general path, which gives the reasons.
  return decodeFast(raw) ?? decodeTaskMessageGeneral(raw);
}
