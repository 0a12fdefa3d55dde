/**
 * A worker's remote-control mailbox, the worker side of Celery's pidbox: it hears the commands broadcast to workers
 * (from `celery inspect`/`celery control`, Flower, or Radish's own Control) through the broker's fanout, runs the
 * ones meant for this node through the owner's handler table, and answers where the sender waits. It knows no
 * command itself: the worker decides what `ping`, `revoke`, `active`... mean, and no transport: the broker's
 * {@link Fanout} carries requests and replies.
 */
import { REPLY_EXCHANGE } from '../broker/keys';
import type { Fanout, PidboxSubscription } from '../broker/transport';
import { createLogger, type Logger } from '../log';
import type { JsonObject } from '../protocol/message';
import {
  commandError, decodeRequest, encodeReply, isAddressedTo, LamportClock, noSuchCommand, PidboxError,
  type PidboxRequest, type ReplyTo,
} from '../protocol/pidbox';
import { pyRepr } from '../protocol/pyrepr';
import { errorMessage } from '../errors';

/**
 * Runs one command. `args` are the request's keyword arguments (`{}` when none); what it returns or resolves to is
 * the reply value (undefined becomes null). A throw becomes Celery's `{"error": "<Type>('<message>')"}` reply.
 */
export type ControlHandler = (args: JsonObject, request: PidboxRequest) => unknown;

/** Method name -> handler, e.g. `{ ping: () => ok('pong') }`. Only own properties count as methods. */
export type ControlHandlers = Readonly<Record<string, ControlHandler>>;

export interface MailboxOptions {
  /** This node's name, as `celery inspect -d` and replies spell it (`radish@host`). */
  hostname: string;
  handlers: ControlHandlers;
  /** The broker's events and remote control; the mailbox listens and replies through it. */
  fanout: Fanout;
  /** Default: Celery-shaped lines on stderr at `info`. */
  logger?: Logger;
  /** A Lamport clock to share (e.g. with the worker's events). Default: the mailbox's own. */
  clock?: LamportClock;
  /**
   * Called when the mailbox hears requests again after an outage. Commands broadcast meanwhile were lost, so a
   * worker reloads what it can here, e.g. `RevokedStore.load()`. Errors are logged.
   */
  onReconnect?: () => void | Promise<void>;
  /** How long `stop()` waits for replies in progress and for leaving the binding set. Default 2000 ms. */
  stopGraceMs?: number;
  /** The time in milliseconds, for request expiry. Default `Date.now`. */
  now?: () => number;
}

