/**
 * One AMQP connection that outlives outages: it connects to the first host of the list that answers, and when the
 * connection drops (broker restarted, node of a cluster stopped, network) it connects again, trying each host in
 * turn with capped exponential backoff, and runs the owner's set-up again (declarations, consumers). Operations
 * issued meanwhile wait for it, as Redis commands wait in ioredis's offline queue.
 */
import { EventEmitter } from 'node:events';
import type * as amqp from 'amqplib';
import { errorMessage } from '../../errors';
import { amqplib } from '../../on-demand/load';
import type { AmqpEndpoint } from './url';

/** The broker could not be reached at all; the message names the URL(s) (passwords hidden) and the cause. */
export class AmqpUnavailableError extends Error {
  override readonly name = 'AmqpUnavailableError';
}

export interface AmqpConnectionOptions {
  /** Shown in the RabbitMQ management UI's connection list (`connection_name`). */
  name: string;
  /** How long one host may take to answer before the next is tried. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Heartbeat in seconds; 0 turns it off. Default 60. */
  heartbeat?: number;
  /**
   * Hold operations while the connection is down (default true: a worker rides out an outage). False makes them
   * fail at once instead, which suits an interactive tool (the extension).
   */
  offline?: boolean;
}

export interface AmqpConnectionEvents {
  /** The connection dropped; operations wait until `restored`. */
  lost: [reason: string];
  /** Connected again (to `endpoint`); owners declare and consume again on it. */
  restored: [endpoint: AmqpEndpoint];
}

/** How many times a publish whose confirm was lost with its channel is tried in all. */
const PUBLISH_ATTEMPTS = 8;

/** An answer of the broker itself, which trying again would not change: a nack, or a channel error with a reply code. */
function refused(err: unknown): boolean {
  if (/nack/i.test(errorMessage(err))) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && [403, 404, 405, 406].includes(code);
}

/** How long the broker may take to answer a channel operation or confirm a message before it is taken for lost. */
const ANSWER_TIMEOUT_MS = 30_000;

/**
 * `promise`, or an error saying `late` after `ms`: a reply that can no longer come (its connection died unnoticed)
 * must fail the operation, which the caller may try again, rather than wait for ever.
 */
