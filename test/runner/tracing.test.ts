/**
 * OpenTelemetry traces through the queue, with the SDK's in-memory exporter, on a real redis-server and a real worker
 * (and once on RabbitMQ): a PRODUCER span per message sent and a CONSUMER span per run, linked through the message's
 * `traceparent` header (where Celery's instrumentation puts it); the trace kept through a retry, a chain, a chord's
 * callback and a dead-letter replay; a failure's span in ERROR; the task's log lines naming the trace. And without a
 * registered provider: no header, no span, the fast encoder.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import amqplib from 'amqplib';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Radish } from '../../runner/app';
import { Inspector } from '../../runner/inspector';
import { encodeTaskMessage } from '../../runner/protocol/message';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { rabbitVhost } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { until, workerHarness } from '../support/worker-harness';

const CLI = resolve(__dirname, '../../dist/radish.js');
const exporter = new InMemorySpanExporter();

/** Register an SDK tracer provider (and the async-hooks context manager) as an application would. */
function registerTracing(): void {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  assert.ok(trace.setGlobalTracerProvider(provider), 'the provider is registered');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

function unregisterTracing(): void {
  trace.disable();
  context.disable();
  propagation.disable();
  exporter.reset();
}

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();

/** The one finished span named so (with a predicate to pick among several). */
function span(name: string, pick: (s: ReadableSpan) => boolean = () => true): ReadableSpan {
  const found = spans().filter((s) => s.name === name && pick(s));
  assert.equal(found.length, 1, `one span ${name}; finished: ${spans().map((s) => s.name).join(', ')}`);
  return found[0]!;
}

const byId = (id: string) => (s: ReadableSpan) => s.attributes['messaging.message.id'] === id;
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
const traceparentOf = (s: ReadableSpan): string => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`;

/** The headers of the messages waiting in a Redis list (LRANGE), oldest first. */
async function waitingHeaders(h: { redis: { lrange(key: string, start: number, stop: number): Promise<string[]> } }, queue: string): Promise<Record<string, unknown>[]> {
  const raws = await h.redis.lrange(queue, 0, -1);
  return raws.reverse().map((raw) => (JSON.parse(raw) as { headers: Record<string, unknown> }).headers);
}

describe('OpenTelemetry tracing', function () {
  this.timeout(30_000);

  describe('on Redis, with a registered tracer provider', function () {
    const h = workerHarness();
    beforeEach(registerTracing);
    afterEach(unregisterTracing);

    it('makes a PRODUCER span per send and a CONSUMER span per run, linked through the traceparent header', async () => {
      h.app.task('tasks.add', (a: number, b: number) => a + b);
      const tracer = trace.getTracer('test');
      // Sent from within the application's own span, which the producer span is a child of.
      const result = await tracer.startActiveSpan('request', async (request) => {
        try {
          return await h.app.send('tasks.add', [2, 3]);
        } finally {
          request.end();
        }
      });
      const request = span('request');
      const send = span('send tasks.add');
      assert.equal(send.kind, SpanKind.PRODUCER);
      assert.equal(parentOf(send), request.spanContext().spanId);
      assert.equal(send.spanContext().traceId, request.spanContext().traceId);
      assert.deepEqual(send.attributes, {
        'messaging.system': 'redis', 'messaging.operation.type': 'send', 'messaging.operation.name': 'send',
        'messaging.destination.name': 'celery', 'messaging.message.id': result.id, 'celery.task_name': 'tasks.add',
      });
      // The message waiting in Redis carries the producer span in Celery's instrumentation's header.
      const [headers] = await waitingHeaders(h, 'celery');
      assert.equal(headers?.traceparent, traceparentOf(send));
      assert.equal(headers?.id, result.id);

      await h.startWorker();
      assert.equal(await result.get({ timeout: 5000 }), 5);
      await until(() => spans().some((s) => s.name === 'process tasks.add'), 'the consumer span');
      const run = span('process tasks.add');
      assert.equal(run.kind, SpanKind.CONSUMER);
      assert.equal(parentOf(run), send.spanContext().spanId, 'the run is a child of the send');
      assert.equal(run.spanContext().traceId, request.spanContext().traceId);
      assert.equal(run.attributes['messaging.operation.type'], 'process');
      assert.equal(run.attributes['messaging.destination.name'], 'celery');
      assert.equal(run.attributes['messaging.message.id'], result.id);
      assert.equal(run.status.code, SpanStatusCode.UNSET);
      // The task's own log lines name its trace.
      const ids = `[trace_id=${run.spanContext().traceId} span_id=${run.spanContext().spanId}]`;
      const succeeded = h.lines.find((l) => l.includes(`Task tasks.add[${result.id}] succeeded`));
      assert.ok(succeeded?.includes(`${ids} Task tasks.add[${result.id}] succeeded`), `log line names the trace: ${succeeded}`);
    });

    it('runs a message whose traceparent is malformed (or from an unknown version) as a new trace, and runs it all the same', async () => {
      h.app.task('tasks.add', (a: number, b: number) => a + b);
      const sender = { origin: 'test', replyTo: 'r', deliveryTag: 't1' };
      const bad = ['garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'];
      const ids = bad.map((traceparent, i) => {
        const id = `bad-traceparent-${i}`;
        return { id, raw: encodeTaskMessage({ id, name: 'tasks.add', queue: 'celery', args: [i, 1], headers: { traceparent } }, { ...sender, deliveryTag: id }) };
      });
      for (const { raw } of ids) await h.redis.lpush('celery', raw);
      await h.startWorker();
      for (const [i, { id }] of ids.entries()) assert.equal(await (await h.app.asyncResult(id)).get({ timeout: 5000 }), i + 1);
      await until(() => spans().filter((s) => s.name === 'process tasks.add').length === 3, 'three runs');
      for (const run of spans()) assert.equal(run.parentSpanContext, undefined, `${String(run.attributes['messaging.message.id'])}: a root span`);
    });

    it('records a failure: status ERROR and the exception', async () => {
      h.app.task('tasks.boom', () => { throw new TypeError('kaboom'); });
      await h.startWorker();
      const result = await h.app.send('tasks.boom');
      await assert.rejects(result.get({ timeout: 5000 }), /kaboom/);
      await until(() => spans().some((s) => s.name === 'process tasks.boom'), 'the consumer span');
      const run = span('process tasks.boom');
      assert.equal(run.status.code, SpanStatusCode.ERROR);
      assert.equal(run.status.message, 'TypeError: kaboom');
      const exception = run.events.find((e) => e.name === 'exception');
      assert.equal(exception?.attributes?.['exception.type'], 'TypeError');
      assert.equal(exception?.attributes?.['exception.message'], 'kaboom');
      const raised = h.lines.find((l) => l.includes('raised unexpected'));
      assert.ok(raised?.includes(`[trace_id=${run.spanContext().traceId} `), `the failure's log line names the trace: ${raised}`);
    });

    it('keeps the trace through a retry: the retry is sent from the run, which records an event', async () => {
      h.app.task('tasks.flaky', { bind: true }, (task) => {
        if (task.request.retries === 0) return task.retry({ countdown: 0.05, exc: new Error('not yet') });
        return 'done';
      });
      await h.startWorker();
      const result = await h.app.send('tasks.flaky');
      assert.equal(await result.get({ timeout: 5000 }), 'done');
      await until(() => spans().filter((s) => s.name === 'process tasks.flaky').length === 2 && spans().filter((s) => s.name === 'send tasks.flaky').length === 2, 'both runs');
      const [first, second] = spans().filter((s) => s.name === 'process tasks.flaky').sort((a, b) => Number(a.attributes['celery.retries'] ?? 0) - Number(b.attributes['celery.retries'] ?? 0));
      const sends = spans().filter((s) => s.name === 'send tasks.flaky');
      assert.equal(sends.length, 2, 'the first send and the retry');
      const retrySend = sends.find((s) => parentOf(s) === first!.spanContext().spanId);
      assert.ok(retrySend, 'the retry is sent as a child of the first run');
      assert.equal(parentOf(second!), retrySend.spanContext().spanId, 'the second run is a child of the retry');
      assert.equal(second!.spanContext().traceId, first!.spanContext().traceId);
      assert.equal(second!.attributes['celery.retries'], 1);
      const retry = first!.events.find((e) => e.name === 'retry');
      assert.match(String(retry?.attributes?.['celery.retry.reason']), /not yet/);
      assert.equal(first!.status.code, SpanStatusCode.UNSET, 'a retry is not a failure');
    });

    it('keeps the trace through a chain and a chord: each step and the callback are sent from the run before', async () => {
      h.app.task('tasks.add', (a: number, b: number) => a + b);
      h.app.task('tasks.sum', (values: number[]) => values.reduce((x, y) => x + y, 0));
      await h.startWorker({ concurrency: 2 });
      const chained = await h.app.chain([h.app.signature('tasks.add', [1, 2]), h.app.signature('tasks.add', [10])]);
      assert.equal(await chained.get({ timeout: 5000 }), 13);
      // A run's follow-ups' producer spans end with the run, which may be after the next step ran.
      await until(() => spans().some(byId(chained.id)) && spans().filter((s) => s.name === 'send tasks.add').length === 2, 'the last step');
      const last = span('process tasks.add', byId(chained.id));
      const lastSend = spans().find((s) => s.name === 'send tasks.add' && s.spanContext().spanId === parentOf(last));
      assert.ok(lastSend, 'the last step was sent with a producer span');
      const first = spans().find((s) => s.name === 'process tasks.add' && s.spanContext().spanId === parentOf(lastSend));
      assert.ok(first, 'the step was sent from the first step\'s run');
      assert.equal(last.spanContext().traceId, first.spanContext().traceId);
      exporter.reset();

      // Sent from one span of the application's, so that the header's members (and so the callback) share its trace.
      const chord = await trace.getTracer('test').startActiveSpan('request', async (request) => {
        try {
          return await h.app.chord([h.app.signature('tasks.add', [1, 1]), h.app.signature('tasks.add', [2, 2])], h.app.signature('tasks.sum'));
        } finally {
          request.end();
        }
      });
      assert.equal(await chord.get({ timeout: 5000 }), 6);
      await until(() => spans().some(byId(chord.id)) && spans().some((s) => s.name === 'send tasks.sum'), 'the callback');
      const callback = span('process tasks.sum', byId(chord.id));
      const callbackSend = span('send tasks.sum');
      assert.equal(parentOf(callback), callbackSend.spanContext().spanId);
      const members = spans().filter((s) => s.name === 'process tasks.add');
      assert.equal(members.length, 2);
      assert.ok(members.some((m) => m.spanContext().spanId === parentOf(callbackSend)), 'the callback is sent from the run of the member that completed the chord');
      assert.deepEqual(new Set([...members, callback].map((s) => s.spanContext().traceId)), new Set([span('request').spanContext().traceId]), 'the header and the callback are in the sender\'s trace');
    });

    it('makes what a task sends while it runs a child of its run', async () => {
      h.app.task('tasks.add', (a: number, b: number) => a + b);
      h.app.task('tasks.fanout', async (n: number) => (await h.app.send('tasks.add', [n, n])).id);
      await h.startWorker({ concurrency: 2 });
      const outer = await h.app.send('tasks.fanout', [21]);
      const innerId = await outer.get({ timeout: 5000 }) as string;
      assert.equal(await (await h.app.asyncResult(innerId)).get({ timeout: 5000 }), 42);
      await until(() => spans().some(byId(innerId)) && spans().some((s) => s.name === 'process tasks.fanout'), 'both runs');
      const fanout = span('process tasks.fanout');
      const innerSend = span('send tasks.add');
      assert.equal(parentOf(innerSend), fanout.spanContext().spanId, 'sent from within the run');
      assert.equal(parentOf(span('process tasks.add', byId(innerId))), innerSend.spanContext().spanId);
    });

    it('keeps the original trace context through a dead-letter replay', async () => {
      let broken = true;
      h.app.task('tasks.fragile', () => {
        if (broken) throw new Error('broken');
        return 'fixed';
      });
      await h.startWorker();
      const result = await h.app.send('tasks.fragile');
      await assert.rejects(result.get({ timeout: 5000 }), /broken/);
      await until(async () => (await h.redis.llen('radish.dlq')) === 1, 'the dead letter');
      const send = span('send tasks.fragile');
      const failed = span('process tasks.fragile');
      broken = false;
      exporter.reset();
      const inspector = new Inspector(h.app);
      const [letter] = await inspector.deadLetters();
      await inspector.replay(letter!);
      assert.equal(await result.get({ timeout: 5000 }), 'fixed');
      await until(() => spans().some((s) => s.name === 'process tasks.fragile'), 'the replayed run');
      const replayed = span('process tasks.fragile');
      assert.equal(replayed.spanContext().traceId, failed.spanContext().traceId, 'the replay runs in the original trace');
      assert.equal(parentOf(replayed), send.spanContext().spanId, 'as a child of the original send');
    });

    it('keeps what a run\'s end starts (the next task, a discard) out of its trace, with one slot', async () => {
      h.app.task('tasks.add', (a: number, b: number) => a + b);
      let behind: { ids: string[]; expired: number } | undefined;
      h.app.task('tasks.hold', async () => {
        // Holds the only slot until both tasks behind it are taken and the first of them has expired: its end starts them.
        await until(() => behind !== undefined && Date.now() > behind.expired
          && behind.ids.every((id) => h.lines.some((l) => l.includes(`[${id}] received`))), 'the tasks behind taken, one expired');
        return 'held';
      });
      await h.startWorker({ concurrency: 1 });
      const hold = await h.app.send('tasks.hold');
      const expiring = await h.app.send('tasks.add', [1, 1], {}, { expires: 1 });
      const next = await h.app.send('tasks.add', [2, 2], {});
      behind = { ids: [expiring.id, next.id], expired: Date.now() + 1_100 };
      assert.equal(await hold.get({ timeout: 10_000 }), 'held');
      assert.equal(await next.get({ timeout: 5000 }), 4);
      await until(() => spans().some(byId(next.id)) && h.lines.some((l) => l.includes(`expired task tasks.add[${expiring.id}]`)), 'the next run and the discard');
      const held = span('process tasks.hold');
      assert.deepEqual(spans().filter((s) => parentOf(s) === held.spanContext().spanId).map((s) => s.name), [], 'no child of the held run');
      const run = span('process tasks.add', byId(next.id));
      assert.equal(parentOf(run), span('send tasks.add', byId(next.id)).spanContext().spanId, 'the next run is its send\'s child');
      assert.notEqual(run.spanContext().traceId, held.spanContext().traceId);
      const discarded = h.lines.find((l) => l.includes(`expired task tasks.add[${expiring.id}]`))!;
      assert.ok(!discarded.includes('trace_id='), `the discard, started as the held run ended, is in no trace: ${discarded}`);
      const nextLines = h.lines.filter((l) => l.includes(`tasks.add[${next.id}] succeeded`));
      assert.ok(nextLines.length === 1 && nextLines[0]!.includes(`trace_id=${run.spanContext().traceId}`), `the next run's line names its own trace: ${nextLines.join('\n')}`);
    });

    it('traces a group: one producer span per member, each the parent of its run', async () => {
      h.app.task('tasks.add', (a: number, b: number) => a + b);
      await h.startWorker({ concurrency: 3 });
      const group = await h.app.group([1, 2, 3].map((n) => h.app.signature('tasks.add', [n, n])));
      assert.deepEqual(await group.get({ timeout: 5000 }), [2, 4, 6]);
      await until(() => spans().filter((s) => s.name === 'process tasks.add').length === 3, 'three runs');
      for (const run of spans().filter((s) => s.name === 'process tasks.add')) {
        const send = spans().find((s) => s.name === 'send tasks.add' && s.spanContext().spanId === parentOf(run));
        assert.equal(send?.attributes['messaging.message.id'], run.attributes['messaging.message.id']);
      }
    });
  });

  describe('with the process pool (a CLI worker)', function () {
    const h = workerHarness();
    let worker: ChildProcess | undefined;
    beforeEach(registerTracing);
    afterEach(() => {
      worker?.kill('SIGKILL');
      worker = undefined;
      unregisterTracing();
    });

    it('runs the task in its run\'s context in the task process: what it sends there is in the run\'s trace', async () => {
      // The task module registers a provider in each process that loads it, as an application's would (the API and
      // SDK by absolute path: the module lives in a temporary directory).
      const dir = mkdtempSync(join(tmpdir(), 'radish-tracing-'));
      const file = join(dir, 'tasks.ts');
      writeFileSync(file, `
const { trace, context } = require(${JSON.stringify(require.resolve('@opentelemetry/api'))});
const { BasicTracerProvider } = require(${JSON.stringify(require.resolve('@opentelemetry/sdk-trace-base'))});
const { AsyncLocalStorageContextManager } = require(${JSON.stringify(require.resolve('@opentelemetry/context-async-hooks'))});
import { Radish } from 'radish';
trace.setGlobalTracerProvider(new BasicTracerProvider());
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
export const app = new Radish();
// Sends to a queue no worker consumes, where the test reads the message.
app.task('ptrace.fanout', async (n: number) => (await app.send('ptrace.add', [n, n], {}, { queue: 'held' })).id);
`);
      let log = '';
      worker = spawn(process.execPath, [CLI, 'worker', '-A', file, '-P', 'process', '-c', '1', '-n', 'ptrace@test'],
        { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: ['ignore', 'ignore', 'pipe'] });
      worker.stderr!.on('data', (d: Buffer) => { log += d; });
      await until(() => log.includes('ready.'), () => `the worker to start; log:\n${log}`, 20_000);
      const outer = await h.app.send('ptrace.fanout', [4]);
      const send = span('send ptrace.fanout');
      const innerId = await outer.get({ timeout: 20_000 }) as string;
      const [headers] = await waitingHeaders(h, 'held');
      assert.equal(headers?.id, innerId);
      const [, traceId, parentId] = String(headers?.traceparent).split('-');
      assert.equal(traceId, send.spanContext().traceId, `sent from the task process within the run's trace (log:\n${log})`);
      assert.notEqual(parentId, send.spanContext().spanId, 'a child of the run, not of the first send');
      assert.match(log, new RegExp(`\\[trace_id=${send.spanContext().traceId} span_id=[0-9a-f]{16}\\] Task ptrace.fanout\\[${outer.id}\\] succeeded`), 'the worker\'s log line names the trace');
    });
  });

  describe('on Redis, without a tracer provider', function () {
    const h = workerHarness();

    it('sends no header and makes no span: the message is the fast encoder\'s, as without tracing', async () => {
      h.app.task('tasks.add', (a: number, b: number) => a + b);
      assert.equal(h.app.message({ name: 'tasks.add', args: [1, 2] }).call.headers, undefined, 'no extra headers: the fast encoder writes it');
      const result = await h.app.send('tasks.add', [1, 2]);
      const [headers] = await waitingHeaders(h, 'celery');
      assert.equal(headers?.id, result.id);
      assert.ok(!('traceparent' in headers!) && !('tracestate' in headers!), `no trace headers: ${Object.keys(headers!).join(', ')}`);
      await h.startWorker();
      assert.equal(await result.get({ timeout: 5000 }), 3);
      assert.equal(spans().length, 0);
      assert.ok(h.lines.every((l) => !l.includes('trace_id=')), 'no trace ids in the log');
    });

    it('does not trace with a provider registered and then removed', async () => {
      registerTracing();
      unregisterTracing();
      h.app.task('tasks.add', (a: number, b: number) => a + b);
      assert.equal(h.app.message({ name: 'tasks.add' }).call.headers, undefined);
    });
  });

  describe('on RabbitMQ (results on Redis)', function () {
    this.timeout(60_000);
    const rabbit = rabbitVhost();
    const redis = redisHarness();
    beforeEach(registerTracing);
    afterEach(unregisterTracing);

    it('carries traceparent in the AMQP headers table, and the run is the send\'s child', async () => {
      const app = new Radish({ broker: rabbit.url, backend: redis.server.url });
      const lines: string[] = [];
      const worker = new Worker(app, { logger: createLogger('info', (l) => lines.push(l)), hostname: 'w1@amqp' });
      try {
        app.task('tasks.add', (a: number, b: number) => a + b);
        const result = await app.send('tasks.add', [4, 5]);
        const send = span('send tasks.add');
        assert.equal(send.attributes['messaging.system'], 'rabbitmq');
        assert.equal(send.attributes['messaging.rabbitmq.destination.routing_key'], 'celery');
        // The raw AMQP message, read (and put back) before a worker takes it.
        const connection = await amqplib.connect(rabbit.url);
        try {
          const channel = await connection.createChannel();
          const message = await channel.get('celery', { noAck: false });
          assert.ok(message, 'the message is waiting');
          const traceparent = message.properties.headers?.traceparent as unknown;
          assert.equal(Buffer.isBuffer(traceparent) ? traceparent.toString('utf8') : traceparent, traceparentOf(send));
          channel.nack(message, false, true);
          await channel.close();
        } finally {
          await connection.close();
        }
        await worker.start();
        assert.equal(await result.get({ timeout: 10_000 }), 9);
        await until(() => spans().some((s) => s.name === 'process tasks.add'), 'the consumer span');
        const run = span('process tasks.add');
        assert.equal(parentOf(run), send.spanContext().spanId);
        assert.equal(run.attributes['messaging.system'], 'rabbitmq');
      } finally {
        await worker.stop({ cold: true });
        await app.close();
      }
    });
  });
});
