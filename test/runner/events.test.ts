/**
 * Celery events: golden tests against the events captured from Celery 5.2.6 (test/fixtures/events, copied from
 * shared/celery/fixtures/events), the EventDispatcher on a real Redis as a monitor subscribed to `/0.celeryev/*`
 * sees it, and Python Celery's own event Receiver (what Flower and `celery events` use) reading Radish's events.
 */
import { RedisFanout } from '../../runner/broker/redis-fanout';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Keys } from '../../runner/broker/keys';
import {
  decodeEventMessage, encodeEvent, encodeEventBatch, EventError, makeEvent, routingKeyOf, taskFailedFields,
  taskReceivedFields, taskRetriedFields, taskRevokedFields, taskSentFields, taskStartedFields, taskSucceededFields,
  workerFields, type CeleryEvent,
} from '../../runner/protocol/event';
import { decodeTaskMessage, encodeTaskMessage, type JsonObject, type TaskCall } from '../../runner/protocol/message';
import { LamportClock } from '../../runner/protocol/pidbox';
import { Radish } from '../../runner/app';
import { attachWorkerEvents, EventDispatcher } from '../../runner/worker/events';
import { requireCelery } from '../support/celery';
import { delay, until } from '../support/wait';
import { redisHarness } from '../support/redis';
import { workerHarness } from '../support/worker-harness';

const FIXTURES = join(__dirname, '../fixtures/events');
const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

function raw(name: string): string {
  return readFileSync(join(FIXTURES, `${name}.raw_envelope.json`), 'utf8').trim();
}

