/**
 * The runner's Monitor on a real redis-server: the task history written by its Lua script (Celery 5.2.6's captured
 * events kept exactly, state by timestamp and precedence, idempotent under two recorders, bounded), a Radish worker
 * with events on and a Celery 5.2.6 worker with -E as the Monitor sees them, a Redis restart under the receiver,
 * and garbage on the events channel.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { Keys } from '../../runner/broker/keys';
import { EventReceiver } from '../../runner/monitor/receiver';
import { TaskHistory, type TaskRecord } from '../../runner/monitor/history';
import { Monitor, type WorkerState } from '../../runner/monitor/monitor';
import {
  decodeEventMessage, encodeEvent, encodeEventBatch, EventError, makeEvent, workerFields, type CeleryEvent,
} from '../../runner/protocol/event';
import { encodeTaskMessage, type JsonObject, type Signature } from '../../runner/protocol/message';
import { requireCelery, startCeleryWorker, type CeleryWorker } from '../support/celery';
import { redisHarness, requireOwnServer } from '../support/redis';
import { until } from '../support/wait';
import { workerHarness } from '../support/worker-harness';

const FIXTURES = join(__dirname, '../fixtures/events');

/** Every task event in the Celery 5.2.6 captures, as a monitor decodes them off the channel. */
function capturedTaskEvents(): CeleryEvent[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.raw_envelope.json'))
    .flatMap((f) => decodeEventMessage(readFileSync(join(FIXTURES, f), 'utf8').trim()).events)
    .filter((e) => e.type.startsWith('task-'));
}

let clock = 0;
/** A task event as a worker (or, for task-sent, a client) sends it. */
function ev(type: string, uuid: string, timestamp: number, fields: JsonObject = {}, hostname = 'w1@test'): CeleryEvent {
  return makeEvent(type, { hostname, pid: 42, utcoffset: 0 }, { clock: ++clock, timestamp }, { uuid, ...fields });
}

/** The lifecycle of one task that succeeds, from t. */
function lifecycle(id: string, t: number, name = 'tasks.add'): CeleryEvent[] {
  return [
    ev('task-received', id, t, { name, args: '(2, 3)', kwargs: '{}', root_id: id, parent_id: null, retries: 0, eta: null, expires: null }),
    ev('task-started', id, t + 0.001),
    ev('task-succeeded', id, t + 0.002, { result: '5', runtime: 0.0009876543210987654 }),
  ];
}

function eventKeys(record: TaskRecord): string[] {
  return record.events.map((e) => `${e.type}|${e.timestamp}|${e.hostname}`);
}

/** What a shared history holds, in a comparable form. */
async function snapshot(history: TaskHistory): Promise<TaskRecord[]> {
  return history.recent({ limit: 1000 });
}

