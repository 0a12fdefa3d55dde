/**
 * CONSUMER spans: one per task run, a child of the context its message carries (the producer span of whoever sent
 * it, Radish or Celery), active while the task runs and while its outcome is recorded, so that what the task sends
 * and what its end sends (a retry, link callbacks, the next chain step, a chord's callback) are its children.
 */
import type { Context, Span } from '@opentelemetry/api';
import type { TaskMessage } from '../protocol/message-types';
import { messageAttributes, messagingSystem, spanName } from './attributes';
import { tracing, type Tracing } from './otel-api';
import { ProducerSpans, type BrokerNamed } from './producer';
import type { RunTrace, SendSpans, TraceHeaders } from './types';
import { extractContext, injectHeaders, type HeaderCarrier } from './propagation';

/** {@link RunTrace} on the OpenTelemetry API. */
export class ConsumerTrace implements RunTrace {
  private readonly span: Span;
  private readonly context: Context;
  /** The messages sent as the run ends (retry, follow-ups), children of the run. */
  private readonly sends: SendSpans;
  private ended = false;

  constructor(private readonly t: Tracing, msg: TaskMessage, queue: string, app: BrokerNamed) {
    const { api, tracer } = t;
    const system = messagingSystem(app.brokerOptions.url);
    const parent = extractContext(api, msg.envelope.headers);
    const attributes = messageAttributes(system, 'process', msg.name, msg.id, queue);
    if (msg.retries > 0) attributes['celery.retries'] = msg.retries;
    this.span = tracer.startSpan(spanName('process', msg.name), { kind: api.SpanKind.CONSUMER, attributes }, parent);
    this.context = api.trace.setSpan(parent, this.span);
    this.sends = new ProducerSpans(t, system, this.context);
  }

  /** Run `fn` with the run's span active (what the task sends from within is its child). */
  within<T>(fn: () => T): T {
    return this.t.api.context.with(this.context, fn);
  }

  /** The hook that puts the run's context in the headers of a message its end sends (a retry, a follow-up). */
  get headers(): TraceHeaders {
    return this.sends.headers;
  }

  /**
   * The run's context as message headers, for a task process of the process pool to run the task in (what the task
   * sends there is then the run's child too).
   */
  get carrier(): Record<string, string> {
    return injectHeaders(this.t.api, this.context);
  }

  /** The task failed for good: status ERROR, the exception recorded. */
  failed(error: unknown): void {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.span.recordException(error instanceof Error ? error : message);
    this.span.setStatus({ code: this.t.api.SpanStatusCode.ERROR, message });
  }

  /** The task asked for a retry (or was retried automatically): an event, as the run did not fail. */
  retried(reason: string, eta: Date): void {
    this.span.addEvent('retry', { 'celery.retry.reason': reason, 'celery.retry.eta': eta.toISOString() });
  }

  /** End the run's span (and those of the messages its end sent). Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.sends.end();
    this.span.end();
  }
}

/** The trace of a run about to start, or undefined when tracing is off (nothing is read or allocated then). */
export function traceRun(msg: TaskMessage, queue: string, app: BrokerNamed): RunTrace | undefined {
  const t = tracing();
  return t ? new ConsumerTrace(t, msg, queue, app) : undefined;
}

/**
 * Run `fn` in the context `carrier` holds (a run's, sent to a task process with its task), so that what the task
 * sends is a child of that run; just `fn()` when tracing is off here or there is no carrier.
 */
export function withinCarried<T>(carrier: HeaderCarrier | undefined, fn: () => T): T {
  const t = carrier ? tracing() : undefined;
  if (!t || !carrier) return fn();
  return t.api.context.with(extractContext(t.api, carrier), fn);
}
