/**
 * The rpc:// result backend on a real RabbitMQ (a vhost of this suite's own): a Radish worker sends each result as a
 * message to the client that sent the task (its reply_to, matched by correlation_id), and the client waits on its
 * reply queue. Results, failures, retries, ignore_result, results that come in another order than they are waited
 * for, what rpc cannot do (another client's task, chords, saved groups) and how it says so, and the message and the
 * reply queue checked field by field against Celery 5.2.6's (test/fixtures/amqp-5.2.6/rpc-backend.json).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { Radish } from '../../runner/app';
import type { RpcBackend } from '../../runner/backend/rpc-backend';
import { chordSignature, groupSignature } from '../../runner/protocol/canvas-apply';
import { createLogger } from '../../runner/log';
import { TaskFailedError } from '../../runner/protocol/result';
import { Worker, type WorkerOptions } from '../../runner/worker/worker';
import { rabbitVhost } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { delay, until } from '../support/wait';

const FIXTURE = join(__dirname, '../fixtures/amqp-5.2.6/rpc-backend.json');

interface CapturedPublish {
  args: { exchange: string; routing_key: string; mandatory: boolean; immediate: boolean };
  properties_present: string[];
  properties: Record<string, unknown>;
  headers: Record<string, unknown>;
  body_b64: string;
  body_json: { task_id: string; status: string; result: unknown; traceback: string | null; children: unknown[] };
}

interface CapturedScenario {
  labels: { add: { id: string }; fail: { id: string }; ignored: { id: string } };
  reply_queue: string;
  reply_queue_methods: { method: string; args: Record<string, unknown> }[];
  task_publishes: { properties: Record<string, unknown> }[];
  result_publishes_by_worker: CapturedPublish[];
}

const captured = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { s7a: CapturedScenario; s7b: CapturedScenario };

/** Python's `ValueError`, as the captured Celery task raised it. */
class ValueError extends Error {
  override readonly name = 'ValueError';
}

/** amqplib's names of the basic properties the fixture names as AMQP does. */
const PROPERTY_NAMES: Record<string, string> = {
  content_type: 'contentType', content_encoding: 'contentEncoding', headers: 'headers', delivery_mode: 'deliveryMode',
  priority: 'priority', correlation_id: 'correlationId', reply_to: 'replyTo', expiration: 'expiration',
  message_id: 'messageId', timestamp: 'timestamp', type: 'type', user_id: 'userId', app_id: 'appId',
};

