/**
 * What a client asks for when it sends a task: the call, who sends it, and the signatures (callbacks, chain, chord)
 * it carries in the body's embed. The encoder's input; the header table reads its values from here.
 */
import type { CeleryLayout } from './celery-version';
import type { JsonObject } from './json';

/** A task signature as Celery serialises it in `callbacks`, `errbacks`, `chain` and `chord`. */
export interface Signature {
  task: string;
  args: unknown[];
  kwargs: JsonObject;
  options: JsonObject;
  subtask_type: string | null;
  immutable: boolean;
  [extra: string]: unknown;
}

/** The body's third element. */
export interface Embed {
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  chain: Signature[] | null;
  chord: Signature | null;
}

/** What a client asks for; everything not given takes Celery's default. */
export interface TaskCall {
  id: string;
  name: string;
  args?: unknown[];
  kwargs?: JsonObject;
  /** Routing key, i.e. the queue name (messages go through the default, anonymous exchange). */
  queue: string;
  /** 0..9; on Redis 0 is served first. Default 0. */
  priority?: number;
  eta?: Date | null;
  expires?: Date | null;
  retries?: number;
  /** Hard time limit in seconds. */
  timeLimit?: number | null;
  /** Soft time limit in seconds. */
  softTimeLimit?: number | null;
  parentId?: string | null;
  rootId?: string | null;
  groupId?: string | null;
  groupIndex?: number | null;
  ignoreResult?: boolean;
  shadow?: string | null;
  embed?: Partial<Embed>;
  /**
   * Celery 5.3's stamps, name -> value in order: written as `stamped_headers` (the names) and `stamps` (this
   * object), in any layout. Default none: `stamped_headers: null, stamps: {}` in Celery 5.3's layout, neither
   * header in 5.2's.
   */
  stamps?: JsonObject | null;
  /** Celery 5.3's `replaced_task_nesting` (how many `Task.replace()` led to this call). Default 0. */
  replacedTaskNesting?: number;
  /**
   * When the message is sent, in ms since the epoch, written as the `radish_sent_at` header (Radish's own: Celery
   * has no send time) so a worker can tell how long a task waited and a broker how old its oldest message is.
   * Default now (at encode); `null` writes no stamp (Celery's bytes exactly, as a golden test re-encodes them).
   */
  sentAt?: number | null;
  /** Extra headers (kept as given). */
  headers?: JsonObject;
  /**
   * Extra properties, written after `reply_to` as kombu writes a publisher's own (Celery 5.3's retry leaks its
   * request's `origin` there).
   */
  properties?: JsonObject;
}

/** Identity of the sending process (Celery's `origin` and the app's `reply_to` oid). */
export interface Sender {
  origin: string;
  replyTo: string;
  deliveryTag: string;
  /**
   * Whose layout the message has: `'5.3'`, Celery 5.3 and later's (`replaced_task_nesting`, `stamped_headers` and
   * `stamps` after `ignore_result`), or `'5.2'`, Celery 5.2's (without them, unless the call has stamps). Default
   * `'5.3'`.
   */
  layout?: CeleryLayout;
}
