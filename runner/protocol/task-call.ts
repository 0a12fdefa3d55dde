/**
 * What a client asks for when it sends a task: the call, who sends it, and the signatures (callbacks, chain, chord)
 * it carries in the body's embed. The encoder's input; the header table reads its values from here.
 */
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
  /** Extra headers (kept as given). */
  headers?: JsonObject;
}

/** Identity of the sending process (Celery's `origin` and the app's `reply_to` oid). */
export interface Sender {
  origin: string;
  replyTo: string;
  deliveryTag: string;
}
