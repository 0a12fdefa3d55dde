/**
 * What the rest of Radish sees of a trace: interfaces that name nothing of OpenTelemetry's, so that Radish's
 * declarations (dist/types) compile in a project without the optional `@opentelemetry/api`. The implementations are
 * ./producer.ts and ./consumer.ts.
 */
import type { JsonObject } from '../protocol/json';
import type { TaskCall } from '../protocol/task-call';

/** The headers that carry a trace context to the task a message will run: given the message's call, just before it is encoded. */
export type TraceHeaders = (call: TaskCall) => JsonObject;

/**
 * The producer spans of one occasion (a send, a bulk send, a canvas applied): started as each message is built
 * ({@link headers}), ended together once the messages are published ({@link end}, {@link track}).
 */
export interface SendSpans {
  /** Start the span of a message about to be encoded; returns the call's headers with the span's context added. */
  readonly headers: TraceHeaders;
  /** End every span started; with `error`, as failed sends. */
  end(error?: unknown): void;
  /** Wait for the publish, ending the spans as it went; rejects as it did. */
  track<T>(publish: Promise<T>): Promise<T>;
}

/** The trace of one task run (its CONSUMER span). */
export interface RunTrace {
  /** Run `fn` with the run's span active: what the task sends from within is its child. */
  within<T>(fn: () => T): T;
  /** Puts the run's context in the headers of a message its end sends (a retry, a follow-up). */
  readonly headers: TraceHeaders;
  /** The run's context as message headers, for a task process of the process pool to run the task in. */
  readonly carrier: Record<string, string>;
  /** The task failed for good: status ERROR, the exception recorded. */
  failed(error: unknown): void;
  /** The task is retried: an event on the run (which did not fail). */
  retried(reason: string, eta: Date): void;
  /** End the run's span and those of the messages its end sent. Idempotent. */
  end(): void;
}
