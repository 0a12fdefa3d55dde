/**
 * The transport contract: everything the worker, the client, the monitor and the extension ask of a broker. Two
 * implementations, chosen by the URL's scheme in connect.ts: {@link RedisBroker} (kombu's Redis transport, key for
 * key) and {@link AmqpBroker} (Celery's exchanges and queues on AMQP 0-9-1). Nothing above this file branches on
 * which one it has.
 */
import type { ConnectionConfig } from './connection';

export interface BrokerOptions extends ConnectionConfig {
  /** kombu's `global_keyprefix`, put before every broker key (Redis). Default none. */
  keyPrefix?: string;
  /** Seconds after which another consumer may restore an unacked message (Redis; kombu's default 3600). */
  visibilityTimeout?: number;
  /** Most records kept in the dead-letter queue; the oldest are dropped beyond it. Default 10,000. */
  deadLetterMax?: number;
  /**
   * AMQP: declare task queues with `x-max-priority` (Celery's `task_queue_max_priority`). Default none, as Celery:
   * RabbitMQ then ignores priorities. It must match how the queue was first declared (Celery's setting).
   */
  queueMaxPriority?: number;
  /** AMQP: `quorum` declares task queues as quorum queues (Celery 5.5's `task_default_queue_type`). Default classic. */
  queueType?: 'classic' | 'quorum';
  /**
   * AMQP: the management HTTP API, e.g. `http://guest:guest@127.0.0.1:15672`, for listing every queue, unacked
   * counts and the workers' pidbox queues. Default: the broker's host on port 15672 with its credentials, used when
   * it answers.
   */
  managementUrl?: string | false;
  /** AMQP heartbeat in seconds (kombu's `broker_heartbeat`, default 120; 0 turns it off). */
  heartbeat?: number;
}

/** kombu's `Connection.info()` fields a `stats` reply carries. */
export interface BrokerConnectionInfo {
  hostname: string | null;
  userid: string | null;
  virtual_host: string;
  port: number | null;
  ssl: boolean;
  transport: 'redis' | 'amqp';
  transport_options: Record<string, unknown>;
  heartbeat: number | null;
}

/** A message taken from a queue and held unacked, not yet decoded. */
export interface Delivery {
  /** The transport's delivery tag; empty when the message was dead-lettered on arrival (undecodable). */
  tag: string;
  /** The message as a kombu envelope (JSON), whatever the transport: one decoder serves both. */
  raw: string;
  queue: string;
  /**
   * The message's bytes, only when they are not valid UTF-8 (`raw` then has them replaced): such a message cannot
   * be a task, and is dead-lettered with these bytes.
   */
  bytes?: Buffer;
  /** Why the message cannot be read at all (its AMQP headers could not be decoded): it is dead-lettered as it is. */
  invalid?: string;
}

export interface QueueDepth {
  queue: string;
  /** Messages waiting, all priorities. */
  total: number;
  /** Waiting per priority step (0, 3, 6, 9) where the transport keeps them apart (Redis); empty otherwise. */
  byPriority: Record<number, number>;
}

/** A queue's depth and the send time of its oldest waiting message, for metrics ({@link Broker.queueStats}). */
export interface QueueStats {
  queue: string;
  /** Messages waiting, all priorities. */
  depth: number;
  /**
   * When the oldest waiting message was sent (ms since the epoch, from Radish's `radish_sent_at` stamp). Undefined
   * when it is unknown: the queue is empty, its oldest message has no stamp (Celery's), or the broker cannot show it
   * without taking it (RabbitMQ without its management API). Never guessed.
   */
  oldestSentAt?: number;
}

/** A record in the dead-letter queue: why, where from, and the original message byte for byte. */
export interface DeadLetterRecord {
  reason: string;
  queue: string;
  worker: string;
  /** Unix seconds. */
  time: number;
  raw: string;
  task_id?: string;
  task?: string;
  exception?: unknown;
  traceback?: string | null;
  /** How many times the task ran (retries + 1), for failures. */
  attempts?: number;
}

/** A reserved message this process will not run, given back to its queue. */
export interface HeldMessage {
  tag: string;
  raw: string;
  queue: string;
  priority: number;
}

/** Which worker asks {@link Broker.recover}, and what it holds. */
export interface RecoveringWorker {
  worker: string;
  held: ReadonlySet<string>;
  graceSec: number | null;
}

