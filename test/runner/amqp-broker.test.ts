/**
 * The AMQP transport on a real RabbitMQ (a vhost of this suite's own): declarations as Celery makes them, publish
 * with confirms, consumption under basic.qos with native acks, redelivery of what a lost connection held, the
 * dead-letter queue, priorities, and what the broker can and cannot tell (depths, browsing).
 */
import assert from 'node:assert/strict';
import { AmqpBroker } from '../../runner/broker/amqp/amqp-broker';
import { BrowseUnsupportedError, type DeadLetterRecord, type Delivery } from '../../runner/broker/transport';
import { envelopeToAmqp } from '../../runner/protocol/amqp-envelope';
import { decodeTaskMessage, encodeTaskMessage, type TaskCall } from '../../runner/protocol/message';
import { checkQueue, rabbitVhost } from '../support/rabbitmq';
import { until } from '../support/wait';

function call(id: string, args: unknown[] = [1, 2], priority = 0): TaskCall {
  return { id, name: 'tasks.add', args, kwargs: {}, queue: 'celery', priority, eta: null, expires: null };
}

function message(id: string, args?: unknown[], priority = 0): string {
  return encodeTaskMessage(call(id, args, priority), { origin: 'test@host', replyTo: 'r', deliveryTag: 't' });
}

function record(raw: string, reason = 'test'): DeadLetterRecord {
  return { reason, queue: 'celery', worker: 'w@test', time: 1, raw };
}

