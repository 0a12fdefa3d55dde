/**
 * The remote-control commands Celery workers answer and Radish workers answered with KeyError: revoke_by_stamped_headers
 * (Celery 5.3+; Celery 5.6's own `app.control.revoke_by_stamped_headers(..., reply=True)` raised KeyError: 'ok' on a
 * Radish node's error reply), hello (a starting Celery worker's mingle), heartbeat, report and conf; and the replies
 * whose wording follows the Celery version the worker runs beside (`celeryVersion`). A real Worker on a real Redis,
 * asked through Radish's Control; Python's own clients are in test/interop/pidbox-compat.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Keys } from '../../runner/broker/keys';
import { Control } from '../../runner/control';
import { decodeEventMessage } from '../../runner/protocol/event';
import type { JsonObject } from '../../runner/protocol/json';
import { monotonicSeconds } from '../../runner/protocol/pidbox-commands';
import { pythonJson } from '../../runner/protocol/python-json';
import { controlHandlers, type Controllable } from '../../runner/worker/control-handlers';
import type { Worker } from '../../runner/worker/worker';
import { createLogger } from '../../runner/log';
import { until, workerHarness } from '../support/worker-harness';

const NODE = 'w1@test';
const CAPTURES = join(__dirname, '../fixtures/captures-5.6.3');

/** The stamped task message Celery 5.6.3 sent (captured): stamped_headers ['monitoring_id'], stamps {monitoring_id: 'mon-42'}. */
const STAMPED = (JSON.parse(readFileSync(join(CAPTURES, 'raw-envelopes.json'), 'utf8')) as { section: string; raw: string }[])
  .find((r) => r.section === 'msg.stamped')!.raw;

/**
 * That message, as Celery 5.6 would send it for another task, id, stamps and queue: only those fields change.
 * `eta` makes it an ETA task.
 */
function stampedMessage(task: string, id: string, args: unknown[], stamps: JsonObject, eta?: Date): string {
  const envelope = JSON.parse(STAMPED) as { body: string; headers: JsonObject; properties: JsonObject & { delivery_info: JsonObject } };
  const body = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')) as [unknown[], JsonObject, JsonObject];
  envelope.body = Buffer.from(pythonJson([args, body[1], body[2]]), 'utf8').toString('base64');
  Object.assign(envelope.headers, {
    task, id, root_id: id, eta: eta ? eta.toISOString().replace('Z', '000+00:00') : null,
    stamped_headers: Object.keys(stamps), stamps,
  });
  envelope.properties.correlation_id = id;
  envelope.properties.delivery_info.routing_key = 'celery';
  return pythonJson(envelope);
}

