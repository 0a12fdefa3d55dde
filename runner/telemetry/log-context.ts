/**
 * The trace of the task a log line is written for, as a field of the line: `[trace_id=<32 hex> span_id=<16 hex>]`,
 * the names Python's OpenTelemetry logging instrumentation gives them, so a log search finds a task's lines from its
 * trace (and the other way round) in either language. Only while tracing is on and a span is active.
 */
import { tracing } from './otel-api';

/** `message` with the active span's ids before it, or unchanged when tracing is off or no span is active. */
export function withTraceIds(message: string): string {
  const t = tracing();
  if (!t) return message;
  const span = t.api.trace.getSpanContext(t.api.context.active());
  if (!span || !t.api.isSpanContextValid(span)) return message;
  return `[trace_id=${span.traceId} span_id=${span.spanId}] ${message}`;
}
