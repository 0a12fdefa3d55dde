/**
 * Receives Celery events (from Radish workers and from Python Celery workers started with `-E`) the way Flower and
 * `celery events` do: through the broker's fanout (PSUBSCRIBE `/<db>.celeryev/*` on Redis, a `celeryev.<id>` queue
 * bound to the `celeryev` topic exchange on RabbitMQ) on a connection of its own, decode each message, and hand
 * over its events one by one, a `task.multi` batch in order. A message that is not an event is reported and
 * skipped: a monitor never stops on bad input.
 *
 *     const receiver = await EventReceiver.forApp(app, (event) => console.log(event.type, event.uuid));
 *     ...
 *     await receiver.close();
 *
 * Events are broadcast, not kept: what is sent while the connection is down is lost (as for every Celery monitor).
 * After an outage the receiver listens again by itself.
 */
import type { Radish } from '../app';
import { connectBroker } from '../broker/connect';
import type { Broker, BrokerOptions } from '../broker/transport';
import { decodeEventMessage, EventError, type CeleryEvent, type EventMessage } from '../protocol/event';

/** Called for each event, in the order sent; `message` is the whole message it came in (a batch for task.multi). */
export type EventHandler = (event: CeleryEvent, message: EventMessage) => void | Promise<void>;

export interface EventReceiverOptions {
  /** Routing-key glob to listen to: `*` for every event (default), `worker.*`, `task.*`... */
  routingKeys?: string;
  /**
   * Told of what could not be handled: a message that is not an event (`EventError`, with the raw text), an event
   * without a hostname or timestamp, or an error thrown by the handler. Default: ignored.
   */
  onError?: (err: Error, raw?: string) => void;
  /** Told when the connection is back after an outage (it is subscribed again by then). */
  onReconnect?: () => void;
}

/** Counts since start, for a status line or a test. */
export interface ReceiverStats {
  /** Messages received on the channel. */
  messages: number;
  /** Events handed to the handler. */
  events: number;
  /** Messages or events reported to `onError`. */
  errors: number;
}

function isValidEvent(event: CeleryEvent): boolean {
  return typeof event.hostname === 'string' && typeof event.timestamp === 'number' && Number.isFinite(event.timestamp);
}

export class EventReceiver {
  readonly stats: ReceiverStats = { messages: 0, events: 0, errors: 0 };
  private readonly routingKeys: string;
  private readonly onError: (err: Error, raw?: string) => void;
  private broker: Broker | undefined;
  private subscription: { close(): Promise<void> } | undefined;
  private down = false;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  /**
   * @param config the broker connection settings (key prefix included); the receiver opens its own connection.
   * @param handler called for each event.
   */
  constructor(private readonly config: BrokerOptions, private readonly handler: EventHandler,
    private readonly options: EventReceiverOptions = {}) {
    this.routingKeys = options.routingKeys ?? '*';
    this.onError = options.onError ?? (() => undefined);
  }

  /** A started receiver on an app's broker (its URL, password and key prefix). */
  static async forApp(app: Radish, handler: EventHandler, options: EventReceiverOptions = {}): Promise<EventReceiver> {
    const receiver = new EventReceiver(app.brokerOptions, handler, options);
    await receiver.start();
    return receiver;
  }

  /** Whether the connection is up and subscribed. */
  get connected(): boolean {
    return this.subscription !== undefined && !this.down;
  }

  /** Connect and subscribe; resolves once subscribed. Idempotent. Throws when the broker cannot be reached. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('this EventReceiver is closed'));
    this.starting ??= this.subscribe().catch((err: unknown) => {
      this.starting = undefined; // a later start() may try again
      throw err;
    });
    return this.starting;
  }

  private async subscribe(): Promise<void> {
    // Its own connection: events never wait behind the app's commands. Work waits while it is down (listening again
    // after an outage must not be refused), whatever the app chose for its own connection.
    const broker = await connectBroker({ ...this.config, offlineQueue: true }, { name: 'radish-events' });
    if (this.closing) {
      await broker.close();
      return;
    }
    this.broker = broker;
    this.subscription = await broker.fanout.subscribeEvents(this.routingKeys, {
      event: (raw) => this.receive(raw),
      lost: () => { this.down = true; },
      back: () => {
        this.down = false;
        this.options.onReconnect?.();
      },
    });
  }

  private report(err: Error, raw?: string): void {
    this.stats.errors++;
    try {
      this.onError(err, raw);
    } catch {
      // An error reporter that fails must not take the subscription down with it.
    }
  }

  private receive(raw: string): void {
    this.stats.messages++;
    let message: EventMessage;
    try {
      message = decodeEventMessage(raw);
    } catch (err) {
      this.report(err instanceof Error ? err : new EventError(String(err)), raw);
      return;
    }
    for (const event of message.events) {
      if (!isValidEvent(event)) {
        this.report(new EventError(`${event.type} event without a hostname or timestamp`), raw);
        continue;
      }
      this.stats.events++;
      try {
        const done = this.handler(event, message);
        if (done instanceof Promise) done.catch((err: unknown) => this.report(err instanceof Error ? err : new Error(String(err))));
      } catch (err) {
        this.report(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Unsubscribe and close the connection. Idempotent; the receiver cannot be started again. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.starting?.catch(() => undefined);
      const { broker, subscription } = this;
      this.broker = undefined;
      this.subscription = undefined;
      await subscription?.close().catch(() => undefined);
      await broker?.close().catch(() => undefined);
    })();
    return this.closing;
  }
}
