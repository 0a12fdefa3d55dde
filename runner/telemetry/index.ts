/** OpenTelemetry tracing of sends and runs, on when the application registers a tracer provider (see ./otel-api.ts). */
export { traceRun, withinCarried } from './consumer';
export { traceSends, type BrokerNamed } from './producer';
// Import these from ./types where a declaration names them (app.ts, recorder.ts): it keeps the optional API out of
// Radish's published declarations.
export type { RunTrace, SendSpans, TraceHeaders } from './types';
export { withTraceIds } from './log-context';
export { resolveApiFrom } from './otel-api';
export { TRACEPARENT, TRACESTATE } from './w3c';
