/**
 * Celery's AMQP 0-9-1 transport (kombu + py-amqp on RabbitMQ), as the transport contract: task queues declared as
 * Celery declares them (a durable direct exchange named after the queue, a durable queue bound by its name),
 * messages as AMQP frames (headers table, raw JSON body, persistent, priority), consumption with native acks under
 * basic.qos, publisher confirms, and a dead-letter queue `radish.dlq`. A Celery worker and a Radish worker share
 * every queue this class touches.
 *
 * What RabbitMQ does by itself, this class does not: a message held by a connection that dies goes back to its
 * queue, so there is no visibility timeout, no restore and no recovery scan.
 */
import type * as amqp from 'amqplib';
import { amqpToEnvelope, envelopeToAmqp, type AmqpProperties } from '../../protocol/amqp-envelope';
import { errorMessage } from '../../errors';
import { ConsumerCount } from '../consumer-count';
import { encodeDeadLetter } from '../dead-letter';
import {
  BrowseUnsupportedError, type Broker, type BrokerConnectionInfo, type BrokerOptions, type DeadLetterRecord, type Delivery, type HeldMessage,
  type Fanout, type QueueDepth, type QueueStats, type RecoveringWorker,
} from '../transport';
import { AmqpConnection, type AmqpConnectionOptions } from './connection';
import { ManagementApi } from './management';
import { AmqpFanout } from './fanout';
import { UNDECODABLE } from './field-table';
import { DEAD_LETTER_QUEUE, isTaskQueueName, publishOptionsOf, taskQueueArguments } from './topology';
import { amqpEndpoints, managementUrlOf } from './url';

/** What a consumer channel is taking from, with the prefetch it was given. */
interface Consuming {
  channel: amqp.Channel;
  /** The connection's generation it was opened on. */
  generation: number;
  /** Numbers this channel among the process's consumer channels: delivery tags are `<seq>.<tag>`. */
  seq: number;
  /** Until the channel closes: then what it delivered is back in the queues, and acking it would be an error. */
  open: boolean;
  /**
   * The prefetch is the channel's, shared by its consumers (`basic.qos` global, as Celery sets it on classic queues),
   * or each consumer's (quorum queues refuse a global QoS; Celery 5.5 then sets it per consumer, as here).
   */
  global: boolean;
  /** queue -> consumer tag */
  tags: Map<string, string>;
  /** The QoS last sent, so it is sent again only when it changes. */
  qos: number;
}

/** A message handed to this process and not yet acked or given back. */
interface Held {
  consumer: Consuming;
  message: amqp.Message;
}

export interface AmqpBrokerHooks {
  /** Warnings the broker has for a human (a queue declared with other arguments, say). Default: stderr. */
  warn?: (message: string) => void;
}

const DEFAULT_DEAD_LETTER_MAX = 10_000;

/** A declaration refused because what exists differs (RabbitMQ's 406 PRECONDITION_FAILED, "inequivalent arg"). */
function mismatched(err: unknown): boolean {
  return /PRECONDITION_FAILED|inequivalent/i.test(errorMessage(err));
}

/** Why a table (or a table or array inside it) could not be read whole, if it could not (see field-table.ts). */
function undecodable(v: unknown): string | undefined {
  if (Array.isArray(v)) {
    for (const item of v) {
      const found = undecodable(item);
      if (found) return found;
    }
  } else if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const record = v as Record<string, unknown>;
    if (typeof record[UNDECODABLE] === 'string') return record[UNDECODABLE];
    for (const item of Object.values(record)) {
      const found = undecodable(item);
      if (found) return found;
    }
  }
  return undefined;
}