describe('the rpc:// result backend (a Radish worker and client on RabbitMQ)', function () {
  this.timeout(60_000);
  const rabbit = rabbitVhost();
  const lines: string[] = [];
  const apps: Radish[] = [];
  let workers: Worker[] = [];
  let app: Radish;
  let ran: string[];

  function makeApp(backend: Radish['options']['backend'] = 'rpc://'): Radish {
    const a = new Radish({ broker: rabbit.url, backend });
    apps.push(a);
    a.task('tasks.add', (x: number, y: number) => x + y);
    a.task('tasks.fail', () => { throw new ValueError('boom'); });
    a.task('tasks.sleep', async (ms: number) => { await delay(ms); return ms; });
    a.task('tasks.mark', (label: string) => { ran.push(label); return label; });
    a.task('tasks.xsum', (values: number[]) => values.reduce((s, v) => s + v, 0));
    a.task('tasks.quiet', { ignoreResult: true }, (x: number) => x);
    let attempts = 0;
    a.task('tasks.flaky', { bind: true }, (task) => {
      attempts++;
      if (attempts < 3) return task.retry({ countdown: 0.05 });
      return attempts;
    });
    return a;
  }

  beforeEach(() => {
    lines.length = 0;
    ran = [];
    app = makeApp();
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ cold: true })));
    workers = [];
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function start(options: WorkerOptions = {}, on: Radish = app): Promise<Worker> {
    const w = new Worker(on, { logger: createLogger('info', (l) => lines.push(l)), hostname: `w${workers.length + 1}@rpc`, ...options });
    workers.push(w);
    await w.start();
    return w;
  }

  async function replyQueueOf(a: Radish): Promise<string> {
    return ((await a.backend()) as RpcBackend).replyTo;
  }

  /** Every message waiting in a queue, taken off it (no-ack), in order. */
  async function drain(queue: string): Promise<amqp.GetMessage[]> {
    const connection = await rabbit.connect();
    const ch = await connection.createChannel();
    const out: amqp.GetMessage[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) break;
      out.push(m);
    }
    await connection.close();
    return out;
  }

  async function depth(queue: string): Promise<number> {
    return (await rabbit.vhost.queue(queue))?.messagesReady ?? -1;
  }

  /** The management API's view of one queue (durable, auto_delete, exclusive, arguments), or undefined. */
  async function managedQueue(name: string): Promise<Record<string, unknown> | undefined> {
    const api = rabbit.vhost.managementUrl;
    if (!api) return undefined;
    const r = await fetch(`${api}/api/queues/${encodeURIComponent(rabbit.vhost.name)}/${encodeURIComponent(name)}`, {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    });
    return r.status === 404 ? undefined : await r.json() as Record<string, unknown>;
  }

  it('runs tasks and sends their results and failures back to the client (the worker has no shared store)', async () => {
    await start({ concurrency: 2 });
    assert.equal(await app.sharedStore(), undefined, 'no Redis beside RabbitMQ and rpc://');
    assert.ok(lines.some((l) => /ready/i.test(l)), lines.join('\n'));
    const sum = await app.send('tasks.add', [2, 3]);
    assert.equal(await sum.get({ timeout: 5000 }), 5);
    assert.equal(await sum.state(), 'SUCCESS', 'the client keeps what it received for a later state()');
    assert.equal(await sum.get({ timeout: 100 }), 5, 'and get() again');
    const failed = await app.send('tasks.fail');
    const err = await failed.get({ timeout: 5000 }).then(() => assert.fail('should have failed'), (e: unknown) => e);
    assert.ok(err instanceof TaskFailedError, String(err));
    assert.equal(err.excType, 'ValueError');
    assert.equal(err.excModule, 'builtins');
    assert.deepEqual(err.excMessage, ['boom']);
    assert.match(err.remoteTraceback ?? '', /ValueError: boom/);
    assert.equal((await failed.meta())?.status, 'FAILURE');
    assert.equal((await failed.meta())?.date_done, null, 'an rpc result carries no date_done (Celery sends none)');
  });

  it('a task that retries: RETRY states go by, the client gets the final SUCCESS', async () => {
    await start();
    const flaky = await app.send('tasks.flaky');
    assert.equal(await flaky.get({ timeout: 5000 }), 3);
    assert.equal(await flaky.state(), 'SUCCESS');
    assert.ok(lines.some((l) => /tasks.flaky\[.*\] retry/.test(l)), lines.join('\n'));
  });

  it('matches results that come in another order than they are waited for, and keeps the others for later', async () => {
    await start({ concurrency: 8 });
    // Sent slowest first: the results come back fastest first.
    const sleeps = [400, 300, 200, 100, 10];
    const sent = await Promise.all(sleeps.map((ms) => app.send('tasks.sleep', [ms])));
    assert.equal(await sent[0]!.get({ timeout: 5000 }), 400, 'waited for the last to come');
    // The others came while it was waited for: they are there at once.
    const started = Date.now();
    assert.deepEqual(await Promise.all(sent.slice(1).reverse().map((r) => r.get({ timeout: 5000 }))), [10, 100, 200, 300]);
    assert.ok(Date.now() - started < 200, 'the kept results were there without waiting');
    // Many waits at once, on tasks that end in any order.
    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => app.send('tasks.sleep', [(i * 37) % 50])));
    assert.deepEqual(await Promise.all(many.map((r) => r.get({ timeout: 10_000 }))), Array.from({ length: 30 }, (_, i) => (i * 37) % 50));
    // Two waits on one task both get it.
    const twice = await app.send('tasks.sleep', [50]);
    assert.deepEqual(await Promise.all([twice.get({ timeout: 5000 }), twice.get({ timeout: 5000 })]), [50, 50]);
  });

  it("another client's task is PENDING here, as in Celery: a result reaches only the client that sent the task", async () => {
    await start();
    const other = makeApp();
    const theirs = await other.send('tasks.add', [1, 2]);
    assert.equal(await theirs.get({ timeout: 5000 }), 3, 'the sender gets it');
    const mine = await app.asyncResult(theirs.id);
    assert.equal(await mine.state(), 'PENDING');
    await assert.rejects(mine.get({ timeout: 300 }), { name: 'TimeoutError' });
    // forget() drops the client's copy: PENDING again.
    await theirs.forget();
    assert.equal(await theirs.state(), 'PENDING');
    assert.deepEqual(await app.backend().then((b) => b.failures()), [], 'rpc keeps no failures to list');
  });

  it('ignore_result sends nothing; without track_started there is no STARTED; with it, STARTED comes first', async () => {
    const queue = await replyQueueOf(app);
    // The worker is started after the sends, so the results wait in the reply queue (declared by the first send).
    const ignored = await app.send('tasks.add', [1, 1], {}, { ignoreResult: true });
    const quiet = await app.send('tasks.quiet', [7]);
    const kept = await app.send('tasks.add', [2, 2]);
    // Workers of apps of their own: a stopped worker's broker does not consume again (its interrupt is final).
    await start({ concurrency: 1 }, makeApp());
    await until(async () => (await depth(queue)) >= 1, 'the result in the reply queue');
    await delay(300);
    const messages = await drain(queue);
    assert.deepEqual(messages.map((m) => m.properties.correlationId), [kept.id],
      `only the result whose task wants one (not ${ignored.id} nor ${quiet.id})`);
    assert.equal(JSON.parse(messages[0]!.content.toString()).status, 'SUCCESS');

    await workers[0]!.stop();
    workers = [];
    const tracked = await app.send('tasks.add', [3, 3]);
    await start({ concurrency: 1, trackStarted: true }, makeApp());
    await until(async () => (await depth(queue)) >= 2, 'STARTED and SUCCESS in the reply queue');
    const states = (await drain(queue)).map((m) => [m.properties.correlationId, JSON.parse(m.content.toString()) as { status: string; result: unknown }] as const);
    assert.deepEqual(states.map(([id, b]) => [id, b.status]), [[tracked.id, 'STARTED'], [tracked.id, 'SUCCESS']]);
    assert.equal((states[0]![1].result as { hostname?: string }).hostname, 'w1@rpc');
  });

  it("a client whose connection drops consumes its reply queue again once it is back, and gets the result it waits for", async function () {
    const api = rabbit.vhost.managementUrl;
    if (!api) this.skip();
    // The worker starts once the client is back, so the result is sent after the outage (one sent during it is lost
    // with the auto-deleted queue, as in Celery).
    const slow = await app.send('tasks.sleep', [10]);
    const waiting = slow.get({ timeout: 15_000 });
    const backend = (await app.backend()) as RpcBackend;
    await until(() => (backend as unknown as { consumer?: unknown }).consumer !== undefined, 'the client consuming');
    // The client's connection (its local port) closed by the broker, as an outage would.
    const model = (backend.connection as unknown as { model: { connection: { stream: { localPort: number } } } }).model;
    const port = model.connection.stream.localPort;
    const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };
    const connections = await (await fetch(`${api}/api/vhosts/${encodeURIComponent(rabbit.vhost.name)}/connections?columns=name,peer_port`, { headers: auth })).json() as { name: string; peer_port: number }[];
    await until(async () => {
      const list = await (await fetch(`${api}/api/vhosts/${encodeURIComponent(rabbit.vhost.name)}/connections?columns=name,peer_port`, { headers: auth })).json() as { name: string; peer_port: number }[];
      connections.splice(0, connections.length, ...list);
      return list.some((c) => c.peer_port === port);
    }, 'the client connection listed by the management API');
    const mine = connections.find((c) => c.peer_port === port)!;
    const lost = new Promise<void>((r) => backend.connection.once('lost', () => r()));
    const restored = new Promise<void>((r) => backend.connection.once('restored', () => r()));
    await fetch(`${api}/api/connections/${encodeURIComponent(mine.name)}`, { method: 'DELETE', headers: auth });
    await lost;
    await restored;
    await start({ concurrency: 1 }, makeApp());
    assert.equal(await waiting, 10);
  });

  it('a revoked task sends REVOKED to its client (the worker keeps revokes in memory: no shared store)', async () => {
    const w = await start();
    const id = 'rpc-revoked-1';
    await w.revoke([id]);
    const r = await app.send('tasks.add', [1, 1], {}, { taskId: id });
    await assert.rejects(r.get({ timeout: 5000 }), (e: unknown) => e instanceof TaskFailedError && e.state === 'REVOKED' && e.excType === 'TaskRevokedError');
  });

  it('groups: members are waited for on the reply queue; saving or restoring a group is refused, saying why', async () => {
    await start({ concurrency: 4 });
    const g = await app.group([app.signature('tasks.add', [1, 1]), app.signature('tasks.sleep', [100]), app.signature('tasks.add', [3, 3])]);
    assert.deepEqual(await g.get({ timeout: 5000 }), [2, 100, 6]);
    assert.equal(await g.ready(), true);
    await assert.rejects(g.save(), { name: 'NotImplementedError', message: /rpc:\/\/ result backend keeps no groups/ });
    await assert.rejects(app.restoreGroup(g.id), { name: 'NotImplementedError', message: /keeps no groups/ });
  });

  it('a chord is refused before anything is sent, as Celery 5.2.6 refuses it on rpc:// (an empty header runs, as there)', async () => {
    await start();
    const refused = /rpc:\/\/ result backend cannot run chords/;
    await assert.rejects(app.chord([app.signature('tasks.mark', ['h1']), app.signature('tasks.mark', ['h2'])], app.signature('tasks.mark', ['body'])),
      { name: 'NotImplementedError', message: refused });
    // A group followed by a task in a chain is a chord; so is a chord later in a chain (Celery's prepare_steps).
    const group = groupSignature([app.signature('tasks.mark', ['g1']), app.signature('tasks.mark', ['g2'])]);
    await assert.rejects(app.chain([group, app.signature('tasks.mark', ['after'])]), { name: 'NotImplementedError', message: refused });
    const laterChord = chordSignature([app.signature('tasks.mark', ['c1'])], app.signature('tasks.mark', ['cb']));
    await assert.rejects(app.chain([app.signature('tasks.mark', ['first']), laterChord]), { name: 'NotImplementedError', message: refused });
    // Nothing was sent: a task sent now is the only one that runs.
    assert.equal(await (await app.send('tasks.mark', ['probe'])).get({ timeout: 5000 }), 'probe');
    await delay(200);
    assert.deepEqual(ran, ['probe']);
    // Celery's chord with an empty header sends its body at once with [] (no chord to join): so does Radish.
    assert.equal(await (await app.chord([], app.signature('tasks.xsum'))).get({ timeout: 5000 }), 0);
  });

  describe('a chord sent by a client with another backend, to a worker on rpc://', () => {
    const redis = redisHarness();

    it('its header members log that the callback will never run; a task whose chain goes on with a chord fails with NotImplementedError', async () => {
      await start({ concurrency: 2 });
      const elsewhere = makeApp(redis.server.url);
      await elsewhere.chord([elsewhere.signature('tasks.mark', ['h1']), elsewhere.signature('tasks.mark', ['h2'])], elsewhere.signature('tasks.mark', ['body']));
      await until(() => lines.filter((l) => /will never run: the rpc:\/\/ result backend cannot run chords/.test(l)).length === 2,
        () => `two header members said so:\n${lines.join('\n')}`);
      await delay(200);
      assert.deepEqual(ran.sort(), ['h1', 'h2'], 'the header ran, the callback did not');
      // chain(mark, chord(...)): the first step cannot apply the chord, and fails for it, as Celery's worker does.
      const laterChord = chordSignature([elsewhere.signature('tasks.mark', ['c1'])], elsewhere.signature('tasks.mark', ['cb']));
      ran = [];
      await elsewhere.chain([elsewhere.signature('tasks.mark', ['first']), laterChord]);
      await until(() => lines.some((l) => /tasks\.mark\[.*\] raised unexpected: NotImplementedError\('the rpc:\/\/ result backend cannot run chords/.test(l)),
        () => `the first step failed:\n${lines.join('\n')}`);
      assert.deepEqual(ran, ['first']);
    });
  });

  it('the worker never declares the reply queue, nor does a client that sends only ignore_result tasks', async () => {
    await start();
    const client = makeApp();
    const queue = await replyQueueOf(client);
    // A task whose result is not wanted: the client declares no reply queue for it (as Celery's).
    await client.send('tasks.mark', ['ignored'], {}, { ignoreResult: true });
    // Published past the client's send(), so its reply queue is not declared: the worker's result for it is dropped.
    const msg = client.message({ name: 'tasks.mark', args: ['undeclared'] });
    await (await client.broker()).publish(msg.queue, msg.priority, msg.body);
    await until(() => ran.includes('undeclared') && ran.includes('ignored'), 'the tasks ran');
    await delay(300);
    assert.equal(await rabbit.vhost.queue(queue), undefined, 'no reply queue was made');
    assert.equal(await (await client.asyncResult(msg.id)).state(), 'PENDING', 'reading a state declares none either');
    assert.equal(await rabbit.vhost.queue(queue), undefined);
  });

  it('picks rpc:// from RADISH_RESULT_BACKEND and useBackend (--result-backend), and refuses it beside a Redis broker, saying why', async () => {
    const saved = process.env.RADISH_RESULT_BACKEND;
    process.env.RADISH_RESULT_BACKEND = 'rpc://';
    try {
      const fromEnv = new Radish({ broker: rabbit.url });
      apps.push(fromEnv);
      assert.equal((await fromEnv.backend()).kind, 'rpc');
    } finally {
      if (saved === undefined) delete process.env.RADISH_RESULT_BACKEND;
      else process.env.RADISH_RESULT_BACKEND = saved;
    }
    const cli = new Radish({ broker: rabbit.url });
    apps.push(cli);
    cli.useBackend('rpc://');
    assert.equal((await cli.backend()).kind, 'rpc');
    const onRedis = new Radish({ broker: 'redis://127.0.0.1:1/0', backend: 'rpc://' });
    apps.push(onRedis);
    await assert.rejects(onRedis.send('tasks.add', [1, 1]), /rpc:\/\/ result backend .* needs an amqp:\/\/ broker, not redis:\/\/127\.0\.0\.1:1\/0/);
    const noBackend = new Radish({ broker: rabbit.url });
    apps.push(noBackend);
    await assert.rejects(noBackend.send('tasks.add', [1, 1]), /keeps no results: name a result backend .*'rpc:\/\/'/);
  });

  for (const [scenario, persistent] of [['s7a', false], ['s7b', true]] as const) {
    it(`sends results and declares the reply queue as Celery 5.2.6 does, field by field (${scenario}: result_persistent ${persistent ? 'True' : 'False'})`, async () => {
      const c = captured[scenario];
      // Results are sent by the worker's backend: its app has result_persistent (resultPersistent).
      const workerApp = makeApp({ url: 'rpc://', resultPersistent: persistent });
      const queue = await replyQueueOf(app);
      const add = await app.send('tasks.add', [2, 3]);
      const fail = await app.send('tasks.fail');
      await app.send('tasks.add', [1, 1], {}, { ignoreResult: true });

      // The reply queue, declared by the first send: the client's oid, as Celery's (no suffix, not bound anywhere).
      const declare = c.reply_queue_methods.find((m) => m.method === 'queue.declare')!.args;
      const managed = await managedQueue(queue);
      if (managed) {
        assert.deepEqual({ durable: managed.durable, exclusive: managed.exclusive, auto_delete: managed.auto_delete, arguments: managed.arguments },
          { durable: declare.durable, exclusive: declare.exclusive, auto_delete: declare.auto_delete, arguments: declare.arguments });
        const api = rabbit.vhost.managementUrl!;
        const bindings = await (await fetch(`${api}/api/queues/${encodeURIComponent(rabbit.vhost.name)}/${encodeURIComponent(queue)}/bindings`, {
          headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
        })).json() as { source: string }[];
        assert.deepEqual(bindings.map((b) => b.source), [''], 'bound to the default exchange only');
      } else {
        assert.ok(await rabbit.vhost.queue(queue), 'the reply queue exists');
      }
      // The task's reply_to is that queue, as Celery's.
      assert.equal(c.task_publishes[0]!.properties.reply_to, c.reply_queue);

      await start({ concurrency: 1 }, workerApp);
      await until(async () => (await depth(queue)) >= 2, 'both results in the reply queue');
      await delay(200);
      const got = await drain(queue);
      assert.equal(got.length, 2, 'two results (none for the ignore_result task)');
      const [mineAdd, mineFail] = got;
      const [theirAdd, theirFail] = c.result_publishes_by_worker;
      for (const [mine, theirs, id, theirId] of [[mineAdd!, theirAdd!, add.id, c.labels.add.id], [mineFail!, theirFail!, fail.id, c.labels.fail.id]] as const) {
        // basic.publish(exchange="", routing_key=reply_to)
        assert.equal(mine.fields.exchange, theirs.args.exchange);
        assert.equal(mine.fields.routingKey, queue);
        // The properties Celery sends, with its values (the correlation_id is the task id), and none other.
        const present = Object.entries(mine.properties).filter(([, v]) => v !== undefined).map(([k]) => k).sort();
        assert.deepEqual(present, theirs.properties_present.map((p) => PROPERTY_NAMES[p]!).sort());
        for (const name of theirs.properties_present) {
          const expected = name === 'headers' ? theirs.headers : name === 'correlation_id' ? id : theirs.properties[name];
          assert.deepEqual((mine.properties as unknown as Record<string, unknown>)[PROPERTY_NAMES[name]!], expected, name);
        }
        assert.equal(mine.properties.deliveryMode, persistent ? 2 : 1);
        // The body: the same fields in the same order, with the same values but the traceback.
        const body = JSON.parse(mine.content.toString('utf8')) as Record<string, unknown>;
        assert.deepEqual(Object.keys(body), Object.keys(theirs.body_json));
        assert.deepEqual({ ...body, task_id: theirId, traceback: null }, { ...theirs.body_json, traceback: null });
        assert.equal(typeof body.traceback, typeof theirs.body_json.traceback);
      }
      // The success's body is Celery's byte for byte, ids aside (kombu's JSON separators).
      const theirBytes = Buffer.from(theirAdd!.body_b64, 'base64').toString('utf8').replace(c.labels.add.id, add.id);
      assert.equal(mineAdd!.content.toString('utf8'), theirBytes);
    });
  }
});