describe('task history (Lua script on a real Redis)', function () {
  const h = redisHarness();
  const keys = new Keys();

  it("keeps Celery 5.2.6's captured events exactly (17-digit timestamps, reprs) and derives the records", async () => {
    const history = new TaskHistory(h.redis, keys);
    const events = capturedTaskEvents();
    const outcome = await history.record(events);
    // Some captures hold the same event (a batch and its events one by one): each is kept once.
    const distinct = new Set(events.map((e) => `${e.uuid}|${e.type}|${e.timestamp}|${e.hostname}`));
    assert.ok(distinct.size < events.length);
    assert.equal(outcome.added, distinct.size);
    const ok = await history.get('fixture-add-basic');
    assert.ok(ok);
    assert.equal(ok.state, 'SUCCESS');
    assert.equal(ok.result, '5');
    const succeeded = events.find((e) => e.type === 'task-succeeded' && e.uuid === 'fixture-add-basic') as CeleryEvent;
    assert.equal(ok.succeeded, succeeded.timestamp, 'a timestamp with 17 significant digits comes back exactly');
    assert.equal(ok.runtime, succeeded.runtime);
    assert.equal(ok.hostname, 'w1@vm');
    assert.deepEqual(ok.children, [], 'an empty list, though cjson writes {}');
    assert.deepEqual(ok.events.map((e) => e.type), ['task-started', 'task-succeeded']);
    assert.deepEqual(ok.events[1], { type: 'task-succeeded', timestamp: succeeded.timestamp, hostname: 'w1@vm', result: '5', runtime: succeeded.runtime });

    const high = await history.get('fixture-routed-high');
    assert.equal(high?.state, 'STARTED');
    assert.equal(high?.name, 'tasks.urgent');
    assert.equal(high?.args, "('x',)");
    assert.equal(high?.rootId, 'fixture-routed-high');
    assert.equal(high?.parentId, undefined);

    const failed = await history.get('default-failure_valueerror');
    assert.equal(failed?.state, 'FAILURE');
    assert.equal(failed?.exception, "ValueError('kaboom')");
    assert.match(failed?.traceback ?? '', /^Traceback \(most recent call last\)/);

    const sent = events.find((e) => e.type === 'task-sent') as CeleryEvent;
    const mul = await history.get(sent.uuid as string);
    assert.equal(mul?.state, 'SENT');
    assert.equal(mul?.queue, 'celery');
    assert.equal(mul?.routingKey, 'celery');
    assert.equal(mul?.parentId, sent.parent_id);
    assert.equal(mul?.hostname, undefined, 'the client that sent it is not a worker');

    const revoked = events.find((e) => e.type === 'task-revoked') as CeleryEvent;
    assert.equal((await history.get(revoked.uuid as string))?.events.at(-1)?.terminated, true);
    assert.equal(await history.count(), new Set(events.map((e) => e.uuid)).size);
  });

  it('orders the state by timestamp, ties by precedence: late RECEIVED never undoes SUCCESS, a worker beats a skewed client', async () => {
    const history = new TaskHistory(h.redis, keys);
    const [received, started, succeeded] = lifecycle('late', 100) as [CeleryEvent, CeleryEvent, CeleryEvent];
    await history.record([succeeded]);
    await history.record([started, received]);
    const late = await history.get('late');
    assert.equal(late?.state, 'SUCCESS');
    assert.equal(late?.name, 'tasks.add');
    assert.deepEqual(late?.events.map((e) => e.type), ['task-received', 'task-started', 'task-succeeded']);

    await history.record([ev('task-started', 'tie', 200), ev('task-succeeded', 'tie', 200, { result: 'None', runtime: 0 }), ev('task-received', 'tie', 200)]);
    assert.equal((await history.get('tie'))?.state, 'SUCCESS', 'same timestamp: SUCCESS has precedence');

    // The client's clock runs ahead of the worker's: its task-sent is stamped after the worker's task-received.
    await history.record([ev('task-received', 'skew', 300, { name: 'tasks.add' }), ev('task-sent', 'skew', 301, { name: 'tasks.add', queue: 'celery' }, 'gen1@client')]);
    const skew = await history.get('skew');
    assert.equal(skew?.state, 'RECEIVED');
    assert.equal(skew?.queue, 'celery');
    assert.equal(skew?.sent, 301);
  });

  it('follows a retry: RETRY, then the new attempt; a retried message naming itself parent is no child of itself', async () => {
    const history = new TaskHistory(h.redis, keys);
    const id = 'retried';
    await history.record([
      ev('task-received', id, 10, { name: 'tasks.flaky', args: '()', kwargs: '{}', root_id: id, parent_id: null, retries: 0 }),
      ev('task-started', id, 11),
      ev('task-retried', id, 12, { exception: "RuntimeError('flaky')", traceback: 'Traceback ...' }),
    ]);
    assert.equal((await history.get(id))?.state, 'RETRY');
    await history.record([
      ev('task-received', id, 13, { name: 'tasks.flaky', args: '()', kwargs: '{}', root_id: id, parent_id: id, retries: 1, eta: '2030-01-01T00:00:00+00:00' }),
      ev('task-started', id, 14),
      ev('task-failed', id, 15.5, { exception: "RuntimeError('flaky again')", traceback: 'Traceback 2' }),
    ]);
    const r = await history.get(id);
    assert.equal(r?.state, 'FAILURE');
    assert.equal(r?.retries, 1);
    assert.equal(r?.retried, 12);
    assert.equal(r?.exception, "RuntimeError('flaky again')");
    await history.record([ev('task-failed', 'wrapped', 1, { exception: 'ExceptionWithTraceback()', traceback: 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: order 7\n' })]);
    assert.equal((await history.get('wrapped'))?.exception, 'ValueError: order 7', 'billiard\'s wrapper replaced by what the traceback names');
    assert.equal(r?.eta, '2030-01-01T00:00:00+00:00');
    assert.equal(r?.runtime, 1.5, 'failed - started of the last attempt');
    assert.equal(r?.parentId, undefined);
    assert.deepEqual(r?.children, []);
    assert.equal(r?.events.length, 6);
  });

  it("adds a child (parent_id set) to its parent's children once", async () => {
    const history = new TaskHistory(h.redis, keys);
    await history.record(lifecycle('parent', 1));
    const child = (id: string, t: number) => ev('task-received', id, t, { name: 'tasks.mul', root_id: 'parent', parent_id: 'parent' });
    const outcome = await history.record([child('c1', 2), ev('task-sent', 'c1', 2, { parent_id: 'parent' }, 'w1@test'), child('c2', 3)]);
    await history.record([child('c1', 2)]);
    assert.deepEqual((await history.get('parent'))?.children, ['c1', 'c2']);
    assert.deepEqual(outcome.records.get('parent')?.children, ['c1', 'c2'], 'the touched parent comes back too');
    assert.equal((await history.get('c2'))?.parentId, 'parent');
    assert.equal((await history.get('c2'))?.rootId, 'parent');
  });

  it('two recorders writing the same events at once store each event once and agree with a single recorder', async () => {
    const events = [...lifecycle('a', 1), ...lifecycle('b', 2), ev('task-failed', 'c', 3, { exception: 'E()', traceback: '' }),
      ev('task-received', 'd', 4, { name: 'tasks.mul', parent_id: 'a' }), ev('task-revoked', 'd', 5, { terminated: false, signum: null, expired: false })];
    const one = new TaskHistory(h.redis, keys);
    const two = new TaskHistory(h.connect(), keys);
    for (let round = 0; round < 5; round++) {
      await one.clear();
      // Different batch splits and orders on two connections, all in flight together.
      const reversed = [...events].reverse();
      const outcomes = await Promise.all([
        ...events.map((e) => one.record([e])),
        two.record(reversed.slice(0, 4)), two.record(reversed.slice(4)), two.record(events),
      ]);
      const added = outcomes.reduce((n, o) => n + o.added, 0);
      assert.equal(added, events.length, 'every event added exactly once across both recorders');
      const shared = await snapshot(one);
      for (const record of shared) assert.equal(new Set(eventKeys(record)).size, record.events.length, `no duplicate in ${record.id}`);
      await one.clear();
      await one.record(events);
      assert.deepEqual(await snapshot(two), shared, 'the same as one recorder alone');
    }
    assert.deepEqual((await one.get('a'))?.children, ['d']);
  });

  it('keeps at most maxTasks tasks (dropping those with the oldest latest event) and maxEventsPerTask events', async () => {
    const history = new TaskHistory(h.redis, keys, { maxTasks: 5, maxEventsPerTask: 3 });
    for (let i = 0; i < 8; i++) await history.record(lifecycle(`t${i}`, 100 + i));
    assert.equal(await history.count(), 5);
    assert.deepEqual((await history.recent()).map((r) => r.id), ['t7', 't6', 't5', 't4', 't3']);
    assert.equal(await history.get('t0'), null);
    assert.equal(await h.redis.hlen(keys.historyRecords), 5);
    assert.equal(await h.redis.hlen(keys.historyIndex), 5);

    // A task touched again moves up and survives; the oldest goes.
    await history.record([ev('task-retried', 't3', 200, { exception: 'E()', traceback: '' }), ev('task-received', 't3', 201, { retries: 1 })]);
    await history.record(lifecycle('t8', 150));
    assert.deepEqual((await history.recent()).map((r) => r.id), ['t3', 't8', 't7', 't6', 't5']);
    const t3 = await history.get('t3');
    assert.deepEqual(t3?.events.map((e) => e.type), ['task-succeeded', 'task-retried', 'task-received'], 'the newest 3 events');
    assert.equal(t3?.state, 'RECEIVED');
    assert.equal(t3?.name, 'tasks.add', 'fields of dropped events stay');
    // A duplicate of a dropped event is dropped again, not counted, and pushes nothing out.
    const again = await history.record([lifecycle('t3', 103)[0] as CeleryEvent]);
    assert.equal(again.added, 0);
    assert.deepEqual((await history.get('t3'))?.events.map((e) => e.type), ['task-succeeded', 'task-retried', 'task-received']);
  });

  it('pages newest first and filters by name and id substring and exact state, with offset and limit', async () => {
    const history = new TaskHistory(h.redis, keys);
    for (let i = 0; i < 30; i++) {
      const id = `id-${String(i).padStart(2, '0')}`;
      if (i % 3 === 0) await history.record([ev('task-received', id, i, { name: 'emails.send' }), ev('task-failed', id, i + 0.5, { exception: 'E()', traceback: '' })]);
      else await history.record(lifecycle(id, i, i % 3 === 1 ? 'tasks.add' : 'tasks.mul'));
    }
    assert.deepEqual((await history.recent({ limit: 3 })).map((r) => r.id), ['id-29', 'id-28', 'id-27']);
    assert.deepEqual((await history.recent({ offset: 28 })).map((r) => r.id), ['id-01', 'id-00']);
    const failures = await history.recent({ filter: { state: 'failure' } });
    assert.equal(failures.length, 10);
    assert.ok(failures.every((r) => r.state === 'FAILURE' && r.name === 'emails.send'));
    assert.deepEqual((await history.recent({ filter: { name: 'ADD' }, offset: 1, limit: 2 })).map((r) => r.id), ['id-25', 'id-22']);
    assert.deepEqual((await history.recent({ filter: { id: '-1' } })).map((r) => r.id), ['id-19', 'id-18', 'id-17', 'id-16', 'id-15', 'id-14', 'id-13', 'id-12', 'id-11', 'id-10']);
    assert.deepEqual((await history.recent({ filter: { id: '2', name: 'mul', state: 'SUCCESS' } })).map((r) => r.id), ['id-29', 'id-26', 'id-23', 'id-20', 'id-02']);
    assert.deepEqual(await history.recent({ filter: { name: 'nothing' } }), []);
    // The scan looks at no more than maxTasks tasks.
    const small = new TaskHistory(h.redis, keys, { maxTasks: 100_000 });
    assert.equal((await small.recent({ filter: { state: 'SUCCESS' }, limit: 100 })).length, 20);
  });

  it('survives a new instance on a new connection (a window reload), and clear() forgets everything', async () => {
    await new TaskHistory(h.redis, keys).record(lifecycle('kept', 1));
    const reloaded = new TaskHistory(h.connect(), keys);
    assert.equal((await reloaded.get('kept'))?.state, 'SUCCESS');
    await reloaded.clear();
    assert.equal(await reloaded.count(), 0);
  });

  it('takes text the Lua JSON decoder refuses (a lone surrogate) and ignores what is not a task event', async () => {
    const history = new TaskHistory(h.redis, keys);
    const weird = ev('task-failed', 'weird', 1, { exception: 'E("\ud800")', traceback: 'x\udc00y' });
    const outcome = await history.record([weird, ev('worker-heartbeat', '', 1), { ...ev('task-started', 'no-time', 1), timestamp: Number.NaN }]);
    assert.equal(outcome.added, 1);
    assert.equal((await history.get('weird'))?.exception, 'E("\ufffd")');
    assert.equal(await history.count(), 1);
  });

  it('uses the key prefix', async () => {
    const prefixed = new Keys('app1:');
    await new TaskHistory(h.redis, prefixed).record(lifecycle('p', 1));
    assert.equal(await h.redis.zcard('app1:radish.history'), 1);
    assert.equal(await h.redis.exists('radish.history'), 0);
  });
});

// ---------------------------------------------------------------------------------------------

const sig = (task: string, args: unknown[] = [], options: Record<string, unknown> = {}): Signature => ({
  task, args, kwargs: {}, options, subtask_type: null, immutable: false, chord_size: null,
});

describe('Monitor with a Radish worker (events on)', function () {
  const h = workerHarness();
  let monitors: Monitor[] = [];

  afterEach(async () => {
    await Promise.all(monitors.map((m) => m.close()));
    monitors = [];
  });

  async function startMonitor(app: Radish = h.app, options: Parameters<typeof Monitor.forApp>[1] = {}): Promise<Monitor> {
    const monitor = Monitor.forApp(app, options);
    monitors.push(monitor);
    await monitor.start();
    return monitor;
  }

  async function settled(monitor: Monitor, id: string, state: string): Promise<TaskRecord> {
    let record: TaskRecord | null = null;
    await until(async () => (record = await monitor.history.get(id))?.state === state, `${id} ${state} (last: ${JSON.stringify(record)})`);
    return record as unknown as TaskRecord;
  }

  async function publish(name: string, args: unknown[], embed: Record<string, unknown>, id = randomUUID()): Promise<string> {
    const broker = await h.app.broker();
    await broker.publish('celery', 0, encodeTaskMessage({ id, name, args, queue: 'celery', embed }, { origin: 'gen1@test', replyTo: randomUUID(), deliveryTag: randomUUID() }));
    return id;
  }

  it('records success, failure, retry and revoke with state, runtime, worker, exception and traceback', async () => {
    let attempts = 0;
    h.app.task('tasks.add', (x: number, y: number) => x + y);
    h.app.task('tasks.fail', () => { throw new RangeError('out of range'); });
    h.app.task('tasks.flaky', { autoretryFor: [Error], retryBackoff: 0.05, retryJitter: false, maxRetries: 3 }, () => {
      if (++attempts < 2) throw new Error(`attempt ${attempts}`);
      return 'finally';
    });
    h.app.task('tasks.long', { bind: true }, async (task) => {
      await new Promise<void>((resolve) => task.signal.addEventListener('abort', () => resolve()));
    });
    const errors: Error[] = [];
    const monitor = await startMonitor(h.app, { onError: (e) => errors.push(e) });
    const told: [string, string | undefined][] = [];
    monitor.onTask((event, record) => told.push([event.type, record?.state]));
    const worker = await h.startWorker({ events: true });

    const ok = await h.app.send('tasks.add', [2, 3]);
    const bad = await h.app.send('tasks.fail');
    const flaky = await h.app.send('tasks.flaky');
    const long = await h.app.send('tasks.long');
    await ok.get({ timeout: 5000 });
    await assert.rejects(bad.get({ timeout: 5000 }));
    assert.equal(await flaky.get({ timeout: 5000 }), 'finally');
    await until(() => worker.stats.active === 1, 'the long task to start');
    await worker.revoke([long.id], { terminate: true, signal: 'SIGKILL' });

    const success = await settled(monitor, ok.id, 'SUCCESS');
    assert.equal(success.name, 'tasks.add');
    assert.equal(success.args, '(2, 3)');
    assert.equal(success.kwargs, '{}');
    assert.equal(success.result, '5');
    assert.equal(success.hostname, 'w1@test');
    assert.equal(typeof success.runtime, 'number');
    assert.ok((success.runtime ?? -1) >= 0);
    assert.ok(success.received && success.started && success.succeeded);
    assert.deepEqual(success.events.map((e) => e.type), ['task-received', 'task-started', 'task-succeeded']);

    const failure = await settled(monitor, bad.id, 'FAILURE');
    assert.equal(failure.exception, "RangeError('out of range')");
    assert.match(failure.traceback ?? '', /out of range/);
    assert.equal(failure.hostname, 'w1@test');
    assert.equal(typeof failure.runtime, 'number', 'failed - started');

    const retried = await settled(monitor, flaky.id, 'SUCCESS');
    assert.equal(retried.retries, 1);
    assert.equal(retried.exception, "Error('attempt 1')", 'the retry says why');
    assert.ok(retried.retried);
    // The worker republishes before it announces the retry, so the new task-received may be stamped first.
    assert.deepEqual(retried.events.map((e) => e.type).sort(),
      ['task-received', 'task-received', 'task-retried', 'task-started', 'task-started', 'task-succeeded']);
    const times = retried.events.map((e) => e.timestamp);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'events oldest first');
    assert.deepEqual(retried.children, []);

    const revoked = await settled(monitor, long.id, 'REVOKED');
    assert.equal(revoked.events.at(-1)?.terminated, true);
    assert.ok(revoked.revoked);

    assert.ok(monitor.failedSinceStart >= 1);
    assert.ok(monitor.succeededSinceStart >= 2);
    assert.ok(told.some(([type, state]) => type === 'task-failed' && state === 'FAILURE'), 'listeners get the record after the write');

    const me = monitor.worker('w1@test') as WorkerState;
    assert.equal(me.online, true);
    assert.equal(me.sw_ident, 'radish');
    assert.equal(me.pid, process.pid);
    assert.equal(me.freq, 2);
    assert.equal(me.loadavg.length, 3);
    assert.equal(me.failed, 1);
    const offline = new Promise<WorkerState>((resolve) => monitor.onWorker((w, e) => { if (e?.type === 'worker-offline') resolve(w); }));
    await worker.stop();
    assert.equal((await offline).online, false);
    assert.equal(monitor.worker('w1@test')?.online, false);
    assert.ok(monitor.worker('w1@test')!.processed >= 3);
    assert.deepEqual(errors, []);

    // A window reload: a new app, connection and monitor read the same history.
    const reloadedApp = new Radish({ broker: h.server.url });
    try {
      const reloaded = await startMonitor(reloadedApp);
      const ids = (await reloaded.history.recent()).map((r) => r.id);
      assert.deepEqual(new Set(ids), new Set([ok.id, bad.id, flaky.id, long.id]));
      assert.equal((await reloaded.history.get(bad.id))?.exception, "RangeError('out of range')");
      await reloaded.close();
    } finally {
      await reloadedApp.close();
    }
  });

  it('links the children of a chain and of a link callback, and two monitors store each event once', async () => {
    h.app.task('ts.add', (a: number, b: number) => a + b);
    h.app.task('ts.mul', (a: number, b: number) => a * b);
    h.app.task('ts.record', (...args: unknown[]) => args.length);
    const secondApp = new Radish({ broker: h.server.url });
    try {
      const one = await startMonitor();
      const two = await startMonitor(secondApp);
      // Listeners are told after the event was written: once both saw all 15, both wrote all 15.
      const seenByOne: CeleryEvent[] = [];
      const seenByTwo: CeleryEvent[] = [];
      one.onTask((e) => seenByOne.push(e));
      two.onTask((e) => seenByTwo.push(e));
      await h.startWorker({ events: true });
      const [second, last] = [randomUUID(), randomUUID()];
      const head = await publish('ts.add', [1, 2], { chain: [sig('ts.mul', [2], { task_id: last }), sig('ts.mul', [10], { task_id: second })] });
      const linked = await publish('ts.add', [3, 4], { callbacks: [sig('ts.record', ['cb'])] });
      await settled(one, last, 'SUCCESS');
      const headRecord = await settled(one, head, 'SUCCESS');
      assert.deepEqual(headRecord.children, [second]);
      assert.deepEqual((await one.history.get(second))?.children, [last]);
      assert.equal((await one.history.get(second))?.parentId, head);
      assert.equal((await one.history.get(last))?.rootId, head);
      let callback: TaskRecord | null = null;
      await until(async () => {
        const [child] = (await one.history.get(linked))?.children ?? [];
        callback = child ? await one.history.get(child) : null;
        return callback?.state === 'SUCCESS';
      }, 'the link callback recorded as a child');
      assert.equal((callback as TaskRecord | null)?.parentId, linked);
      assert.equal((callback as TaskRecord | null)?.result, '2');

      // Both monitors recorded every event into the same history: each is there once.
      await until(() => seenByOne.length === 15 && seenByTwo.length === 15, 'both monitors wrote all fifteen events');
      const records = await one.history.recent();
      assert.equal(records.length, 5);
      for (const r of records) {
        assert.deepEqual(r.events.map((e) => e.type), ['task-received', 'task-started', 'task-succeeded'], r.id);
        assert.equal(new Set(eventKeys(r)).size, 3);
      }
    } finally {
      await secondApp.close();
    }
  });

  it('tells a worker offline when its heartbeats stop (time as the monitor is told it)', async () => {
    let now = Date.now();
    const monitor = await startMonitor(h.app, { now: () => now, record: false });
    const changes: boolean[] = [];
    monitor.onWorker((w) => changes.push(w.online));
    const pub = new Redis(h.server.url);
    try {
      const heartbeat = makeEvent('worker-heartbeat', { hostname: 'py1@host', pid: 7, utcoffset: 0 }, { clock: 1 },
        workerFields({ freq: 2, active: 3, processed: 9, loadavg: [0.5, 0.25, 0.125] }, { ident: 'py-celery', version: '5.2.6', system: 'Linux' }));
      await pub.publish(new Keys().eventChannel('worker.heartbeat'), encodeEvent(heartbeat));
      await until(() => monitor.worker('py1@host') !== undefined, 'the heartbeat');
      assert.equal(monitor.activeTasks, 3);
      now += 4_900; // within 2 x freq + 1 s
      assert.equal(monitor.worker('py1@host')?.online, true);
      now += 200;
      assert.equal(monitor.worker('py1@host')?.online, false);
      assert.equal(monitor.activeTasks, 0);
      await until(() => changes.at(-1) === false, 'listeners told once the heartbeats stopped');
      assert.deepEqual(changes, [true, false]);
    } finally {
      pub.disconnect();
    }
  });
});

describe('EventReceiver', function () {
  const h = redisHarness({ persistence: true });

  it('reports garbage on the channel through onError, never throws, and goes on', async () => {
    const seen: CeleryEvent[] = [];
    const errors: [Error, string | undefined][] = [];
    const receiver = new EventReceiver({ url: h.server.url }, (e) => {
      if (e.uuid === 'throws') throw new Error('handler bug');
      seen.push(e);
    }, { onError: (err, raw) => errors.push([err, raw]) });
    await receiver.start();
    await receiver.start(); // idempotent
    try {
      const channel = new Keys().eventChannel('task.multi');
      await h.redis.publish(channel, 'not json at all');
      await h.redis.publish(channel, JSON.stringify({ body: 'gAN9cQBYAQ==', 'content-type': 'application/x-python-serialize' }));
      await h.redis.publish(channel, JSON.stringify({ body: Buffer.from('[{"type": "task-started"}]').toString('base64'), 'content-type': 'application/json', properties: { body_encoding: 'base64' } }));
      await h.redis.publish(channel, encodeEventBatch([ev('task-started', 'throws', 1), ev('task-started', 'fine', 2)], 'w1@test'));
      await until(() => seen.length === 1, 'the good event after the garbage');
      assert.equal(seen[0]?.uuid, 'fine');
      assert.equal(errors.length, 4);
      assert.ok(errors[0]?.[0] instanceof EventError);
      assert.equal(errors[0]?.[1], 'not json at all');
      assert.match(errors[1]?.[0].message ?? '', /application\/json only/);
      assert.match(errors[2]?.[0].message ?? '', /without a hostname or timestamp/);
      assert.equal(errors[3]?.[0].message, 'handler bug');
      assert.deepEqual(receiver.stats, { messages: 4, events: 2, errors: 4 });
    } finally {
      await receiver.close();
      await receiver.close(); // idempotent
    }
    await assert.rejects(receiver.start(), /closed/);
  });

  it('resumes after a Redis restart mid-stream (ioredis subscribes again), and the history is still there', async function () {
    requireOwnServer(this, h.server);
    this.timeout(60_000);
    const app = new Radish({ broker: h.server.url });
    const monitor = Monitor.forApp(app);
    const received = new Set<string>();
    monitor.onTask((e) => received.add(e.uuid as string));
    try {
      await monitor.start();
      const channel = new Keys().eventChannel('task.multi');
      await h.redis.publish(channel, encodeEventBatch(lifecycle('before', 1), 'w1@test'));
      await until(async () => (await monitor.history.get('before'))?.state === 'SUCCESS', 'the task before the restart');

      await h.server.stop();
      await h.server.start();
      // PUBLISH is fire-and-forget: repeat until the receiver has subscribed again (a repeat is deduplicated).
      await until(async () => {
        await h.redis.publish(channel, encodeEventBatch(lifecycle('after', 2), 'w1@test')).catch(() => 0);
        return received.has('after');
      }, 'an event after the restart', 30_000);
      await until(async () => (await monitor.history.get('after'))?.state === 'SUCCESS', 'the task after the restart');
      assert.equal((await monitor.history.get('before'))?.state, 'SUCCESS', 'kept by the persistent server');
      assert.equal((await monitor.history.get('after'))?.events.length, 3);
      assert.ok(monitor.receiver.connected);
    } finally {
      await monitor.close();
      await app.close();
    }
  });
});

describe('Monitor with a Celery 5.2.6 worker (-E)', function () {
  const h = workerHarness();
  let celery: CeleryWorker | undefined;

  before(function () {
    requireCelery(this);
  });
  afterEach(async () => {
    await celery?.stop();
    celery = undefined;
  });

  it('shows the worker with its heartbeat fields and records its tasks', async function () {
    this.timeout(90_000);
    const monitor = Monitor.forApp(h.app);
    try {
      await monitor.start();
      celery = await startCeleryWorker(h.server.url, { queues: ['celery'], extraArgs: ['-E', '--without-mingle', '--without-gossip'] });
      const hostname = celery.hostname;
      await until(() => (monitor.worker(hostname)?.lastHeartbeat ?? 0) > 0 && monitor.worker(hostname)?.sw_ident === 'py-celery',
        `${hostname} in workers()`, 20_000);
      const first = monitor.worker(hostname) as WorkerState;
      // A heartbeat after worker-online (every 2 s).
      await until(() => (monitor.worker(hostname)?.timestamp ?? 0) > first.timestamp, 'a heartbeat', 20_000);
      const w = monitor.worker(hostname) as WorkerState;
      assert.equal(w.online, true);
      assert.equal(w.sw_ver, '5.2.6');
      assert.equal(w.sw_sys, 'Linux');
      assert.equal(w.freq, 2);
      assert.equal(w.pid, celery.pid);
      assert.equal(w.loadavg.length, 3);
      assert.equal(typeof w.processed, 'number');

      const ok = await h.app.send('tasks.add', [2, 3]);
      const bad = await h.app.send('tasks.fail', ['kaboom']);
      assert.equal(await ok.get({ timeout: 20_000 }), 5);
      await assert.rejects(bad.get({ timeout: 20_000 }));
      let success: TaskRecord | null = null;
      await until(async () => (success = await monitor.history.get(ok.id))?.state === 'SUCCESS', 'the success recorded');
      const s = success as unknown as TaskRecord;
      assert.equal(s.name, 'tasks.add');
      assert.equal(s.args, '(2, 3)');
      assert.equal(s.result, '5');
      assert.equal(s.hostname, hostname);
      assert.ok((s.runtime ?? -1) > 0);
      let failure: TaskRecord | null = null;
      await until(async () => (failure = await monitor.history.get(bad.id))?.state === 'FAILURE', 'the failure recorded');
      const f = failure as unknown as TaskRecord;
      // Debian's Celery 5.2.6 with billiard 4.1 sends the repr of billiard's wrapper (`ExceptionWithTraceback()`); the
      // history keeps the traceback's last line instead, which names the real exception.
      assert.ok(f.exception === "ValueError('kaboom')" || f.exception === 'ValueError: kaboom', f.exception);
      assert.match(f.traceback ?? '', /Traceback \(most recent call last\)[\s\S]*ValueError: kaboom/);
      assert.equal(monitor.worker(hostname)?.failed, 1);
      assert.equal(monitor.failedSinceStart, 1);

      await celery.stop();
      await until(() => monitor.worker(hostname)?.online === false, 'worker-offline');
    } finally {
      await monitor.close();
    }
  });
});