export interface Broker {
  /** Which transport this is, for logs and the `stats` reply (`redis`, `amqp`): never a reason to branch. */
  readonly transport: 'redis' | 'amqp';
  readonly config: BrokerOptions;
  /**
   * Seconds after which an unacked message may be taken for lost and restored (Redis), or null where the broker
   * redelivers what a lost connection held by itself (AMQP).
   */
  readonly visibilityTimeout: number | null;
  /** Events and remote control on this broker. */
  readonly fanout: Fanout;

  /** Called with `'lost'` (and a reason) when the connection drops and `'restored'` when it is back, for logs. */
  watch(listener: (change: 'lost' | 'restored', reason?: string) => void): void;

  /** Where the connection goes, as kombu's `Connection.info()` says it (never the password), for `inspect stats`. */
  connectionInfo(): BrokerConnectionInfo;

  /** Throw, saying what is needed, when the server cannot serve a worker (too old, missing a feature). */
  checkServer(): Promise<void>;

  /** Publish one message (a kombu envelope) to a queue, at an envelope priority (0 first). */
  publish(queue: string, priority: number, message: string): Promise<void>;
  /** Publish many, in order per queue. A message is its text or its UTF-8 bytes. */
  publishMany(items: readonly { queue: string; priority: number; message: string | Buffer }[]): Promise<void>;

  /** Take up to `max` waiting messages without waiting, held unacked for `worker`. */
  reserve(queues: readonly string[], max: number, worker: string): Promise<Delivery[]>;
  /** Wait up to ~100 ms for a message, then take up to `max`; [] at once after {@link interrupt}. */
  waitAndReserve(queues: readonly string[], max: number, worker: string): Promise<Delivery[]>;
  /**
   * Take nothing more from `queue` until a reserve names it again (a paused queue, a cancelled consumer): AMQP
   * cancels its consumer and gives back what it delivered that no reserve took yet; Redis has nothing to do (each
   * reserve names its queues). Call it once no reserve that names the queue is under way.
   */
  stopConsuming(queue: string): Promise<void>;
  /** The message was handled: forget it. */
  ack(tag: string): Promise<void>;
  /**
   * The most messages the worker holds unacked (its concurrency x prefetch multiplier), for a broker that bounds them
   * per consumer (AMQP's basic.qos). Redis bounds nothing: the worker's own count is the limit.
   */
  setPrefetch(count: number): void;
  /**
   * `delta` held messages are (+) or are no longer (-) waiting for their ETA: they stay unacked but do not count
   * against the prefetch, so a broker that bounds unacked messages per consumer (AMQP's basic.qos) lets that many
   * more through, as Celery raises its QoS for ETA tasks.
   */
  holdOutsidePrefetch(delta: number): void;
  /** Put back messages this process reserved but will not run (warm shutdown). Returns how many went back. */
  giveBack(deliveries: readonly HeldMessage[]): Promise<number>;
  /** Move a reserved message to the dead-letter queue and ack it. Returns how many records were dropped for the bound. */
  deadLetter(tag: string, record: DeadLetterRecord, bytes?: Buffer): Promise<number>;

  /** Restore what consumers left unacked beyond the visibility timeout. 0 where the broker does it itself. */
  restoreVisible(): Promise<number>;
  /** Restore what gone workers (and this one's earlier process) held. Empty where the broker does it itself. */
  recover(self: RecoveringWorker, isAlive: (worker: string) => Promise<boolean>): Promise<Map<string, number>>;
  /** Mark held messages as alive, so nobody restores them for lost. No-op where nothing can. */
  touch(tags: readonly string[]): Promise<void>;

  /**
   * A worker stops consuming; call it once per {@link resume}. When no other worker consumes through this broker (an
   * app's workers share it), waiting ends: waits return [] at once until {@link resume}. While another still consumes,
   * nothing changes for it (the stopping worker's own wait ends by itself within ~100 ms). Without a {@link resume}
   * before it, waiting ends at once.
   */
  interrupt(): Promise<void>;
  /** A worker starts consuming: wait and consume again after {@link interrupt} (a worker after an earlier one stopped). */
  resume(): void;
  /** Close every connection; idempotent. */
  close(): Promise<void>;

