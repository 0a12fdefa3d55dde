/**
 * task-sent events from a Radish client (`sendEvents`, Celery's `task_send_sent_event`): one per message sent by
 * `send`, `sendMany`, `group` and `chord`, shaped like the one Celery 5.2.6's client sent
 * (test/fixtures/events/task-sent.event.json), as a monitor subscribed to `/0.celeryev/*` and Celery's own event
 * Receiver see them; none when the option is off.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { Keys } from '../../runner/broker/keys';
import { decodeEventMessage, type CeleryEvent } from '../../runner/protocol/event';
import { requireCelery } from '../support/celery';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
const captured = (JSON.parse(readFileSync(join(__dirname, '../fixtures/events/task-sent.event.json'), 'utf8')) as { channel: string; event: CeleryEvent });

interface Seen { channel: string; event: CeleryEvent }

async function monitor(url: string): Promise<{ seen: Seen[]; close: () => void }> {
  const sub = new Redis(url);
  const seen: Seen[] = [];
  sub.on('pmessage', (_pattern: string, channel: string, text: string) => {
    for (const event of decodeEventMessage(text).events) seen.push({ channel, event });
  });
  await sub.psubscribe(new Keys().eventPattern());
  return { seen, close: () => sub.disconnect() };
}

describe('task-sent events from a client (sendEvents)', function () {
  const h = redisHarness();

  it('publishes one task-sent per message, shaped as Celery\'s client sends it', async () => {
    const app = new Radish({ broker: h.server.url, sendEvents: true, routes: { 'tasks.high': { queue: 'high', priority: 6 } } });
    const m = await monitor(h.server.url);
    try {
      const one = await app.send('tasks.add', [3, 3], {}, { countdown: 60, expires: 120 });
      const many = await app.sendMany([{ name: 'tasks.high', args: ['x'], kwargs: { k: 1 } }, { name: 'tasks.add', args: [1, 2] }]);
      const group = await app.group([app.signature('tasks.add', [1, 1]), app.signature('tasks.add', [2, 2])]);
      const chord = await app.chord([app.signature('tasks.add', [5, 5])], app.signature('tasks.xsum'));
      const ids = [one.id, ...many.map((r) => r.id), ...group.ids, ...chord.parent!.ids];
      await until(() => m.seen.length === ids.length, `${ids.length} task-sent events`);
      assert.deepEqual(m.seen.map((s) => s.event.uuid), ids, 'one per message, in sending order');
      assert.ok(m.seen.every((s) => s.channel === captured.channel && s.event.type === 'task-sent'));
      assert.deepEqual(m.seen.map((s) => s.event.clock), [1, 2, 3, 4, 5, 6], "the client's own Lamport clock");
      for (const { event } of m.seen) {
        assert.deepEqual(Object.keys(event), Object.keys(captured.event), 'the fields of Celery\'s task-sent, in its order');
        assert.equal(event.hostname, `gen${process.pid}@${hostname()}`);
        assert.equal(event.pid, process.pid);
        assert.equal(event.root_id, event.uuid);
        assert.equal(event.parent_id, null);
      }
      const [sent, high, add] = m.seen.map((s) => s.event);
      assert.deepEqual([sent!.name, sent!.args, sent!.kwargs, sent!.retries, sent!.queue, sent!.exchange, sent!.routing_key],
        ['tasks.add', '(3, 3)', '{}', 0, 'celery', '', 'celery']);
      assert.match(String(sent!.eta), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
      assert.match(String(sent!.expires), /\+00:00$/);
      assert.deepEqual([high!.name, high!.args, high!.kwargs, high!.queue, high!.routing_key], ['tasks.high', "('x',)", "{'k': 1}", 'high', 'high']);
      assert.deepEqual([add!.eta, add!.expires], [null, null]);
    } finally {
      m.close();
      await app.close();
    }
  });

  it('publishes none when sendEvents is off (the default)', async () => {
    const app = new Radish({ broker: h.server.url });
    const m = await monitor(h.server.url);
    try {
      await app.send('tasks.add', [1, 1]);
      await app.group([app.signature('tasks.add', [1, 1])]);
      // A marker event sent after them on the same server: once it is seen, theirs would have been too.
      const marker = new Radish({ broker: h.server.url, sendEvents: true });
      const r = await marker.send('tasks.marker');
      await marker.close();
      await until(() => m.seen.length > 0, 'the marker event');
      assert.deepEqual(m.seen.map((s) => s.event.uuid), [r.id]);
    } finally {
      m.close();
      await app.close();
    }
  });

  describe("with Celery's event Receiver", function () {
    before(function () {
      requireCelery(this);
    });

    it('reads the task-sent events of a Radish client as it reads a Python client\'s', async function () {
      this.timeout(60_000);
      const script = [
        'import json, sys',
        'from celery import Celery',
        'from celery.events.state import State',
        'app = Celery(broker=sys.argv[1])',
        'state = State()',
        'seen = []',
        'def on_event(event):',
        '    state.event(event)',
        '    seen.append(event)',
        '    t = state.tasks.get(event["uuid"])',
        '    print(json.dumps({"type": event["type"], "hostname": event["hostname"], "uuid": event["uuid"], "name": t.name, "state": t.state, "args": t.args, "routing_key": t.routing_key}), flush=True)',
        '    if len(seen) == int(sys.argv[2]): recv.should_stop = True',
        'with app.connection() as conn:',
        '    recv = app.events.Receiver(conn, handlers={"task-sent": on_event})',
        '    recv.capture(limit=None, timeout=30, wakeup=False)',
      ].join('\n');
      const child = spawn(PYTHON, ['-c', script, h.server.url, '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const app = new Radish({ broker: h.server.url, sendEvents: true });
      try {
        // Events are PUBLISHed, not queued: wait until the receiver has subscribed.
        await until(async () => ((await h.redis.call('PUBSUB', 'NUMPAT')) as number) >= 1, () => `the receiver to subscribe; its stderr: ${err}`, 30_000, 50);
        const group = await app.group([app.signature('tasks.add', [1, 2]), app.signature('tasks.mul', [3, 4], {}, { queue: 'py' })]);
        assert.equal(await exited, 0, err);
        const got = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(got, [
          { type: 'task-sent', hostname: `gen${process.pid}@${hostname()}`, uuid: group.ids[0], name: 'tasks.add', state: 'PENDING', args: '(1, 2)', routing_key: 'celery' },
          { type: 'task-sent', hostname: `gen${process.pid}@${hostname()}`, uuid: group.ids[1], name: 'tasks.mul', state: 'PENDING', args: '(3, 4)', routing_key: 'py' },
        ]);
      } finally {
        child.kill();
        await app.close();
      }
    });
  });
});
