/**
 * Trace context in and out of a task message's headers. The application's propagator (`propagation.setGlobalPropagator`,
 * or an SDK's default) is used when it has one, so baggage and any other fields it writes travel too; W3C
 * `traceparent`/`tracestate` are written (and read) by Radish when it did not write them, as Celery's
 * instrumentation always finds them there.
 */
import type { Context, TextMapGetter } from '@opentelemetry/api';
import type { Api } from './otel-api';
import { formatTraceparent, parseTraceparent, TRACEPARENT, TRACESTATE } from './w3c';

/** Message headers as read: any JSON value under any key; only strings are taken as propagation fields. */
export type HeaderCarrier = Readonly<Record<string, unknown>>;

const getter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

/** The headers that carry `context` (the span in it) to the task that will run the message. */
export function injectHeaders(api: Api, context: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  api.propagation.inject(context, headers);
  if (headers[TRACEPARENT] === undefined) {
    const span = api.trace.getSpanContext(context);
    if (span && api.isSpanContextValid(span)) {
      headers[TRACEPARENT] = formatTraceparent(span);
      const state = span.traceState?.serialize();
      if (state) headers[TRACESTATE] = state;
    }
  }
  return headers;
}

/** The context a message's headers carry (ROOT_CONTEXT with nothing in it when they carry none). */
export function extractContext(api: Api, headers: HeaderCarrier): Context {
  const context = api.propagation.extract(api.ROOT_CONTEXT, headers, getter);
  if (api.trace.getSpanContext(context)) return context;
  const remote = parseTraceparent(api, headers[TRACEPARENT], headers[TRACESTATE]);
  return remote ? api.trace.setSpanContext(context, remote) : context;
}