export class AmqpBroker implements Broker {
  readonly transport = 'amqp';
  readonly visibilityTimeout = null;
  readonly deadLetterMax: number;
  readonly fanout: Fanout;
  /** Task queues known to be quorum queues (declared so here, or found so when declared by someone else). */
  private readonly quorum = new Set<string>();
  private qosPending = false;
  private channels = 0;
  private readonly held = new Map<string, Held>();
  private readonly arrived: { message: amqp.ConsumeMessage; queue: string; consumer: Consuming }[] = [];
  private consuming: Consuming | undefined;
  private consumingChange: Promise<void> = Promise.resolve();
  private prefetch = 0;
  private outsidePrefetch = 0;
  private wake: (() => void) | undefined;
  private interrupted = false;
  /**
   * The workers consuming through this broker (an app's workers share it, one after another or at once): its consumer
   * channel and what arrived on it serve them all, so only the last one to stop cancels the consumers.
   */
  private readonly consumers = new ConsumerCount();
  private closed = false;
  private readonly management: ManagementApi | undefined;
  private readonly warn: (message: string) => void;

  private constructor(readonly connection: AmqpConnection, readonly config: BrokerOptions, hooks: AmqpBrokerHooks) {
    this.deadLetterMax = config.deadLetterMax ?? DEFAULT_DEAD_LETTER_MAX;
    this.fanout = new AmqpFanout(connection);
    this.warn = hooks.warn ?? ((message) => process.stderr.write(`radish: ${message}\n`));
    const endpoint = connection.endpoint;
    const mgmt = config.managementUrl ?? managementUrlOf(endpoint);
    this.management = mgmt === false ? undefined : new ManagementApi(mgmt, endpoint.vhost);
  }