describe('AMQP broker (RabbitMQ)', function () {
  this.timeout(30_000);
  const rabbit = rabbitVhost();
  const open: AmqpBroker[] = [];
  const warnings: string[] = [];

  async function broker(extra: Partial<Parameters<typeof AmqpBroker.connect>[0]> = {}): Promise<AmqpBroker> {
    const b = await AmqpBroker.connect({ url: rabbit.url, ...extra }, { warn: (m) => warnings.push(m) });
    open.push(b);
    return b;
  }

  /** Take what arrives until `n` deliveries are in hand (or `waitMs` runs out). */
  async function take(b: AmqpBroker, queues: string[], n: number, max = n, waitMs = 5000): Promise<Delivery[]> {
    const got: Delivery[] = [];
    const deadline = Date.now() + waitMs;
    while (got.length < n && Date.now() < deadline) got.push(...await b.waitAndReserve(queues, max - got.length, 'w@test'));
    return got;
  }

  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
    warnings.length = 0;
  });

  it('declares a task queue as Celery does: durable direct exchange and queue of that name, bound by it', async () => {
    const b = await broker();
    await b.publish('q-declare', 0, message('d1'));
    const q = await rabbit.vhost.queue('q-declare');
    assert.ok(q, 'the queue exists');
    assert.equal(q.durable, true);
    assert.equal(q.type, 'classic');
    assert.deepEqual(q.arguments, {});
    assert.equal((await checkQueue(rabbit.url, 'q-declare'))?.messages, 1);
  });

  it('publishes, reserves and acks: an acked message is gone, its envelope decodes to the call sent', async () => {
    const b = await broker();
    b.setPrefetch(10);
    await b.publishMany([{ queue: 'q-ack', priority: 0, message: message('a1', [1]) }, { queue: 'q-ack', priority: 0, message: message('a2', [2]) }]);
    const got = await take(b, ['q-ack'], 2);
    assert.deepEqual(got.map((d) => decodeTaskMessage(d.raw).id), ['a1', 'a2'], 'in order');
    assert.deepEqual(decodeTaskMessage(got[0]!.raw).args, [1]);
    for (const d of got) await b.ack(d.tag);
    // Closing would put back anything not acked: nothing comes back.
    await b.close();
    assert.deepEqual(await checkQueue(rabbit.url, 'q-ack'), { messages: 0, consumers: 0 });
  });

  it('holds no more unacked than the prefetch, and one more per message held for its ETA', async () => {
    const b = await broker();
    b.setPrefetch(2);
    await b.publishMany(Array.from({ length: 5 }, (_, i) => ({ queue: 'q-qos', priority: 0, message: message(`q${i}`) })));
    // Half a second is ample for RabbitMQ to push what the QoS allows (it pushes at once).
    const first = await take(b, ['q-qos'], 5, 5, 500);
    assert.equal(first.length, 2, 'two delivered under prefetch 2');
    b.holdOutsidePrefetch(1);
    const more = await take(b, ['q-qos'], 1);
    assert.equal(more.length, 1, 'an ETA wait lets one more through');
    assert.deepEqual((await take(b, ['q-qos'], 1, 1, 500)), [], 'and no more than that');
    for (const d of [...first, ...more]) await b.ack(d.tag);
    assert.equal((await take(b, ['q-qos'], 2)).length, 2);
  });

  it('gives back what it will not run (marked redelivered), and a lost connection gives back what it held', async () => {
    const b = await broker();
    b.setPrefetch(10);
    await b.publishMany([{ queue: 'q-back', priority: 0, message: message('g1') }, { queue: 'q-back', priority: 0, message: message('g2') }]);
    const got = await take(b, ['q-back'], 2);
    assert.equal(await b.giveBack([{ tag: got[0]!.tag, raw: got[0]!.raw, queue: 'q-back', priority: 0 }]), 1);
    const again = await take(b, ['q-back'], 1);
    assert.equal(decodeTaskMessage(again[0]!.raw).id, 'g1');
    assert.equal(decodeTaskMessage(again[0]!.raw).redelivered, true);
    // The process holding g1 (again) and g2 dies without a word: RabbitMQ puts both back for another consumer.
    await b.connection.close();
    const other = await broker();
    other.setPrefetch(10);
    const recovered = await take(other, ['q-back'], 2);
    assert.deepEqual(recovered.map((d) => decodeTaskMessage(d.raw).id).sort(), ['g1', 'g2']);
    for (const d of recovered) await other.ack(d.tag);
  });

  it('dead-letters with the record, lists newest first, replays one (published again, record gone) and discards one', async () => {
    const b = await broker();
    b.setPrefetch(10);
    await b.purgeDeadLetters();
    await b.publishMany(['x1', 'x2', 'x3'].map((id) => ({ queue: 'q-dlq', priority: 0, message: message(id) })));
    const got = await take(b, ['q-dlq'], 3);
    for (const d of got) await b.deadLetter(d.tag, { ...record(d.raw, `bad ${decodeTaskMessage(d.raw).id}`), task_id: decodeTaskMessage(d.raw).id });
    assert.equal(await b.deadLetterCount(), 3);
    const listed = (await b.deadLetters(0, 10)).map((r) => JSON.parse(r) as DeadLetterRecord);
    assert.deepEqual(listed.map((r) => r.reason), ['bad x3', 'bad x2', 'bad x1'], 'newest first');
    assert.equal((await checkQueue(rabbit.url, 'q-dlq'))?.messages, 0, 'nothing left in the task queue');
    // Listing took nothing: the records are all still there, in their order.
    assert.deepEqual((await b.deadLetters(1, 1)).map((r) => (JSON.parse(r) as DeadLetterRecord).reason), ['bad x2']);

    const x2 = (await b.deadLetters(1, 1))[0]!;
    assert.equal(await b.replayDeadLetter(x2, 'q-dlq', 0, (JSON.parse(x2) as DeadLetterRecord).raw), true);
    assert.equal(await b.replayDeadLetter(x2, 'q-dlq', 0, (JSON.parse(x2) as DeadLetterRecord).raw), false, 'gone after the replay');
    const replayed = await take(b, ['q-dlq'], 1);
    assert.equal(decodeTaskMessage(replayed[0]!.raw).id, 'x2');
    await b.ack(replayed[0]!.tag);

    const x1 = (await b.deadLetters(1, 1))[0]!;
    assert.equal(await b.discardDeadLetter(x1), true);
    assert.deepEqual((await b.deadLetters(0, 10)).map((r) => (JSON.parse(r) as DeadLetterRecord).reason), ['bad x3']);
    assert.equal(await b.purgeDeadLetters(), 1);
    assert.equal(await b.deadLetterCount(), 0);
  });

  it('keeps a message that is not UTF-8 byte for byte (base64 in its envelope, headers beside), so its record can be replayed as it came', async () => {
    const b = await broker();
    b.setPrefetch(10);
    await b.purgeDeadLetters();
    await b.declareQueue('q-bytes');
    const raw = await rabbit.connect();
    const ch = await raw.createChannel();
    const bytes = Buffer.from([0x5b, 0xff, 0xfe, 0x5d]);
    ch.sendToQueue('q-bytes', bytes, { contentType: 'application/json', headers: { task: 'tasks.add', id: 'bin-1' } });
    await ch.close();
    const [d] = await take(b, ['q-bytes'], 1);
    assert.throws(() => decodeTaskMessage(d!.raw), /not valid UTF-8/);
    await b.deadLetter(d!.tag, record(d!.raw, 'body is not valid UTF-8'));
    const stored = JSON.parse((await b.deadLetters(0, 1))[0]!) as DeadLetterRecord;
    const envelope = JSON.parse(stored.raw) as { headers: { id: string } };
    assert.equal(envelope.headers.id, 'bin-1', 'the headers are kept');
    assert.deepEqual(envelopeToAmqp(stored.raw).content, bytes, 'the body, byte for byte');
  });

  it('priorities on a queue with x-max-priority: Radish\'s 0 is served first, 9 last', async () => {
    const b = await broker({ queueMaxPriority: 10 });
    await b.publishMany([9, 5, 0, 3].map((p) => ({ queue: 'q-prio', priority: p, message: message(`p${p}`, [p], p) })));
    assert.deepEqual((await rabbit.vhost.queue('q-prio'))?.arguments, { 'x-max-priority': 10 });
    b.setPrefetch(1);
    const order: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [d] = await take(b, ['q-prio'], 1);
      const msg = decodeTaskMessage(d!.raw);
      order.push(msg.priority);
      await b.ack(d!.tag);
    }
    assert.deepEqual(order, [0, 3, 5, 9]);
  });

  it('uses a queue declared with other arguments as it is, and says so once', async () => {
    const pre = await broker({ queueMaxPriority: 10 });
    await pre.declareQueue('q-mismatch');
    const b = await broker();
    await b.publish('q-mismatch', 0, message('m1'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /q-mismatch.*x-max-priority/);
    assert.equal((await checkQueue(rabbit.url, 'q-mismatch'))?.messages, 1, 'published all the same');
  });

  it('quorum queues: declared with x-queue-type, consumed with a per-consumer QoS that an ETA wait does not block', async () => {
    const b = await broker({ queueType: 'quorum' });
    b.setPrefetch(2);
    await b.publishMany(Array.from({ length: 5 }, (_, i) => ({ queue: 'q-quorum', priority: 0, message: message(`qq${i}`) })));
    assert.deepEqual((await rabbit.vhost.queue('q-quorum'))?.type, 'quorum');
    const first = await take(b, ['q-quorum'], 5, 5, 500);
    assert.equal(first.length, 2, 'two delivered under prefetch 2 (a global QoS would have closed the connection)');
    b.holdOutsidePrefetch(1);
    // The consumer is started again with prefetch 3; what it held before no longer counts (see applyQos).
    const more = await take(b, ['q-quorum'], 3, 3, 500);
    assert.equal(more.length, 3, 'an ETA wait does not block the consumer');
    // What was delivered before the consumer was started again is still held, and acks as usual.
    for (const d of [...first, ...more]) await b.ack(d.tag);
    await b.close();
    assert.deepEqual(await checkQueue(rabbit.url, 'q-quorum'), { messages: 0, consumers: 0 }, 'every ack counted');
  });

  it('consumes a quorum queue someone else declared (a Celery 5.5 app) without being told, warning once', async () => {
    const raw = await rabbit.connect();
    const ch = await raw.createChannel();
    await ch.assertQueue('q-their-quorum', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    ch.sendToQueue('q-their-quorum', Buffer.from(JSON.stringify([[1, 2], {}, {}])), {
      contentType: 'application/json', contentEncoding: 'utf-8', headers: { task: 'tasks.add', id: 'their-1', lang: 'py' },
    });
    await ch.close();
    const b = await broker();
    b.setPrefetch(4);
    const [d] = await take(b, ['q-their-quorum'], 1);
    assert.equal(decodeTaskMessage(d!.raw).id, 'their-1');
    await b.ack(d!.tag);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /x-queue-type/);
  });

  it('reports depths (and 0 for a queue that does not exist), purges, and refuses to browse, saying why', async () => {
    const b = await broker();
    await b.publishMany(['d1', 'd2', 'd3'].map((id) => ({ queue: 'q-depth', priority: 0, message: message(id) })));
    const depths = await b.depths(['q-depth', 'q-none']);
    assert.deepEqual(depths.map((d) => [d.queue, d.total]), [['q-depth', 3], ['q-none', 0]]);
    await assert.rejects(b.peek('q-depth', 0, 10), (err: unknown) => err instanceof BrowseUnsupportedError && /depth only/.test(err.message));
    assert.equal(await b.purge('q-depth'), 3);
    assert.equal(await b.purge('q-none'), 0);
    assert.ok((await b.declaredQueues()).includes('q-depth'), 'listed through the management API');
  });

  it('sends and hears remote control and events through the exchanges Celery declares', async () => {
    const b = await broker();
    const heard: string[] = [];
    const sub = await b.fanout.listenPidbox('node1@test', { request: (raw) => heard.push(raw) });
    const events: string[] = [];
    const ev = await b.fanout.subscribeEvents('worker.*', { event: (raw) => events.push(raw) });
    const inbox = await b.fanout.openReplies('oid-1');
    await b.fanout.broadcastPidbox(JSON.stringify({ body: '{"method":"ping"}', 'content-type': 'application/json', headers: {}, properties: {} }));
    await until(() => heard.length === 1, 'the request heard');
    assert.equal(JSON.parse((JSON.parse(heard[0]!) as { body: string }).body).method, 'ping');
    assert.equal(await b.fanout.replyPidbox({ exchange: 'reply.celery.pidbox', routing_key: 'oid-1' },
      JSON.stringify({ body: '{"node1@test":{"ok":"pong"}}', 'content-type': 'application/json', headers: {}, properties: {} })), true);
    const reply = await inbox.next(2);
    assert.ok(reply && /pong/.test(reply));
    await b.fanout.publishEvent('worker.heartbeat', JSON.stringify({ body: '{"type":"worker-heartbeat"}', 'content-type': 'application/json', headers: {}, properties: {} }));
    await b.fanout.publishEvent('task.multi', JSON.stringify({ body: '[]', 'content-type': 'application/json', headers: {}, properties: {} }));
    await until(() => events.length >= 1, 'the heartbeat heard');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.length, 1, 'worker.* hears the heartbeat, not task.multi');
    const node = await rabbit.vhost.queue('node1@test.celery.pidbox');
    assert.deepEqual(node?.arguments, { 'x-expires': 10000, 'x-message-ttl': 300000 });
    assert.deepEqual(await b.pidboxNodes(), ['node1@test']);
    await Promise.all([sub.close(), ev.close(), inbox.close()]);
  });
});