function within<T>(promise: Promise<T>, ms: number, late: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(late)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** {@link within} the time the broker has to answer a channel operation or confirm a message. */
function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  return within(promise, ANSWER_TIMEOUT_MS, `no answer from the broker within ${ANSWER_TIMEOUT_MS / 1000} s (${what})`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class AmqpConnection extends EventEmitter<AmqpConnectionEvents> {
  /** Bumped on every (re)connection: delivery tags and channels of an earlier one are no longer valid. */
  generation = 0;
  endpoint: AmqpEndpoint;
  private model: amqp.ChannelModel | undefined;
  private waiting: Promise<amqp.ChannelModel> | undefined;
  private publisher: Promise<amqp.ConfirmChannel> | undefined;
  /** What was declared (`queue:<name>`, `exchange:<name>`) -> the generation of the connection it was declared on. */
  private readonly declared = new Map<string, number>();
  private closed = false;
  private next = 0;

  private constructor(private readonly endpoints: readonly AmqpEndpoint[], private readonly options: AmqpConnectionOptions) {
    super();
    this.endpoint = endpoints[0]!;
  }

  /** Connect to the first host that answers; throws AmqpUnavailableError naming each host's failure. */
  static async open(endpoints: readonly AmqpEndpoint[], options: AmqpConnectionOptions): Promise<AmqpConnection> {
    const conn = new AmqpConnection(endpoints, options);
    const failures: string[] = [];
    for (let i = 0; i < endpoints.length; i++) {
      try {
        conn.attach(await conn.dial(i), i);
        return conn;
      } catch (err) {
        failures.push(`${endpoints[i]!.display}: ${errorMessage(err)}`);
      }
    }
    throw new AmqpUnavailableError(`cannot connect to RabbitMQ at ${failures.join('; ')}`);
  }

  get serverProperties(): Record<string, unknown> {
    return (this.model?.connection.serverProperties ?? {}) as Record<string, unknown>;
  }

  get connected(): boolean {
    return this.model !== undefined;
  }

  private async dial(index: number): Promise<amqp.ChannelModel> {
    const e = this.endpoints[index]!;
    const timeout = this.options.connectTimeoutMs ?? 5000;
    const socket: Record<string, unknown> = { timeout, clientProperties: { connection_name: this.options.name } };
    if (e.tls) Object.assign(socket, e.tls);
    const connecting = amqplib().connect({
      protocol: e.protocol, hostname: e.hostname, port: e.port, username: e.username, password: e.password,
      vhost: e.vhost, heartbeat: this.options.heartbeat ?? 60, locale: 'en_US',
    }, socket);
    try {
      return await within(connecting, timeout, `no answer within ${timeout} ms`);
    } catch (err) {
      // A connection that opens after the deadline is closed, not leaked.
      void connecting.then((m) => m.close(), () => undefined);
      throw err;
    }
  }

  /** Take a connection just opened (in the same turn as its open, so no close can have come before the listener). */
  private attach(model: amqp.ChannelModel, index: number): void {
    model.on('error', () => undefined); // 'close' follows with the reason
    model.on('close', (err?: Error) => this.dropped(model, err ? errorMessage(err) : 'connection closed'));
    this.generation++;
    this.publisher = undefined;
    this.model = model;
    this.endpoint = this.endpoints[index]!;
    this.next = index;
  }

  private dropped(model: amqp.ChannelModel, reason: string): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.publisher = undefined;
    if (this.closed) return;
    this.emit('lost', reason);
    void this.reconnect();
  }

  private reconnect(): Promise<amqp.ChannelModel> {
    this.waiting ??= (async () => {
      for (let attempt = 0; !this.closed; attempt++) {
        // The host that was lost is tried again last: in a cluster, another node is most likely up.
        const index = (this.next + 1 + attempt) % this.endpoints.length;
        try {
          const model = await this.dial(index);
          if (this.closed) {
            await model.close().catch(() => undefined);
            break;
          }
          this.attach(model, index);
          this.emit('restored', this.endpoints[index]!);
          return model;
        } catch {
          await delay(Math.min(100 * 2 ** Math.min(attempt, 6), 5000));
        }
      }
      throw new Error('the AMQP connection is closed');
    })().finally(() => { this.waiting = undefined; });
    return this.waiting;
  }

  /** The open connection, waiting for it while it is down (or failing at once with `offline: false`). */
  async ready(): Promise<amqp.ChannelModel> {
    if (this.model) return this.model;
    if (this.closed) throw new Error('the AMQP connection is closed');
    if (this.options.offline === false) throw new AmqpUnavailableError(`RabbitMQ at ${this.endpoint.display} is not reachable`);
    return this.waiting ?? this.reconnect();
  }

  /** The confirm channel messages are published on (made again after a channel error or reconnection). */
  async publishing(): Promise<amqp.ConfirmChannel> {
    this.publisher ??= (async () => {
      const model = await this.ready();
      const ch = await model.createConfirmChannel();
      ch.on('error', () => undefined);
      ch.on('close', () => { if (this.publisher === made) this.publisher = undefined; });
      return ch;
    })();
    const made = this.publisher;
    try {
      return await made;
    } catch (err) {
      if (this.publisher === made) this.publisher = undefined;
      throw err;
    }
  }

  /** Publish and wait for the broker's confirm (the message is then stored, if persistent, in a durable queue). */
  async publish(exchange: string, routingKey: string, content: Buffer, options: amqp.Options.Publish): Promise<void> {
    const ch = await this.publishing();
    await bounded(new Promise<void>((resolve, reject) => {
      ch.publish(exchange, routingKey, content, options, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
    }), 'the broker\'s confirm');
  }

  /**
   * Run `work` (declarations and publishes) until it completes, again when the channel or the connection it used went
   * down under it (a broker restarted, a node of a cluster stopped): a publish whose confirm was lost may or may not
   * have been stored, so it is sent again once the connection is back, as kombu's producer retries (at-least-once).
   * What the broker refused (a nack, a missing or mismatched queue, a refused access) is thrown at once.
   */
  async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (this.closed || attempt >= PUBLISH_ATTEMPTS || refused(err)) throw err;
        await delay(Math.min(50 * 2 ** attempt, 1000));
      }
    }
  }

  /**
   * Run `work` on a channel of its own, closed after: for operations that may fail with a channel error (a passive
   * declare of a missing queue, a declaration that does not match), which would otherwise close a shared channel.
   */
  async withChannel<T>(work: (ch: amqp.Channel) => Promise<T>): Promise<T> {
    const model = await this.ready();
    const ch = await bounded(model.createChannel(), 'a new channel');
    let broken = false;
    ch.on('error', () => { broken = true; });
    try {
      return await bounded(work(ch), 'the broker\'s answer');
    } finally {
      if (!broken) await bounded(ch.close(), 'closing a channel').catch(() => undefined);
    }
  }

  /** A long-lived channel (a consumer's); its owner watches its `close`. */
  async channel(): Promise<amqp.Channel> {
    const ch = await (await this.ready()).createChannel();
    ch.on('error', () => undefined);
    return ch;
  }

  /**
   * Run `declare` once per connection for `key`: again after a reconnection, since the broker may have restarted
   * without what was declared. Concurrent first calls may each run it (declarations are idempotent).
   */
  async declareOnce(key: string, declare: () => Promise<void>): Promise<void> {
    if (this.declared.get(key) === this.generation) return;
    const generation = this.generation;
    await declare();
    this.declared.set(key, generation);
  }

  /** Declare `key` again on its next {@link declareOnce} (the queue was deleted under a consumer). */
  forget(key: string): void {
    this.declared.delete(key);
  }

  /** Close the connection; idempotent. Messages delivered and not acked go back to their queues (the broker does it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const model = this.model;
    this.model = undefined;
    await model?.close().catch(() => undefined);
  }
}
