/**
 * PRODUCER spans: one per message sent (a task, each member of a group, each follow-up a worker sends), a child of
 * the context it is sent from, and carried in the message's headers to the task that runs it.
 */
import type { Context, Span } from '@opentelemetry/api';
import type { JsonObject } from '../protocol/json';
import type { TaskCall } from '../protocol/task-call';
import type { SendSpans } from './types';
import { messageAttributes, messagingSystem, spanName, type MessagingSystem } from './attributes';
import { tracing, type Tracing } from './otel-api';
import { injectHeaders } from './propagation';

/** Anything that names its broker: the app (its URL says which messaging system the spans name). */
export interface BrokerNamed {
  readonly brokerOptions: { url?: string | undefined };
}

/** {@link SendSpans} on the OpenTelemetry API (one occasion's; a task's follow-ups are one too). */
export class ProducerSpans implements SendSpans {
  private readonly spans: Span[] = [];

  /** @param parent the context the messages are sent from; default: the active one when each is built. */
  constructor(private readonly t: Tracing, private readonly system: MessagingSystem, private readonly parent?: Context) {}

  /**
   * Start the span of a message about to be encoded and return the headers that carry it (to set as the call's
   * extra headers). A function property, so it can be handed over as a hook unbound.
   */
  readonly headers = (call: TaskCall): JsonObject => {
    const { api, tracer } = this.t;
    const parent = this.parent ?? api.context.active();
    const span = tracer.startSpan(spanName('send', call.name), {
      kind: api.SpanKind.PRODUCER,
      attributes: messageAttributes(this.system, 'send', call.name, call.id, call.queue),
    }, parent);
    this.spans.push(span);
    return { ...call.headers, ...injectHeaders(api, api.trace.setSpan(parent, span)) };
  };

  /** End every span started; with `error`, as failed sends (the publish did not happen, or not all of it). */
  end(error?: unknown): void {
    for (const span of this.spans.splice(0)) {
      if (error !== undefined) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: this.t.api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      }
      span.end();
    }
  }

  /** Wait for the publish, ending the spans as it went; rejects as it did. */
  async track<T>(publish: Promise<T>): Promise<T> {
    try {
      const value = await publish;
      this.end();
      return value;
    } catch (err) {
      this.end(err);
      throw err;
    }
  }
}

/**
 * The producer spans of a send from this process's current context, or undefined when tracing is off (no
 * `@opentelemetry/api`, or no tracer provider registered): callers then build their messages exactly as without
 * tracing, on the fast encoder.
 */
export function traceSends(app: BrokerNamed): SendSpans | undefined {
  const t = tracing();
  if (!t) return undefined;
  return new ProducerSpans(t, messagingSystem(app.brokerOptions.url));
}