  /** Delete every waiting message of a queue. Returns how many were removed. */
  purge(queue: string): Promise<number>;
  /** Waiting messages per queue, without reading them. */
  depths(queues: readonly string[]): Promise<QueueDepth[]>;
  /**
   * Depth and the oldest waiting message's send time per queue, in the order asked, without taking any message
   * (Redis: one pipelined round trip for all queues; AMQP: passive declares, and the management API's
   * `head_message_timestamp`, to the second, when it answers).
   */
  queueStats(queues: readonly string[]): Promise<QueueStats[]>;
  /** Every task queue the broker knows of, sorted. */
  declaredQueues(): Promise<string[]>;
  /**
   * A page of waiting messages in the order workers take them, without disturbing them. Throws
   * {@link BrowseUnsupportedError} where the broker cannot show a message without taking it.
   */
  peek(queue: string, offset: number, limit: number): Promise<{ raw: string; priority: number }[]>;
  /** A page of dead-letter records, newest first, exactly as stored. */
  deadLetters(offset: number, limit: number): Promise<string[]>;
  deadLetterCount(): Promise<number>;
  /** Publish `message` again and remove `record` from the dead-letter queue. False if the record is gone. */
  replayDeadLetter(record: string, queue: string, priority: number, message: string): Promise<boolean>;
  /** Remove one record. False if it was already gone. */
  discardDeadLetter(record: string): Promise<boolean>;
  /** Remove every record; returns how many there were. */
  purgeDeadLetters(): Promise<number>;
  /** Node names of the workers that answer remote control, as far as the broker can list them. */
  pidboxNodes(): Promise<string[]>;
  /** Messages delivered and not yet acked, or null where the broker does not say (AMQP without management). */
  unackedCount(): Promise<number | null>;
}

/** The broker cannot show waiting messages without taking them off the queue (AMQP's classic and quorum queues). */
export class BrowseUnsupportedError extends Error {
  override readonly name = 'BrowseUnsupportedError';
}

/** Where a remote-control reply goes: the reply exchange and the requester's routing key (its oid). */
export interface PidboxReplyTo {
  exchange: string;
  routing_key: string;
}

/** What a worker's mailbox hears. */
export interface PidboxListener {
  /** One request as a kombu envelope (JSON). */
  request(raw: string): void;
  /** The connection dropped: requests broadcast until `back` are lost. */
  lost?(reason: string): void;
  /** Listening again after an outage (the node has announced itself again). */
  back?(): void;
}

export interface PidboxSubscription {
  /** Stop hearing requests and withdraw the node's announcement. Rejects when the withdrawal could not be made. */
  close(): Promise<void>;
}

/** A requester's reply queue, open for one broadcast. */
export interface ReplyInbox {
  /** The next reply envelope, or null when none came within `timeoutSec`. */
  next(timeoutSec: number): Promise<string | null>;
  /** Stop taking replies and delete the queue with what arrived too late. */
  close(): Promise<void>;
}

/** What a monitor hears. */
export interface EventListener {
  /** One event envelope (a single event, or a `task.multi` batch). */
  event(raw: string): void;
  lost?(reason: string): void;
  back?(): void;
}

/**
 * Celery's broadcasts: events (`celeryev`) and remote control (`celery.pidbox`, replies on `reply.celery.pidbox`), as
 * the transport carries them: pub/sub channels and binding sets on Redis, exchanges and queues on AMQP.
 */
export interface Fanout {
  /** Publish one event envelope under its routing key (`worker.heartbeat`, `task.multi`). */
  publishEvent(routingKey: string, message: string): Promise<void>;
  /** Hear the remote-control requests broadcast to workers, as node `node`. */
  listenPidbox(node: string, listener: PidboxListener): Promise<PidboxSubscription>;
  /** Send a reply envelope to a requester. False when nobody waits for replies there any more. */
  replyPidbox(replyTo: PidboxReplyTo, message: string): Promise<boolean>;
  /** Broadcast a remote-control request envelope to every worker node. */
  broadcastPidbox(message: string): Promise<void>;
  /** Open the reply queue of requester `oid` (routing key `oid` on the reply exchange), before its request goes out. */
  openReplies(oid: string): Promise<ReplyInbox>;
  /**
   * Hear events whose routing key matches `pattern` (`*` every one; `worker.*`, `task.#` as AMQP topics). Resolves once
   * listening.
   */
  subscribeEvents(pattern: string, listener: EventListener): Promise<{ close(): Promise<void> }>;
  /** Close connections the fanout opened for itself (reply waits, subscriptions); idempotent. */
  close(): Promise<void>;
}