describe('remote control commands of Celery 5.3+ workers, on a Radish worker', function () {
  this.timeout(60_000);
  const h = workerHarness();
  let control: Control | undefined;

  afterEach(async () => {
    await control?.close();
    control = undefined;
  });

  /** A worker (concurrency 1) with `cap.add` and `cap.block` (runs until aborted), and a Control to ask it. */
  async function start(options: { celeryVersion?: string; hostname?: string; events?: boolean } = {}): Promise<Worker> {
    h.app.task('cap.add', (a: number, b: number) => a + b);
    h.app.task('cap.block', { bind: true }, (task) =>
      new Promise((done) => task.signal.addEventListener('abort', () => done(null))));
    const worker = await h.startWorker({ concurrency: 1, ...options });
    control ??= await Control.forApp(h.app);
    return worker;
  }

  async function push(raw: string): Promise<void> {
    await h.redis.lpush('celery', raw);
  }

  async function state(id: string): Promise<string | undefined> {
    return (await h.stored(id))?.status;
  }

  describe('revoke_by_stamped_headers', () => {
    it('records the stamps (Celery\'s reply); a stamped task arriving later is discarded as REVOKED, others run', async () => {
      await start();
      const replies = await control!.broadcast('revoke_by_stamped_headers',
        { headers: { monitoring_id: 'mon-42' }, terminate: false, signal: 'SIGTERM' });
      assert.deepEqual(replies, { [NODE]: { ok: "headers {'monitoring_id': 'mon-42'} flagged as revoked, but not terminated" } });

      await push(stampedMessage('cap.add', 'st-revoked', [1, 2], { monitoring_id: 'mon-42' }));
      await push(stampedMessage('cap.add', 'st-other', [3, 4], { monitoring_id: 'mon-7' }));
      await push(stampedMessage('cap.add', 'st-listed', [5, 6], { monitoring_id: ['mon-1', 'mon-42'] }));
      await until(async () => (await state('st-revoked')) !== undefined && (await state('st-other')) !== undefined
        && (await state('st-listed')) !== undefined, 'the three outcomes');
      assert.equal(await state('st-revoked'), 'REVOKED');
      assert.equal(await state('st-listed'), 'REVOKED', 'one of a list of stamps matches');
      assert.equal(await state('st-other'), 'SUCCESS');
      assert.equal((await h.stored('st-other'))?.result, 7);
      assert.ok(h.lines.some((l) => l.includes('Discarding revoked task: cap.add[st-revoked]')), h.lines.join('\n'));
      assert.ok(h.lines.some((l) => l.includes("cap.add[st-revoked] revoked by stamped header {'monitoring_id': 'mon-42'}")), h.lines.join('\n'));
    });

    it('revokes a stamped task already waiting (ETA) at once; with terminate stops a running one; says what it terminated', async () => {
      const worker = await start();
      await push(stampedMessage('cap.block', 'st-running', ['x'], { monitoring_id: 'mon-9' }));
      await until(() => worker.stats.active === 1, 'the stamped task to run');
      await push(stampedMessage('cap.add', 'st-eta', [1, 1], { monitoring_id: 'mon-9' }, new Date(Date.now() + 60_000)));
      await until(() => worker.stats.scheduled === 1, 'the ETA task to wait');

      const none = await control!.broadcast('revoke_by_stamped_headers', { headers: { monitoring_id: 'mon-0' }, terminate: true, signal: 'SIGTERM' });
      assert.deepEqual(none, { [NODE]: { ok: "headers {'monitoring_id': 'mon-0'} were not terminated" } });
      assert.equal(worker.stats.active, 1);

      const replies = await control!.broadcast('revoke_by_stamped_headers',
        { headers: { monitoring_id: ['mon-9', 'mon-10'] }, terminate: true, signal: 'SIGTERM' });
      assert.deepEqual(replies, { [NODE]: { ok: "headers defaultdict(<class 'set'>, {'monitoring_id': {'mon-9'}}) revoked" } });
      await until(async () => (await state('st-running')) === 'REVOKED' && (await state('st-eta')) === 'REVOKED', 'both revoked');
      assert.equal(worker.stats.scheduled, 0);
      assert.equal(worker.stats.active, 0);
    });

    it('refuses malformed headers with an error reply, and a bad signal before recording anything', async () => {
      await start();
      const bad = await control!.broadcast<{ error?: string }>('revoke_by_stamped_headers', { headers: 'monitoring_id' });
      assert.match(bad[NODE]?.error ?? '', /^PidboxError\('revoke_by_stamped_headers: headers must be/);
      const signal = await control!.broadcast<{ error?: string }>('revoke_by_stamped_headers',
        { headers: { monitoring_id: 'mon-5' }, terminate: true, signal: 'SIGNOPE' });
      assert.match(signal[NODE]?.error ?? '', /unknown signal/);
      await push(stampedMessage('cap.add', 'st-after-bad', [1, 2], { monitoring_id: 'mon-5' }));
      await until(async () => (await state('st-after-bad')) !== undefined, 'its outcome');
      assert.equal(await state('st-after-bad'), 'SUCCESS', 'the refused command recorded nothing');
    });
  });

  describe('hello (mingle)', () => {
    it('answers another node with its revoked ids (float timestamps) and clock, and takes the sender\'s revoked ids', async () => {
      await start();
      await control!.revoke('mine-1');
      const before = monotonicSeconds();
      const replies = await control!.broadcast<{ revoked: Record<string, [number, string]>; clock: number }>('hello',
        { from_node: 'celery@elsewhere', revoked: { 'theirs-1': [123.5, 'theirs-1'] } });
      const reply = replies[NODE]!;
      assert.deepEqual(Object.keys(reply), ['revoked', 'clock']);
      assert.deepEqual(Object.keys(reply.revoked).sort(), ['mine-1', 'theirs-1']);
      for (const [id, [at, again]] of Object.entries(reply.revoked)) {
        assert.equal(again, id);
        assert.ok(at >= before - 1 && at <= monotonicSeconds() + 1, `timestamp ${at} on the monotonic clock (now ${before})`);
      }
      assert.ok(Number.isInteger(reply.clock) && reply.clock > 0, `clock ${reply.clock}`);
      assert.ok((await control!.inspect<string[]>('revoked'))[NODE]!.includes('theirs-1'));
      assert.ok(h.lines.some((l) => l.includes('sync with celery@elsewhere')), h.lines.join('\n'));
      // A revoked id from mingle is honoured like any other.
      await push(stampedMessage('cap.add', 'theirs-1', [1, 2], {}));
      await until(async () => (await state('theirs-1')) === 'REVOKED', 'the task revoked by the other node');
    });

    it('answers its own hello with null, as Celery does', async () => {
      await start();
      assert.deepEqual(await control!.broadcast('hello', { from_node: NODE, revoked: {} }), { [NODE]: null });
    });
  });

  describe('heartbeat, report, conf', () => {
    it('heartbeat: answered with null as Celery (no KeyError)', async () => {
      await start();
      assert.deepEqual(await control!.broadcast('heartbeat'), { [NODE]: null });
    });

    it('heartbeat: sends a heartbeat at once through the worker when it can', async () => {
      let sent = 0;
      const worker = {
        hostname: NODE, logger: createLogger('critical', () => undefined), options: {}, on: () => worker,
        app: h.app, sendHeartbeat: async () => { sent++; },
      } as unknown as Controllable;
      const handlers = controlHandlers(worker);
      assert.equal(await handlers.heartbeat!({}, undefined as never), null);
      assert.equal(sent, 1);
    });

    it('heartbeat: a real worker with events on publishes a worker-heartbeat per request, out of its 2 s turn', async () => {
      await start({ events: true });
      const sub = new Redis(h.server.url);
      let beats = 0;
      sub.on('pmessage', (_p: string, _c: string, text: string) => {
        beats += decodeEventMessage(text).events.filter((e) => e.type === 'worker-heartbeat').length;
      });
      await sub.psubscribe(new Keys().eventPattern());
      try {
        const started = Date.now();
        for (let i = 0; i < 5; i++) await control!.broadcast('heartbeat', {}, { reply: false });
        // Its own timer gives at most one every 2 s: five in this window can only be the answers.
        await until(async () => beats >= 5, 'five heartbeats', 3900);
        assert.ok(Date.now() - started < 4000);
      } finally {
        sub.disconnect();
      }
    });

    it('report: Celery\'s bugreport layout, about Radish; conf: the settings, more with with_defaults; dump_conf too', async () => {
      await start();
      const report = await control!.inspect<{ ok: string }>('report');
      const text = report[NODE]!.ok;
      assert.match(text, /^\nsoftware -> radish:\S+ node:\d+\.\d+\.\d+ celery-compat:5\.6\nplatform -> system:\S+ arch:\S+\n {12}kernel version:\S+ imp:Node\.js\nloader   -> radish\nsettings -> transport:redis results:redis:\/\/\S+\n\n/);
      assert.ok(text.includes(`\nbroker_url: '${h.server.url}'\n`), text);
      assert.ok(text.includes('\ntask_acks_late: True\n'), text);

      const conf = (await control!.inspect<JsonObject>('conf'))[NODE]!;
      assert.equal(conf.broker_url, h.server.url);
      assert.equal(conf.result_backend, h.server.url);
      assert.equal(conf.worker_concurrency, 1);
      assert.equal(conf.task_acks_late, true, 'differs from Celery\'s default');
      assert.ok(!('worker_prefetch_multiplier' in conf), 'Celery\'s default (4) is left out');
      const all = (await control!.inspect<JsonObject>('conf', { with_defaults: true }))[NODE]!;
      assert.equal(all.worker_prefetch_multiplier, 4);
      assert.equal(all.task_default_queue, 'celery');
      assert.ok(Object.keys(all).length > Object.keys(conf).length);
      assert.deepEqual((await control!.inspect('dump_conf'))[NODE], conf);
    });
  });

  describe('replies that follow the Celery version (celeryVersion)', () => {
    it('default (5.6): revoke says tasks {\'<id>\'}; inspect reserved says redelivered false', async () => {
      const worker = await start();
      assert.deepEqual(await control!.revoke('v56-x', { destination: [NODE] }), { [NODE]: { ok: "tasks {'v56-x'} flagged as revoked" } });
      await h.app.send('cap.block', ['hold']);
      await until(() => worker.stats.active === 1, 'the blocking task');
      await h.app.send('cap.add', [1, 2], {}, { taskId: 'v56-waiting' });
      await until(() => worker.stats.reserved === 1, 'the waiting task');
      const reserved = await control!.inspect<{ delivery_info: JsonObject }[]>('reserved');
      assert.equal(reserved[NODE]?.[0]?.delivery_info.redelivered, false);
    });

    it('celeryVersion 5.2: the 5.2 wording and redelivered null', async () => {
      const worker = await start({ celeryVersion: '5.2.6' });
      assert.deepEqual(await control!.revoke('v52-x', { destination: [NODE] }), { [NODE]: { ok: 'tasks v52-x flagged as revoked' } });
      await h.app.send('cap.block', ['hold']);
      await until(() => worker.stats.active === 1, 'the blocking task');
      await h.app.send('cap.add', [1, 2], {}, { taskId: 'v52-waiting' });
      await until(() => worker.stats.reserved === 1, 'the waiting task');
      const reserved = await control!.inspect<{ delivery_info: JsonObject }[]>('reserved');
      assert.equal(reserved[NODE]?.[0]?.delivery_info.redelivered, null);
    });
  });
});
