/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate` headers, written and
 * read by Radish itself when the application registered no propagator, so that a task message always carries the
 * context the way Celery's OpenTelemetry instrumentation does (its default propagator writes these two headers).
 */
import type { SpanContext } from '@opentelemetry/api';
import type { Api } from './otel-api';

/** The header names, as they sit at the top level of a task message's headers. */
export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** `00-<trace id>-<span id>-<flags>`. */
export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The remote span context a `traceparent` (and `tracestate`) names, or undefined for a missing or malformed one
 * (version ff, zero ids, extra fields after a version 00 header), as the specification says to ignore those.
 */
export function parseTraceparent(api: Api, traceparent: unknown, tracestate: unknown): SpanContext | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const m = TRACEPARENT_RE.exec(traceparent.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const context: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
  if (typeof tracestate === 'string' && tracestate !== '') context.traceState = api.createTraceState?.(tracestate);
  return context;
}