function captured(name: string): { channel: string; event: CeleryEvent } {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.event.json`), 'utf8')) as { channel: string; event: CeleryEvent };
}

/** The sender and stamp of a captured event, so a rebuilt one differs only where the builder is wrong. */
function sourceOf(e: CeleryEvent): [{ hostname: string; pid: number; utcoffset: number }, { clock: number; timestamp: number }] {
  return [{ hostname: e.hostname, pid: e.pid, utcoffset: e.utcoffset }, { clock: e.clock, timestamp: e.timestamp }];
}

function rebuild(e: CeleryEvent, fields: JsonObject): CeleryEvent {
  const [source, stamp] = sourceOf(e);
  return makeEvent(e.type, source, stamp, fields);
}

function message(call: TaskCall) {
  return decodeTaskMessage(encodeTaskMessage(call, { origin: 'gen1@vm', replyTo: 'r', deliveryTag: 't' }));
}

const PY_SOFTWARE = { ident: 'py-celery', version: '5.2.6', system: 'Linux' };

describe('events protocol (golden, Celery 5.2.6 captures)', () => {
  const envelopes = readdirSync(FIXTURES).filter((f) => f.endsWith('.raw_envelope.json')).map((f) => f.replace(/\.raw_envelope\.json$/, ''));

  for (const name of envelopes) {
    it(`re-encodes ${name} byte for byte`, () => {
      const text = raw(name);
      const msg = decodeEventMessage(text);
      assert.ok(msg.deliveryTag && msg.hostname);
      const again = msg.routingKey === 'task.multi'
        ? encodeEventBatch(msg.events, msg.hostname, msg.deliveryTag)
        : encodeEvent(msg.events[0] as CeleryEvent, msg.deliveryTag);
      assert.equal(again, text);
    });
  }

  it('reads a batch of three in order', () => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'task.multi_batch_of_3.decoded.json'), 'utf8')) as { decoded_body: JsonObject[] };
    const msg = decodeEventMessage(raw('task.multi_batch_of_3'));
    assert.equal(msg.routingKey, 'task.multi');
    assert.deepEqual(msg.events, expected.decoded_body);
  });

  for (const type of ['worker-online', 'worker-heartbeat', 'worker-offline'] as const) {
    it(`builds ${type} as Celery's Heart does (freq written as 2.0)`, () => {
      const { channel, event } = captured(type);
      const built = rebuild(event, workerFields(
        { freq: 2, active: event.active as number, processed: event.processed as number, loadavg: event.loadavg as number[] }, PY_SOFTWARE,
      ));
      assert.deepEqual(built, event);
      assert.equal(new Keys().eventChannel(routingKeyOf(type)), channel);
      const tag = decodeEventMessage(raw(type)).deliveryTag ?? '';
      assert.equal(encodeEvent(built, tag), raw(type));
    });
  }

  it('builds task-received from a task message (argsrepr, root and parent ids, eta)', () => {
    const { event } = captured('task-received');
    const msg = message({ id: 'fixture-routed-high', name: 'tasks.urgent', args: ['x'], queue: 'high' });
    const built = rebuild(event, taskReceivedFields(msg));
    assert.deepEqual(built, event);
    const tag = decodeEventMessage(raw('task-received')).deliveryTag ?? '';
    assert.equal(encodeEventBatch([built], 'w1@vm', tag), raw('task-received'));
  });

  it('builds a retried task-received with its eta header and kwargs repr', () => {
    const [received] = decodeEventMessage(raw('task-failed')).events as [CeleryEvent];
    const eta = received.eta as string;
    const msg = message({
      id: received.uuid as string, name: 'tasks.flaky', kwargs: { succeed_after: 2 }, queue: 'celery', retries: 1,
      rootId: received.root_id as string, parentId: received.parent_id as string, headers: { eta },
    });
    assert.deepEqual(rebuild(received, taskReceivedFields(msg)), received);
  });

  it('builds task-sent as the client sends it', () => {
    const { channel, event } = captured('task-sent');
    const built = rebuild(event, taskSentFields({
      id: event.uuid as string, name: 'tasks.mul', args: [3, 3], queue: 'celery',
      rootId: event.root_id as string, parentId: event.parent_id as string,
    }));
    assert.deepEqual(built, event);
    assert.equal(channel, '/0.celeryev/task.sent');
    assert.equal(encodeEvent(built, decodeEventMessage(raw('task-sent')).deliveryTag ?? ''), raw('task-sent'));
  });

  it('builds task-started, task-succeeded, task-failed, task-retried, task-revoked', () => {
    const started = captured('task-started').event;
    assert.deepEqual(rebuild(started, taskStartedFields(started.uuid as string)), started);

    const succeeded = captured('task-succeeded').event;
    const s = rebuild(succeeded, taskSucceededFields(succeeded.uuid as string, 5, succeeded.runtime as number));
    assert.deepEqual(s, succeeded);
    assert.equal(encodeEventBatch([s], 'w1@vm', decodeEventMessage(raw('task-succeeded')).deliveryTag ?? ''), raw('task-succeeded'));

    const failed = captured('task-failed').event;
    const info = { exc_type: 'ValueError', exc_message: ['kaboom'], exc_module: 'builtins' };
    assert.deepEqual(rebuild(failed, taskFailedFields(failed.uuid as string, info, failed.traceback as string)), failed);

    const retried = captured('task-retried').event;
    const rinfo = { exc_type: 'RuntimeError', exc_message: ['flaky attempt 0'], exc_module: 'builtins' };
    const r = rebuild(retried, taskRetriedFields(retried.uuid as string, rinfo, retried.traceback as string));
    assert.deepEqual(r, retried);
    assert.equal(encodeEventBatch([r], 'w1@vm', decodeEventMessage(raw('task-retried')).deliveryTag ?? ''), raw('task-retried'));

    const revoked = captured('task-revoked').event;
    const v = rebuild(revoked, taskRevokedFields(revoked.uuid as string, 'terminated', 9));
    assert.deepEqual(v, revoked);
    assert.equal(encodeEventBatch([v], 'w1@vm', decodeEventMessage(raw('task-revoked')).deliveryTag ?? ''), raw('task-revoked'));
  });

  it('revoked and expired tasks carry no signal', () => {
    assert.deepEqual(taskRevokedFields('a', 'revoked'), { uuid: 'a', terminated: false, signum: null, expired: false });
    assert.deepEqual(taskRevokedFields('a', 'expired'), { uuid: 'a', terminated: false, signum: null, expired: true });
  });

  it('writes integral floats as Python does and keeps results as reprs', () => {
    const e = makeEvent('task-succeeded', { hostname: 'n@h', pid: 1, utcoffset: 0 }, { clock: 3, timestamp: 1700000000 },
      taskSucceededFields('id', { a: [null, true] }, 1));
    const body = Buffer.from((JSON.parse(encodeEventBatch([e], 'n@h', 'tag')) as { body: string }).body, 'base64').toString();
    assert.match(body, /"result": "\{'a': \[None, True\]\}", "runtime": 1\.0, "timestamp": 1700000000\.0/);
  });

  it('refuses what is not an event', () => {
    assert.throws(() => decodeEventMessage('nope'), EventError);
    assert.throws(() => decodeEventMessage(JSON.stringify({ body: 'x', 'content-type': 'application/x-python-serialize' })), /application\/json only/);
    const noType = JSON.stringify({ body: Buffer.from('{"a": 1}').toString('base64'), 'content-type': 'application/json', properties: { body_encoding: 'base64' } });
    assert.throws(() => decodeEventMessage(noType), /no type/);
  });
});