  static async connect(config: BrokerOptions, options: Partial<AmqpConnectionOptions> & AmqpBrokerHooks = {}): Promise<AmqpBroker> {
    const endpoints = amqpEndpoints(config.url ?? '', { ...(config.password ? { password: config.password } : {}), ...(config.tls ? { tls: config.tls } : {}) });
    const connection = await AmqpConnection.open(endpoints, {
      name: options.name ?? 'radish',
      ...(config.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: config.connectTimeoutMs }),
      ...(config.heartbeat === undefined ? {} : { heartbeat: config.heartbeat }),
      ...(config.offlineQueue === undefined ? {} : { offline: config.offlineQueue }),
    });
    return new AmqpBroker(connection, config, options);
  }

  connectionInfo(): BrokerConnectionInfo {
    const e = this.connection.endpoint;
    return {
      hostname: e.hostname, userid: e.username, virtual_host: e.vhost, port: e.port, ssl: e.protocol === 'amqps',
      transport: 'amqp', transport_options: {}, heartbeat: this.config.heartbeat ?? 60,
    };
  }

  /** RabbitMQ 3.8 or newer (quorum queues, per-consumer QoS as Celery relies on). */
  async checkServer(): Promise<void> {
    const version = String(this.connection.serverProperties.version ?? '');
    const [major = 0, minor = 0] = version.split('.').map(Number);
    const product = String(this.connection.serverProperties.product ?? 'the broker');
    if (product === 'RabbitMQ' && (major < 3 || (major === 3 && minor < 8))) {
      throw new Error(`RabbitMQ ${version} is too old for a Radish worker: it needs RabbitMQ 3.8 or newer`);
    }
  }

  /** RabbitMQ keeps nothing for a lost connection: what it held goes back to its queues, declarations are made again. */
  watch(listener: (change: 'lost' | 'restored', reason?: string) => void): void {
    this.connection.on('lost', (reason) => listener('lost', reason));
    this.connection.on('restored', () => listener('restored'));
  }

  // -----------------------------------------------------------------------------------------------
  // Declarations

  /**
   * Declare a task queue as Celery does (its exchange, the queue, the binding), once per connection. A queue that
   * exists with other arguments (declared by a Celery app with other settings) is a channel error on RabbitMQ: it
   * is then used as it is, checked passively, and the difference is said once.
   */
  declareQueue(queue: string): Promise<void> {
    return this.connection.declareOnce(`queue:${queue}`, () => this.declareTaskQueue(queue));
  }

  private async declareTaskQueue(queue: string): Promise<void> {
    const args = taskQueueArguments(this.config);
    try {
      await this.connection.withChannel(async (ch) => {
        await ch.assertExchange(queue, 'direct', { durable: true, autoDelete: false });
        await ch.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false, arguments: args });
        await ch.bindQueue(queue, queue, queue);
      });
      if (this.config.queueType === 'quorum') this.quorum.add(queue);
    } catch (err) {
      if (!mismatched(err)) throw err;
      await this.connection.withChannel(async (ch) => {
        await ch.checkQueue(queue);
        await ch.checkExchange(queue).catch(() => undefined);
      });
      // RabbitMQ names the argument that differs and its value: a quorum queue must be consumed without global QoS.
      if (/x-queue-type.*quorum/.test(errorMessage(err))) this.quorum.add(queue);
      else if (/x-queue-type/.test(errorMessage(err))) this.quorum.delete(queue);
      this.warn(`queue ${queue} exists on the broker with other settings than Radish's (${errorMessage(err)}); `
        + 'using it as declared. Set queueMaxPriority / queueType as the Celery app that declared it does (task_queue_max_priority, task_default_queue_type) to match.');
    }
  }

  private declareDeadLetterQueue(): Promise<void> {
    return this.connection.declareOnce(`queue:${DEAD_LETTER_QUEUE}`, async () => {
      await this.connection.withChannel(async (ch) => {
        await ch.assertQueue(DEAD_LETTER_QUEUE, { durable: true, arguments: { 'x-max-length': this.deadLetterMax } });
      }).catch(async (err: unknown) => {
        if (!mismatched(err)) throw err;
        await this.connection.withChannel((ch) => ch.checkQueue(DEAD_LETTER_QUEUE));
      });
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Publishing

  /**
   * Publish an envelope to a task queue, confirmed by the broker. As Celery's client does: to the default exchange
   * with the queue's name as routing key, after declaring the queue's own exchange, the queue and their binding.
   */
  async publish(queue: string, _priority: number, message: string): Promise<void> {
    const { content, properties } = envelopeToAmqp(message);
    await this.connection.retrying(async () => {
      await this.declareQueue(queue);
      await this.connection.publish('', queue, content, publishOptionsOf(properties));
    });
  }

  async publishMany(items: readonly { queue: string; priority: number; message: string | Buffer }[]): Promise<void> {
    const messages = items.map(({ queue, message }) => ({ queue, ...envelopeToAmqp(typeof message === 'string' ? message : message.toString('utf8')) }));
    await this.connection.retrying(async () => {
      for (const queue of new Set(items.map((i) => i.queue))) await this.declareQueue(queue);
      // Published back to back on one channel (in order), the confirms awaited together. A retry sends them all
      // again: at-least-once, as for one.
      await Promise.all(messages.map(({ queue, content, properties }) => this.connection.publish('', queue, content, publishOptionsOf(properties))));
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Consuming

  /** The QoS the consumer asks for: the worker's prefetch, plus one per message held for its ETA. */
  private get qos(): number {
    return this.prefetch > 0 ? this.prefetch + this.outsidePrefetch : 0;
  }

  /** The worker's prefetch (concurrency x multiplier): the most unacked messages RabbitMQ hands this consumer. */
  setPrefetch(count: number): void {
    this.prefetch = Math.max(1, count);
    void this.applyQos();
  }

  holdOutsidePrefetch(delta: number): void {
    this.outsidePrefetch = Math.max(0, this.outsidePrefetch + delta);
    void this.applyQos();
  }

  /**
   * basic.qos, once per turn of the event loop however many ETA waits began or ended in it. A channel-wide QoS
   * applies at once; a per-consumer one only to consumers started after it, so on quorum queues the consumers are
   * started again. What the old consumers delivered stays held, unacked, on the channel, and no longer counts against
   * a prefetch: until it is acked the worker may hold up to that many more than its prefetch (the surplus waits in
   * this process, unacked, nothing lost). Counting it against the new consumers instead would leave them starved
   * once it is acked, until the next ETA task came or went.
   */
  private applyQos(): void {
    if (this.qosPending) return;
    this.qosPending = true;
    setImmediate(() => {
      this.qosPending = false;
      const change = this.consumingChange.then(async () => {
        const c = this.consuming;
        if (!c || !c.open || c.qos === this.qos) return;
        c.qos = this.qos;
        if (c.global) {
          await c.channel.prefetch(c.qos, true);
          return;
        }
        await c.channel.prefetch(c.qos, false);
        for (const queue of [...c.tags.keys()]) {
          await c.channel.cancel(c.tags.get(queue)!);
          c.tags.delete(queue);
          await this.startConsumer(c, queue);
        }
      });
      this.consumingChange = change.catch(() => undefined);
    });
  }

  /**
   * Consume exactly `queues` (consumers started or cancelled as the list changes: remote control's add_consumer and
   * cancel_consumer). Serialized, so two calls never race to open consumers.
   */
  private ensureConsuming(queues: readonly string[]): Promise<void> {
    const change = this.consumingChange.then(() => this.consume(queues));
    this.consumingChange = change.catch(() => undefined);
    return change;
  }

  private async consume(queues: readonly string[]): Promise<void> {
    if (this.closed || this.interrupted) return;
    // Declared first: whether any is a quorum queue decides the channel's QoS (a global one on a channel consuming
    // a quorum queue is a connection error).
    for (const queue of queues) await this.declareQueue(queue);
    const global = !queues.some((q) => this.quorum.has(q));
    let c = this.consuming;
    if (c && (!c.open || c.generation !== this.connection.generation)) c = this.consuming = undefined;
    if (c && c.global !== global) {
      // A quorum queue added to a channel with a global QoS (or the other way): a new channel. What the old one
      // delivered and the worker still holds goes back to the queues; its acks are skipped (see release()).
      await c.channel.close().catch(() => undefined);
      c = this.consuming = undefined;
    }
    if (!c) {
      const channel = await this.connection.channel();
      const made: Consuming = { channel, generation: this.connection.generation, seq: ++this.channels, open: true, global, tags: new Map(), qos: 0 };
      channel.on('error', (err: Error) => {
        // A channel error with the connection up: RabbitMQ's consumer_timeout, a queue deleted under a consumer...
        this.warn(`the broker closed the consumer channel (${errorMessage(err)}); what it held goes back to the queues, consuming again`);
      });
      channel.on('close', () => {
        made.open = false;
        if (this.consuming === made) this.consuming = undefined;
        // Whatever the channel delivered and nobody took yet went back to the queue with it.
        for (let i = this.arrived.length - 1; i >= 0; i--) if (this.arrived[i]!.consumer === made) this.arrived.splice(i, 1);
        this.wake?.();
      });
      c = this.consuming = made;
      if (this.prefetch > 0) {
        c.qos = this.qos;
        await channel.prefetch(c.qos, global);
      }
    }
    const wanted = new Set(queues);
    for (const [queue, tag] of c.tags) {
      if (wanted.has(queue)) continue;
      c.tags.delete(queue);
      await c.channel.cancel(tag).catch(() => undefined);
      // A queue dropped here (paused, cancel_consumer) may be dropped before stopConsuming runs, which then finds no
      // consumer: what it delivered and nobody took must go back now, or the next take would hand it out.
      this.giveBackArrived(c, queue);
    }
    for (const queue of wanted) if (!c.tags.has(queue)) await this.startConsumer(c, queue);
  }

  /** Put back in its queue (nack, requeue) what `queue`'s consumer on `c` delivered and no reserve took. */
  private giveBackArrived(c: Consuming, queue: string): void {
    for (let i = 0; i < this.arrived.length;) {
      const a = this.arrived[i]!;
      if (a.consumer !== c || a.queue !== queue) {
        i++;
        continue;
      }
      this.arrived.splice(i, 1);
      if (c.open) c.channel.nack(a.message, false, true);
    }
  }

  private async startConsumer(c: Consuming, queue: string): Promise<void> {
    const { consumerTag } = await c.channel.consume(queue, (message) => {
      if (message === null) {
        // Cancelled by the broker (queue deleted): consumed again, declared anew, on the next reserve.
        c.tags.delete(queue);
        this.connection.forget(`queue:${queue}`);
        return;
      }
      this.arrived.push({ message, queue, consumer: c });
      this.wake?.();
    }, { noAck: false });
    c.tags.set(queue, consumerTag);
  }

  private sameQueues(queues: readonly string[]): boolean {
    const c = this.consuming;
    if (!c || !c.open || c.generation !== this.connection.generation || c.tags.size !== queues.length) return false;
    return queues.every((q) => c.tags.has(q));
  }

  /**
   * Up to `max` of what arrived, for a reserve of `queues`. What arrived from a queue not in the list (no longer
   * consumed: a delivery that raced its consumer's cancel) goes back to its queue, never to the worker.
   */
  private take(queues: readonly string[], max: number): Delivery[] {
    this.giveBackUnwanted(queues);
    const out: Delivery[] = [];
    while (out.length < max && this.arrived.length > 0) {
      const { message, queue, consumer } = this.arrived.shift()!;
      if (!consumer.open) continue; // its channel is gone: the broker has it back
      const tag = `${consumer.seq}.${message.fields.deliveryTag}`;
      this.held.set(tag, { consumer, message });
      const { raw } = amqpToEnvelope({
        content: message.content, properties: message.properties as AmqpProperties,
        exchange: message.fields.exchange, routingKey: message.fields.routingKey, redelivered: message.fields.redelivered,
      }, tag);
      const delivery: Delivery = { tag, raw, queue };
      const invalid = undecodable(message.properties.headers);
      if (invalid) delivery.invalid = invalid;
      out.push(delivery);
    }
    return out;
  }

  async reserve(queues: readonly string[], max: number, _worker: string): Promise<Delivery[]> {
    if (!this.sameQueues(queues)) await this.ensureConsuming(queues);
    return this.take(queues, max);
  }

  /** What arrived from queues that a reserve does not list goes back to them (see take()). */
  private giveBackUnwanted(queues: readonly string[]): void {
    for (let i = 0; i < this.arrived.length;) {
      const { message, queue, consumer } = this.arrived[i]!;
      if (queues.includes(queue)) {
        i++;
        continue;
      }
      this.arrived.splice(i, 1);
      if (consumer.open) consumer.channel.nack(message, false, true);
    }
  }

  async waitAndReserve(queues: readonly string[], max: number, worker: string): Promise<Delivery[]> {
    if (this.interrupted) return [];
    if (!this.sameQueues(queues)) await this.ensureConsuming(queues);
    this.giveBackUnwanted(queues);
    if (this.arrived.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 100);
        function done(): void { clearTimeout(timer); resolve(); }
        this.wake = done;
      });
      this.wake = undefined;
    }
    if (this.interrupted) return [];
    return this.reserve(queues, max, worker);
  }

  /**
   * Cancel the consumer of one queue (serialized with the other consumer changes); after cancel-ok nothing more
   * arrives from it, and what it delivered that no reserve took yet goes back to the queue. What was taken stays held.
   */
  stopConsuming(queue: string): Promise<void> {
    const change = this.consumingChange.then(async () => {
      const c = this.consuming;
      const tag = c?.tags.get(queue);
      if (!c || tag === undefined) return;
      c.tags.delete(queue);
      if (!c.open) return;
      await c.channel.cancel(tag).catch(() => undefined);
      this.giveBackArrived(c, queue);
    });
    this.consumingChange = change.catch(() => undefined);
    return change;
  }

  /** The held message, unless the channel it came on is gone (RabbitMQ has put it back then; acking it is an error). */
  private release(tag: string): Held | undefined {
    const h = this.held.get(tag);
    if (!h) return undefined;
    this.held.delete(tag);
    return h.consumer.open ? h : undefined;
  }

  async ack(tag: string): Promise<void> {
    const h = this.release(tag);
    h?.consumer.channel.ack(h.message);
  }

  async giveBack(deliveries: readonly HeldMessage[]): Promise<number> {
    let n = 0;
    for (const d of deliveries) {
      const h = this.release(d.tag);
      if (!h) continue;
      h.consumer.channel.nack(h.message, false, true);
      n++;
    }
    return n;
  }

  async deadLetter(tag: string, record: DeadLetterRecord, bytes?: Buffer): Promise<number> {
    await this.declareDeadLetterQueue();
    const encoded = encodeDeadLetter(record, bytes);
    await this.connection.publish('', DEAD_LETTER_QUEUE, Buffer.isBuffer(encoded) ? encoded : Buffer.from(encoded),
      { deliveryMode: 2, contentType: 'application/json', contentEncoding: 'utf-8' });
    const h = this.release(tag);
    h?.consumer.channel.ack(h.message);
    return 0;
  }

  async restoreVisible(): Promise<number> { return 0; }
  async recover(_self: RecoveringWorker, _isAlive: (worker: string) => Promise<boolean>): Promise<Map<string, number>> { return new Map(); }
  async touch(_tags: readonly string[]): Promise<void> {}

  /**
   * A worker stopping. When it is the last one consuming here, stop consuming for good: the consumers are cancelled,
   * so RabbitMQ pushes nothing more, and what it pushed that nobody took goes straight back to its queue. While another
   * worker on the same app consumes, nothing changes (ending the waits then would leave that worker's fetch loop
   * spinning on [] without ever yielding); the stopping worker's own wait ends by itself within 100 ms. What the
   * worker holds it gives back itself.
   */
  async interrupt(): Promise<void> {
    if (!this.consumers.leave()) return;
    this.interrupted = true;
    this.wake?.();
    await this.consumingChange;
    const c = this.consuming;
    if (!c || !c.open) return;
    for (const [queue, tag] of [...c.tags]) {
      c.tags.delete(queue);
      await c.channel.cancel(tag).catch(() => undefined);
    }
    // After cancel-ok nothing more arrives: everything buffered can go back, in the order it came.
    for (const { message, consumer } of this.arrived.splice(0)) {
      if (consumer.open) consumer.channel.nack(message, false, true);
    }
  }

  resume(): void {
    this.consumers.join();
    this.interrupted = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await this.fanout.close();
    // The consumer channel first: its acks go out before its close (a connection's close may overtake them, and
    // RabbitMQ would then deliver again what was acked). What it still holds goes back to the queues.
    await this.consuming?.channel.close().catch(() => undefined);
    await this.connection.close();
  }

  // -----------------------------------------------------------------------------------------------
  // Inspection and admin

  async purge(queue: string): Promise<number> {
    try {
      return await this.connection.withChannel(async (ch) => (await ch.purgeQueue(queue)).messageCount);
    } catch (err) {
      if (/NOT_FOUND/.test(errorMessage(err))) return 0;
      throw err;
    }
  }

  /**
   * Ready messages per queue by passive declare, exact at the moment (the management API's counts lag by its
   * statistics interval, 5 s by default). One channel for all; a queue that does not exist is 0 and closes it, so
   * the next gets a new one.
   */
  async depths(queues: readonly string[]): Promise<QueueDepth[]> {
    const out: QueueDepth[] = [];
    let rest = [...queues];
    while (rest.length > 0) {
      const done = await this.connection.withChannel(async (ch) => {
        const counted: QueueDepth[] = [];
        for (const queue of rest) {
          try {
            counted.push({ queue, total: (await ch.checkQueue(queue)).messageCount, byPriority: {} });
          } catch (err) {
            if (!/NOT_FOUND/.test(errorMessage(err))) throw err;
            counted.push({ queue, total: 0, byPriority: {} });
            break; // the channel is closed now
          }
        }
        return counted;
      });
      out.push(...done);
      rest = rest.slice(done.length);
    }
    return out;
  }

  /**
   * Depth by passive declare (exact now), and the oldest waiting message's send time from the management API's
   * `head_message_timestamp`: the AMQP `timestamp` Radish sets (to the second) on every message it sends. Taking the
   * head message to read its stamp (basic.get, then a requeue) would hold it from the workers and mark it
   * redelivered, so without the API, or for a head message without a timestamp (Celery's), the age is unknown.
   */
  async queueStats(queues: readonly string[]): Promise<QueueStats[]> {
    const [depths, managed] = await Promise.all([this.depths(queues), this.management?.queues()]);
    const heads = new Map<string, number>();
    for (const q of managed ?? []) {
      const ts = q.head_message_timestamp;
      if (typeof ts === 'number' && Number.isFinite(ts) && ts > 0) heads.set(q.name, ts * 1000);
    }
    return depths.map(({ queue, total }) => {
      const oldest = total > 0 ? heads.get(queue) : undefined;
      return oldest === undefined ? { queue, depth: total } : { queue, depth: total, oldestSentAt: oldest };
    });
  }

  /** Every durable task queue of the vhost (management API); without it, none beyond those the caller knows. */
  async declaredQueues(): Promise<string[]> {
    const managed = await this.management?.queues();
    if (!managed) return [];
    return managed.filter((q) => q.durable && !q.auto_delete && !q.exclusive && isTaskQueueName(q.name)).map((q) => q.name).sort();
  }

  async peek(queue: string, _offset: number, _limit: number): Promise<{ raw: string; priority: number }[]> {
    throw new BrowseUnsupportedError(`RabbitMQ cannot show the messages waiting in ${queue} without taking them off the queue `
      + '(they would be held from the workers and come back marked redelivered), so Radish shows its depth only');
  }

  /**
   * Every record of the dead-letter queue, oldest first, read without taking them: each is got unacked on a channel
   * of its own, which is then closed, and RabbitMQ puts them all back in their places. `pick` may choose one to
   * take (ack) before the channel closes; it is called with each record in order, and `settle` runs before the one
   * picked is acked (a replay publishes it again first).
   */
  private async readDeadLetters(pick?: (record: string) => boolean, settle?: () => Promise<void>): Promise<{ records: string[]; picked: boolean }> {
    await this.declareDeadLetterQueue();
    return this.connection.withChannel(async (ch) => {
      const records: string[] = [];
      let picked = false;
      for (;;) {
        const m = await ch.get(DEAD_LETTER_QUEUE, { noAck: false });
        if (!m) break;
        const text = m.content.toString('utf8');
        records.push(text);
        if (!picked && pick?.(text) === true) {
          picked = true;
          await settle?.();
          ch.ack(m);
        }
      }
      return { records, picked };
    });
  }

  async deadLetters(offset: number, limit: number): Promise<string[]> {
    const { records } = await this.readDeadLetters();
    return records.reverse().slice(offset, offset + limit);
  }

  async deadLetterCount(): Promise<number> {
    await this.declareDeadLetterQueue();
    return this.connection.withChannel(async (ch) => (await ch.checkQueue(DEAD_LETTER_QUEUE)).messageCount);
  }

  async replayDeadLetter(record: string, queue: string, priority: number, message: string): Promise<boolean> {
    const { picked } = await this.readDeadLetters((r) => r === record, () => this.publish(queue, priority, message));
    return picked;
  }

  async discardDeadLetter(record: string): Promise<boolean> {
    return (await this.readDeadLetters((r) => r === record)).picked;
  }

  async purgeDeadLetters(): Promise<number> {
    await this.declareDeadLetterQueue();
    return this.purge(DEAD_LETTER_QUEUE);
  }

  /** Workers with a pidbox queue (management API), as `celery inspect` would reach them. */
  async pidboxNodes(): Promise<string[]> {
    const managed = await this.management?.queues();
    if (!managed) return [];
    const nodes: string[] = [];
    for (const q of managed) {
      const node = /^(.+)\.celery\.pidbox$/.exec(q.name)?.[1];
      // Auto-deleted with its consumer: a node queue exists while its worker is connected.
      if (node && !q.name.endsWith('.reply.celery.pidbox')) nodes.push(node);
    }
    return nodes.sort();
  }

  async unackedCount(): Promise<number | null> {
    const managed = await this.management?.queues();
    if (!managed) return null;
    return managed.filter((q) => isTaskQueueName(q.name)).reduce((n, q) => n + (q.messages_unacknowledged ?? 0), 0);
  }
}