/** `promise`'s value, or `'timed out'` after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timed out'>((resolve) => { timer = setTimeout(() => resolve('timed out'), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export class Mailbox {
  readonly hostname: string;
  readonly clock: LamportClock;
  private readonly logger: Logger;
  private readonly now: () => number;
  private subscription: PidboxSubscription | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private down = false;

  constructor(private readonly options: MailboxOptions) {
    this.hostname = options.hostname;
    this.clock = options.clock ?? new LamportClock();
    this.logger = options.logger ?? createLogger('info');
    this.now = options.now ?? Date.now;
  }

  /** Subscribe and announce the node in kombu's pidbox binding set. Resolves once commands are heard. Idempotent. */
  async start(): Promise<void> {
    if (this.stopping) await this.stopping;
    this.starting ??= this.open().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async open(): Promise<void> {
    this.subscription = await this.options.fanout.listenPidbox(this.hostname, {
      request: (raw) => { if (!this.stopping) this.track(this.receive(raw)); },
      lost: (reason) => this.lost(reason),
      back: () => void this.resume(),
    });
  }

  /** Log an outage once, not on every reconnection attempt. */
  private lost(reason: string): void {
    if (this.down || !this.subscription) return;
    this.down = true;
    // Debug only: the worker already says once, at warning, that the broker connection is lost and back.
    this.logger.log('debug', `pidbox: lost the connection to the broker (${reason}); reconnecting`);
  }

  /** After an outage (the fanout has announced the node again): catch up on what was missed. */
  private async resume(): Promise<void> {
    if (!this.subscription) return;
    this.down = false;
    this.logger.log('debug', 'pidbox: connection to the broker is back');
    try {
      await this.options.onReconnect?.();
    } catch (err) {
      this.logger.log('error', `pidbox: catching up after the outage failed: ${errorMessage(err)}`);
    }
  }

  /** Stop hearing commands, finish the ones being handled (their replies are sent), leave the binding set. Idempotent. */
  stop(): Promise<void> {
    const starting = this.starting;
    if (!starting) return Promise.resolve();
    this.stopping ??= (async () => {
      await starting.catch(() => undefined);
      const subscription = this.subscription;
      // While the broker is down commands wait for it to come back (a connection may not know yet that it is gone):
      // stop() waits a grace period at most. Requests in progress finish (their replies are sent) before the node
      // withdraws; none is taken after stop() began.
      const grace = this.options.stopGraceMs ?? 2000;
      await within(Promise.allSettled([...this.inflight]), grace);
      this.subscription = undefined;
      const removed = subscription ? await within(subscription.close(), grace).catch((err: Error) => err) : undefined;
      if (removed === 'timed out' || removed instanceof Error) {
        // A stale announcement only makes tools list a node that does not answer, as after a killed Celery worker.
        const why = removed instanceof Error ? removed.message : 'the broker did not answer in time';
        this.logger.log('warning', `pidbox: ${this.hostname} is still listed as a remote-control node (${why})`);
      }
      this.starting = undefined;
      this.stopping = undefined;
    })();
    return this.stopping;
  }

  private track(work: Promise<void>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  /**
   * Handle one raw request as if it had arrived on the channel: decode, filter by destination and expiry, run the
   * handler, reply when asked. Never rejects: whatever goes wrong is logged.
   */
  async receive(raw: string): Promise<void> {
    try {
      let request: PidboxRequest;
      try {
        request = decodeRequest(raw);
      } catch (err) {
        const reason = err instanceof PidboxError ? err.reason : String(err);
        this.logger.log('warning', `pidbox: ignored a message that is not a control request: ${reason}`);
        return;
      }
      this.clock.adjust(request.clock);
      if (!isAddressedTo(request, this.hostname)) return;
      // A late request is still acted on, as kombu's worker side does: a revoke must not be lost to a busy event
      // loop or a skewed clock. Only its reply is skipped, since the sender has stopped listening by then.
      const late = request.expires > 0 && this.now() / 1000 > request.expires;
      if (this.logger.enabled('debug')) {
        const call = Object.entries(request.arguments).map(([k, v]) => `${k}=${pyRepr(v)}`).join(', ');
        const to = JSON.stringify(request.replyTo);
        this.logger.log('debug', `pidbox received method ${request.method}(${call}) [reply_to:${to} ticket:${request.ticket}]`);
      }
      const value = await this.dispatch(request);
      if (request.replyTo && !late) await this.reply(request.replyTo, request.ticket, value);
    } catch (err) {
      this.logger.log('error', `pidbox: could not handle a control request: ${errorMessage(err)}`);
    }
  }

  private async dispatch(request: PidboxRequest): Promise<unknown> {
    const { handlers } = this.options;
    // Own properties only: `constructor` or `toString` must not be callable from the network.
    const handler = Object.hasOwn(handlers, request.method) ? handlers[request.method] : undefined;
    if (!handler) {
      const reply = noSuchCommand(request.method);
      this.logger.log('error', `pidbox command error: ${reply.error}`);
      return reply;
    }
    try {
      return await handler(request.arguments, request);
    } catch (err) {
      const reply = commandError(err);
      const stack = err instanceof Error && err.stack ? '\n' + err.stack : '';
      this.logger.log('error', `pidbox command error: ${reply.error}${stack}`);
      return reply;
    }
  }

  private async reply(replyTo: ReplyTo, ticket: string | null, value: unknown): Promise<void> {
    if (replyTo.exchange !== REPLY_EXCHANGE) {
      // kombu would route to any exchange named here; a request could then push replies into a task queue.
      const exchange = JSON.stringify(replyTo.exchange);
      this.logger.log('warning', `pidbox: not replying through exchange ${exchange} (only ${REPLY_EXCHANGE})`);
      return;
    }
    const meta = { clock: this.clock.forward() };
    let payload: string;
    try {
      payload = encodeReply(this.hostname, value, { ticket, replyTo }, meta);
    } catch (err) {
      const refused = commandError(new TypeError(`reply is not JSON serializable: ${errorMessage(err)}`));
      payload = encodeReply(this.hostname, refused, { ticket, replyTo }, meta);
    }
    const delivered = await this.options.fanout.replyPidbox(replyTo, payload);
    // As kombu: nobody bound to the reply exchange under that key means the client gave up; nothing is pushed.
    if (!delivered) this.logger.log('debug', `pidbox: nobody waits for replies on ${replyTo.routing_key} any more`);
  }
}
