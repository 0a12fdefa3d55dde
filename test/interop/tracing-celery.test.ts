/**
 * A trace across TypeScript and Python tasks, with a real Celery 5.2.6 on the same Redis. Python's OpenTelemetry is
 * not installed here (Debian packages none), so the Python side carries the context exactly as Celery's
 * instrumentation (opentelemetry-instrumentation-celery) does: it injects `traceparent`/`tracestate` into the headers
 * `before_task_publish` hands it, which are the message's top-level headers (what `send_task(headers=...)` writes, as
 * checked in the raw message here), and extracts them from the task's request, `getattr(request, 'traceparent')`,
 * which a Python task reports back (tasks.trace_echo).
 */
import assert from 'node:assert/strict';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { celerySend, type CeleryWorker, requireCelery, startCeleryWorker } from '../support/celery';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

const exporter = new InMemorySpanExporter();
const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const traceparentOf = (s: ReadableSpan): string => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`;

/** The one finished span named so (with a predicate to pick among several). */
function span(name: string, pick: (s: ReadableSpan) => boolean = () => true): ReadableSpan {
  const found = spans().filter((s) => s.name === name && pick(s));
  assert.equal(found.length, 1, `one span ${name}; finished: ${spans().map((s) => s.name).join(', ')}`);
  return found[0]!;
}

/** What tasks.trace_echo reports: the context as Celery's instrumentation would extract it. */
interface Echo { traceparent: string | null; tracestate: string | null }

describe('a trace across TypeScript and Python Celery 5.2.6 tasks', function () {
  this.timeout(120_000);
  const h = redisHarness();
  let app: Radish;
  let worker: Worker | undefined;
  let celery: CeleryWorker | undefined;

  before(function () {
    requireCelery(this);
  });

  beforeEach(() => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    // Python's tasks (tasks.*) go to the queue the Celery worker serves; Radish serves `celery`.
    app = new Radish({ broker: h.server.url, routes: { 'tasks.*': 'python' } });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await celery?.stop();
    celery = undefined;
    await app.close();
    trace.disable();
    context.disable();
    propagation.disable();
    exporter.reset();
  });

  async function startRadish(): Promise<Worker> {
    worker = new Worker(app, { hostname: 'radish@tracing', logger: createLogger('warning', () => undefined) });
    await worker.start();
    return worker;
  }

  /** The raw messages waiting in a list, oldest first. */
  async function waiting(queue: string): Promise<{ headers: Record<string, unknown> }[]> {
    return (await h.redis.lrange(queue, 0, -1)).reverse().map((raw) => JSON.parse(raw) as { headers: Record<string, unknown> });
  }

  it('Python -> TypeScript: the context a Python client sends becomes the parent of the Radish run', async () => {
    app.task('ts.add', (a: number, b: number) => a + b);
    // A span of the Python side's, as its instrumentation's publish span would be.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    const traceparent = `00-${traceId}-${spanId}-01`;
    const [sent] = await celerySend(h.server.url, [{ task: 'ts.add', args: [20, 22], options: { headers: { traceparent, tracestate: 'vendor=abc' } } }]);
    // Where Celery puts them: the message's top-level headers, beside `task` and `id`, as the instrumentation's inject.
    const [message] = await waiting('celery');
    assert.equal(message?.headers.id, sent?.id);
    assert.equal(message?.headers.traceparent, traceparent);
    assert.equal(message?.headers.tracestate, 'vendor=abc');

    await startRadish();
    assert.equal(await (await app.asyncResult(sent!.id)).get({ timeout: 10_000 }), 42);
    await until(() => spans().some((s) => s.name === 'process ts.add'), 'the consumer span');
    const run = span('process ts.add');
    assert.equal(run.kind, SpanKind.CONSUMER);
    assert.equal(run.spanContext().traceId, traceId, 'the Python trace goes on');
    assert.equal(run.parentSpanContext?.spanId, spanId, 'the Python span is the parent');
    assert.equal(run.parentSpanContext?.isRemote, true);
    assert.equal(run.spanContext().traceState?.get('vendor'), 'abc', 'tracestate is kept');
  });

  it('TypeScript -> Python: a Radish message carries traceparent where Celery\'s instrumentation extracts it', async () => {
    const result = await app.send<Echo>('tasks.trace_echo');
    const send = span('send tasks.trace_echo');
    const [message] = await waiting('python');
    assert.equal(message?.headers.traceparent, traceparentOf(send), 'a top-level header, as Celery\'s inject writes it');
    celery = await startCeleryWorker(h.server.url, { queues: ['python'] });
    const echo = await result.get({ timeout: 30_000 });
    assert.equal(echo.traceparent, traceparentOf(send), 'getattr(request, "traceparent") finds it');
    assert.equal(echo.tracestate, null);
  });

  it('a TypeScript task calling Python (a send inside its run, and the next step of a chain) passes on the run\'s context', async () => {
    app.task('ts.call_python', async () => (await app.send('tasks.trace_echo', ['from inside'])).id);
    app.task('ts.step', (x: number) => x + 1);
    await startRadish();
    celery = await startCeleryWorker(h.server.url, { queues: ['python'] });

    const caller = await app.send<string>('ts.call_python');
    const echo = await (await app.asyncResult<Echo>(await caller.get({ timeout: 10_000 }))).get({ timeout: 30_000 });
    await until(() => spans().some((s) => s.name === 'process ts.call_python'), 'the caller\'s run');
    const run = span('process ts.call_python');
    const send = span('send tasks.trace_echo');
    assert.equal(send.parentSpanContext?.spanId, run.spanContext().spanId, 'sent from within the run');
    assert.equal(echo.traceparent, traceparentOf(send), 'the Python task got the send\'s context, in the run\'s trace');
    exporter.reset();

    const chained = await app.chain<Echo>([app.signature('ts.step', [1]), app.signature('tasks.trace_echo')]);
    const stepEcho = await chained.get({ timeout: 30_000 });
    // The Python step was sent by the Radish worker as the TypeScript step ended, a child of that step's run.
    await until(() => spans().some((s) => s.name === 'send tasks.trace_echo'), 'the step\'s send');
    const step = span('process ts.step');
    const stepSend = span('send tasks.trace_echo');
    assert.equal(stepSend.parentSpanContext?.spanId, step.spanContext().spanId);
    assert.equal(stepEcho.traceparent, traceparentOf(stepSend));
    assert.equal(step.spanContext().traceId, span('send ts.step').spanContext().traceId, 'one trace from the chain\'s send to its Python step');
  });
});