// ---------------------------------------------------------------------------------------------

interface Seen {
  channel: string;
  events: CeleryEvent[];
}

/** A monitor: PSUBSCRIBE `/0.celeryev/*` and keep every message, decoded. */
async function monitor(url: string): Promise<{ seen: Seen[]; types: () => string[]; close: () => Promise<void> }> {
  const sub = new Redis(url);
  const seen: Seen[] = [];
  sub.on('pmessage', (_pattern: string, channel: string, text: string) => {
    seen.push({ channel, events: decodeEventMessage(text).events });
  });
  await sub.psubscribe(new Keys().eventPattern());
  return {
    seen,
    types: () => seen.flatMap((s) => s.events.map((e) => e.type)),
    close: async () => { sub.disconnect(); },
  };
}


/** Emit, on a plain EventEmitter, what the worker emits for one task that succeeds. */
function runTask(worker: EventEmitter, id: string): void {
  const msg = message({ id, name: 'tasks.add', args: [2, 3], queue: 'celery' });
  worker.emit('task-received', id, msg);
  worker.emit('task-started', id);
  worker.emit('task-succeeded', id, 5, 0.012);
}

describe('EventDispatcher on Redis', () => {
  const h = redisHarness();

  it('publishes worker-online, heartbeats, task events in order and worker-offline', async () => {
    const mon = await monitor(h.server.url);
    const worker = new EventEmitter();
    const stats = { active: 1, processed: 7 };
    const clock = new LamportClock(10);
    const dispatcher = new EventDispatcher({ fanout: new RedisFanout(h.redis, new Keys(), {}), hostname: 'w9@test', frequency: 0.2, clock, load: () => stats });
    const detach = attachWorkerEvents(worker, dispatcher);
    try {
      await dispatcher.workerOnline();
      await until(() => mon.types().filter((t) => t === 'worker-heartbeat').length >= 2, 'two heartbeats');
      runTask(worker, 'task-1');
      worker.emit('task-failed', 'task-2', { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' }, 'Error: bad\n    at x');
      worker.emit('task-retried', 'task-3', { exc_type: 'RuntimeError', exc_message: ['again'], exc_module: 'builtins' });
      worker.emit('task-revoked', 'task-4', 'expired');
      await until(() => mon.types().includes('task-revoked'), 'the task events');
      await dispatcher.close();
      await dispatcher.close(); // idempotent
      await until(() => mon.types().includes('worker-offline'), 'worker-offline');
    } finally {
      detach();
      await mon.close();
    }

    const types = mon.types().filter((t) => t !== 'worker-heartbeat');
    assert.deepEqual(types, [
      'worker-online', 'task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'worker-offline',
    ]);
    const all = mon.seen.flatMap((s) => s.events);
    const clocks = all.map((e) => e.clock);
    assert.deepEqual(clocks, [...clocks].sort((a, b) => a - b), 'clocks increase in publish order');
    assert.equal(all[0]?.clock, 11, 'the shared clock is forwarded');

    const online = mon.seen[0];
    assert.equal(online?.channel, '/0.celeryev/worker.online');
    const o = online?.events[0] as CeleryEvent;
    assert.equal(o.hostname, 'w9@test');
    assert.equal(o.pid, process.pid);
    assert.equal(o.freq, 0.2);
    assert.equal(o.active, 1);
    assert.equal(o.processed, 7);
    assert.equal((o.loadavg as number[]).length, 3);
    assert.equal(o.sw_ident, 'radish');

    const taskMessages = mon.seen.filter((s) => s.events.some((e) => e.type.startsWith('task-')));
    assert.ok(taskMessages.every((s) => s.channel === '/0.celeryev/task.multi'));
    assert.ok(taskMessages.length < 6, 'task events are batched');
    const byType = Object.fromEntries(all.map((e) => [e.type, e]));
    assert.equal(byType['task-received']?.args, '(2, 3)');
    assert.equal(byType['task-received']?.name, 'tasks.add');
    assert.equal(byType['task-succeeded']?.result, '5');
    assert.equal(byType['task-failed']?.exception, "ValueError('bad')");
    assert.equal(byType['task-retried']?.exception, "RuntimeError('again')");
    assert.equal(byType['task-revoked']?.expired, true);
    assert.equal(mon.seen.at(-1)?.channel, '/0.celeryev/worker.offline');
  });

  it('flushes a full buffer at once, and what is left on close before worker-offline', async () => {
    const mon = await monitor(h.server.url);
    const dispatcher = new EventDispatcher({ fanout: new RedisFanout(h.redis, new Keys(), {}), hostname: 'w8@test', flushIntervalMs: 60_000, bufferLimit: 3 });
    try {
      await dispatcher.workerOnline();
      for (const id of ['a', 'b', 'c', 'd']) dispatcher.task('task-started', taskStartedFields(id));
      await until(() => mon.types().filter((t) => t === 'task-started').length === 3, 'the full batch');
      await dispatcher.close();
      await until(() => mon.types().includes('worker-offline'), 'worker-offline');
      assert.deepEqual(mon.seen.map((s) => s.events.length), [1, 3, 1, 1]);
      assert.deepEqual(mon.types().slice(-2), ['task-started', 'worker-offline']);
      dispatcher.task('task-started', taskStartedFields('late')); // ignored after close
    } finally {
      await mon.close();
    }
  });

  it('publishes a client task-sent event on task.sent', async () => {
    const mon = await monitor(h.server.url);
    try {
      const app = new Radish({ broker: h.server.url, sendEvents: true });
      await app.send('tasks.add', [1, 2], {}, { taskId: 'sent-1', queue: 'celery' }).finally(() => app.close());
      await until(() => mon.seen.length === 1, 'task-sent');
      assert.equal(mon.seen[0]?.channel, '/0.celeryev/task.sent');
      const e = mon.seen[0]?.events[0] as CeleryEvent;
      assert.deepEqual([e.type, e.uuid, e.args, e.queue, e.routing_key, e.clock], ['task-sent', 'sent-1', '(1, 2)', 'celery', 'celery', 1]);
    } finally {
      await mon.close();
    }
  });

  it('reports a failed publish and carries on', async () => {
    const broken = new Redis(h.server.url, { lazyConnect: true, enableOfflineQueue: false });
    broken.on('error', () => undefined);
    const errors: Error[] = [];
    const dispatcher = new EventDispatcher({ fanout: new RedisFanout(broken, new Keys(), {}), hostname: 'w7@test', onError: (e) => errors.push(e) });
    await dispatcher.workerOnline();
    await dispatcher.close();
    assert.equal(errors.length, 2);
    broken.disconnect();
  });

  describe("with Celery's event Receiver (what Flower and `celery events` use)", () => {
    before(function () {
      requireCelery(this);
    });

    it('reads worker and task events from a Radish worker', async function () {
      this.timeout(60_000);
      const script = [
        'import json, sys',
        'from celery import Celery',
        'app = Celery(broker=sys.argv[1])',
        'def on_event(event):',
        '    print(json.dumps({"type": event["type"], "hostname": event["hostname"], "uuid": event.get("uuid")}), flush=True)',
        '    if event["type"] == "worker-offline": recv.should_stop = True',
        'with app.connection() as conn:',
        '    recv = app.events.Receiver(conn, handlers={"*": on_event})',
        '    recv.capture(limit=None, timeout=30, wakeup=False)',
      ].join('\n');
      const child = spawn(PYTHON, ['-c', script, h.server.url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        // Events are PUBLISHed, not queued: wait until the receiver has subscribed.
        await until(async () => ((await h.redis.call('PUBSUB', 'NUMPAT')) as number) >= 1, () => `the receiver to subscribe; its stderr: ${err}`, 30_000, 50);
        const worker = new EventEmitter();
        const dispatcher = new EventDispatcher({ fanout: new RedisFanout(h.redis, new Keys(), {}), hostname: 'radish1@test', frequency: 0.3 });
        attachWorkerEvents(worker, dispatcher);
        await dispatcher.workerOnline();
        runTask(worker, 'py-sees-this');
        await delay(700);
        await dispatcher.close();
        assert.equal(await exited, 0, err);
      } finally {
        child.kill();
      }
      const got = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; hostname: string; uuid: string | null });
      const types = got.map((g) => g.type);
      assert.equal(types[0], 'worker-online');
      assert.ok(types.includes('worker-heartbeat'), types.join(', '));
      assert.deepEqual(types.filter((t) => t.startsWith('task-')), ['task-received', 'task-started', 'task-succeeded']);
      assert.equal(types.at(-1), 'worker-offline');
      assert.ok(got.every((g) => g.hostname === 'radish1@test'));
      assert.ok(got.filter((g) => g.type.startsWith('task-')).every((g) => g.uuid === 'py-sees-this'));
    });
  });
});

describe('a worker started with events on (-E)', () => {
  const h = workerHarness();

  it('publishes worker-online, every state of its tasks in order, and worker-offline when it stops', async () => {
    h.app.task('tasks.add', (x: number, y: number) => x + y);
    h.app.task('tasks.fail', () => { throw new RangeError('no'); });
    const m = await monitor(h.server.url);
    try {
      const worker = await h.startWorker({ events: true });
      const ok = await h.app.send('tasks.add', [2, 3]);
      await ok.get({ timeout: 5000 });
      const bad = await h.app.send('tasks.fail');
      await assert.rejects(bad.get({ timeout: 5000 }));
      await worker.stop();
      await until(() => m.types().includes('worker-offline'), 'worker-offline');
      const forTask = (id: string) => m.seen.flatMap((s) => s.events).filter((e) => e.uuid === id).map((e) => e.type);
      assert.deepEqual(forTask(ok.id), ['task-received', 'task-started', 'task-succeeded']);
      assert.deepEqual(forTask(bad.id), ['task-received', 'task-started', 'task-failed']);
      const types = m.types();
      assert.equal(types[0], 'worker-online');
      assert.equal(types.at(-1), 'worker-offline');
      assert.ok(m.seen.some((s) => s.channel === '/0.celeryev/task.multi'), 'task events batched on task.multi, as Celery does');
      const succeeded = m.seen.flatMap((s) => s.events).find((e) => e.type === 'task-succeeded' && e.uuid === ok.id);
      assert.equal(succeeded?.result, '5');
      assert.equal(succeeded?.hostname, 'w1@test');
    } finally {
      await m.close();
    }
  });
});
