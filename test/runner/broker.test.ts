/** The kombu-compatible transport on a real redis-server: key layout, reserve/ack, restore, dead letters, purge. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisBroker as Broker } from '../../runner/broker/redis-broker';
import { Keys, SEP } from '../../runner/broker/keys';
import { decodeTaskMessage, encodeTaskMessage } from '../../runner/protocol/message';
import { redisHarness } from '../support/redis';
import { delay, poll } from '../support/wait';

const sender = () => ({ origin: 'gen1@test', replyTo: 'reply', deliveryTag: `tag-${Math.random().toString(36).slice(2)}` });
const message = (id: string, priority = 0, queue = 'celery') =>
  encodeTaskMessage({ id, name: 'tasks.add', args: [1, 2], queue, priority }, sender());

describe('broker: kombu Redis transport', function () {
  const h = redisHarness();
  let broker: Broker;

  beforeEach(async () => {
    broker = await Broker.connect({ url: h.server.url });
  });
  afterEach(async () => broker.close());

  it('publishes to the priority list kombu uses and declares the binding', async () => {
    await broker.publish('celery', 0, message('p0', 0));
    await broker.publish('celery', 5, message('p5', 5));
    await broker.publish('celery', 9, message('p9', 9));
    assert.equal(await h.redis.llen('celery'), 1);
    assert.equal(await h.redis.llen(`celery${SEP}3`), 1);
    assert.equal(await h.redis.llen(`celery${SEP}9`), 1);
    await delay(20);
    assert.deepEqual(await h.redis.smembers('_kombu.binding.celery'), [`celery${SEP}${SEP}celery`]);
  });

  it('reserves in kombu order (priority steps first, FIFO within one) and records each in unacked', async () => {
    await broker.publish('celery', 9, message('low', 9));
    await broker.publish('celery', 0, message('high-1', 0));
    await broker.publish('celery', 0, message('high-2', 0));
    await broker.publish('celery', 4, message('mid', 4));
    const before = Date.now() / 1000;
    const got = await broker.reserve(['celery'], 10, 'w@test');
    assert.deepEqual(got.map((d) => decodeTaskMessage(d.raw).id), ['high-1', 'high-2', 'mid', 'low']);
    assert.equal(await h.redis.hlen('unacked'), 4);
    const first = got[0]!;
    const entry = JSON.parse((await h.redis.hget('unacked', first.tag))!) as unknown[];
    // The same shape kombu writes: [message, exchange, routing_key].
    assert.deepEqual(entry, [JSON.parse(first.raw), '', 'celery']);
    const score = Number(await h.redis.zscore('unacked_index', first.tag));
    assert.ok(Math.abs(score - Date.now() / 1000) < 5, `index score ${score} is a delivery time`);
    // Whole seconds (cheap for Redis to compare), rounded up: never older than the delivery, so never restored early.
    assert.ok(Number.isInteger(score) && score >= before, `index score ${score} is whole seconds, not before the reserve (${before})`);
    await broker.ack(first.tag);
    assert.equal(await h.redis.hexists('unacked', first.tag), 0);
    assert.equal(await h.redis.zscore('unacked_index', first.tag), null);
  });

  it('takes no more than asked', async () => {
    for (let i = 0; i < 5; i++) await broker.publish('celery', 0, message(`m${i}`));
    assert.equal((await broker.reserve(['celery'], 2, 'w')).length, 2);
    assert.equal(await h.redis.llen('celery'), 3);
  });

  it('waits for a message without taking it (a lost reply loses nothing), then reserves it atomically', async () => {
    const monitor = await h.redis.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args[0]!.toLowerCase()));
    const waiting = broker.waitAndReserve(['celery'], 5, 'w');
    await delay(20);
    await h.redis.lpush('celery', message('late'));
    const got = await waiting;
    monitor.disconnect();
    assert.deepEqual(got.map((d) => decodeTaskMessage(d.raw).id), ['late']);
    assert.equal(await h.redis.hlen('unacked'), 1, 'recorded as unacked in the same step as it was taken');
    // MONITOR lists a script's own commands after its EVALSHA: the only pops are those inside the script.
    assert.ok(seen.includes('blmove') && !seen.includes('brpop') && seen.indexOf('rpop') > seen.indexOf('evalsha'), `waited with BLMOVE, took inside the script: ${seen.join(' ')}`);
  });

  it('waits on every queue it consumes, each on a connection of its own, and wakes for whichever gets a message', async () => {
    const waiting = broker.waitAndReserve(['first', 'second'], 5, 'w');
    const blocked = async () => ((await h.redis.client('LIST')) as string).split('\n').filter((l) => / cmd=blmove /.test(l)).length;
    let seen = 0;
    await poll(async () => (seen = await blocked()) >= 2, 2000);
    assert.equal(seen, 2, 'one BLMOVE per queue');
    await h.redis.lpush('second', message('on-second'));
    assert.deepEqual((await waiting).map((d) => [d.queue, decodeTaskMessage(d.raw).id]), [['second', 'on-second']]);
  });

  it('after interrupt, a pending wait returns at once without taking anything, and so do later ones', async () => {
    const other = await Broker.connect({ url: h.server.url });
    try {
      await other.waitAndReserve(['celery'], 5, 'w'); // opens the blocking connection
      const idle = other.waitAndReserve(['celery'], 5, 'w');
      await delay(20);
      await other.interrupt();
      assert.deepEqual(await idle, []);
      await h.redis.lpush('celery', message('after'));
      assert.deepEqual(await other.waitAndReserve(['celery'], 5, 'w'), [], 'nothing taken once interrupted');
      assert.equal(await h.redis.llen('celery'), 1);
    } finally {
      await other.close();
    }
  });

  it('dead-letters a message kombu could not restore instead of recording it as unacked', async () => {
    await h.redis.lpush('celery', 'not json at all');
    await h.redis.lpush('celery', JSON.stringify({ body: 'x', properties: {} }));
    const got = await broker.reserve(['celery'], 10, 'w@test');
    assert.deepEqual(got.map((d) => d.tag), ['', '']);
    assert.equal(await h.redis.hlen('unacked'), 0);
    const records = (await h.redis.lrange('radish.dlq', 0, -1)).map((r) => JSON.parse(r) as { reason: string; raw: string; queue: string });
    assert.deepEqual(records.map((r) => r.raw).sort(), ['not json at all', JSON.stringify({ body: 'x', properties: {} })].sort());
    assert.ok(records.every((r) => r.queue === 'celery' && r.reason.length > 0));
  });

  it('records the same unacked entry whether it reads the tag from the tail or decodes the whole message', async () => {
    // Celery's layout (Python's spaces), Radish's (compact), one whose tail is not kombu's (properties first: decoded
    // in full), and one with an escaped routing key (decoded in full): each entry is [message, exchange, routing_key].
    const celery = readFileSync(join(__dirname, '../fixtures/messages/add_basic.json'), 'utf8').trim();
    const compact = message('compact');
    const reordered = (() => {
      const e = JSON.parse(message('reordered')) as Record<string, unknown>;
      const { properties, ...rest } = e;
      return JSON.stringify({ properties, ...rest });
    })();
    const escaped = message('escaped').replace('"routing_key":"celery"', '"routing_key":"cel\\"ery"');
    const sent = [celery, compact, reordered, escaped];
    for (const m of sent) await h.redis.lpush('celery', m);
    const got = await broker.reserve(['celery'], 10, 'w@test');
    assert.equal(got.length, 4);
    for (const [i, d] of got.entries()) {
      const props = (JSON.parse(sent[i]!) as { properties: { delivery_tag: string; delivery_info: { exchange: string; routing_key: string } } }).properties;
      assert.equal(d.tag, props.delivery_tag);
      const entry = JSON.parse((await h.redis.hget('unacked', d.tag))!) as [unknown, string, string];
      assert.deepEqual(entry, [JSON.parse(sent[i]!), props.delivery_info.exchange, props.delivery_info.routing_key]);
    }
    // The tail is read without decoding the rest: both layouts broken before it are still recorded (by its tag).
    await h.redis.lpush('celery', `{"body": "oops, ${celery.slice(1)}`, `{"body": "oops, ${compact.slice(1)}`);
    const broken = await broker.reserve(['celery'], 10, 'w@test');
    assert.deepEqual(broken.map((d) => d.tag), [got[0]!.tag, got[1]!.tag]);
  });

  it('dead-letters an unacked entry that is not JSON when it recovers a dead worker\'s messages', async () => {
    // What the reserve records for a message with kombu's tail that is broken before it, when its worker dies before
    // it checks the rest: kombu's restore would fail on it, so recovery sends it where its worker would have.
    const broken = `{"body": "oops, "x": ${message('broken').slice(1)}`;
    await h.redis.lpush('celery', broken);
    const [d] = await broker.reserve(['celery'], 1, 'gone@test');
    assert.ok(d?.tag, 'recorded by its tail');
    assert.equal(await h.redis.hlen('unacked'), 1);
    const recovered = await broker.recover({ worker: 'me@test', held: new Set(), graceSec: 0 }, async () => false);
    assert.deepEqual([...recovered], [], 'nothing restored');
    assert.equal(await h.redis.hlen('unacked'), 0);
    assert.equal(await h.redis.zcard('unacked_index'), 0);
    assert.equal(await h.redis.hlen('radish.owners'), 0);
    const [record] = (await h.redis.lrange('radish.dlq', 0, -1)).map((r) => JSON.parse(r) as { reason: string; raw: string; queue: string; worker: string });
    assert.equal(record?.raw, broken, 'the message byte for byte');
    assert.equal(record?.queue, 'celery');
    assert.equal(record?.worker, 'me@test');
    assert.match(record?.reason ?? '', /^message is not valid JSON/);
    assert.equal(await h.redis.llen('celery'), 0, 'not put back');
  });

  it('dead-letters a reserved message with its record and acks it in one step, within the bound', async () => {
    const small = await Broker.connect({ url: h.server.url, deadLetterMax: 2 });
    try {
      for (let i = 0; i < 3; i++) await small.publish('celery', 0, message(`d${i}`));
      const got = await small.reserve(['celery'], 3, 'w');
      const dropped = [];
      for (const d of got) dropped.push(await small.deadLetter(d.tag, { reason: 'test', queue: 'celery', worker: 'w', time: 1, raw: d.raw }));
      assert.deepEqual(dropped, [0, 0, 1]);
      assert.equal(await h.redis.llen('radish.dlq'), 2);
      assert.equal(await h.redis.hlen('unacked'), 0);
      const kept = JSON.parse((await h.redis.lindex('radish.dlq', 0))!) as { raw: string };
      assert.equal(kept.raw, got[2]!.raw, 'original message kept byte for byte');
    } finally {
      await small.close();
    }
  });

  it('hands over a message that is not UTF-8 with its bytes, and dead-letters it byte for byte', async () => {
    // Valid JSON around a Latin-1 byte: the reserve records it (the script does not scan for UTF-8); the bytes come back.
    const text = message('latin').replace('"latin"', '"lat\u00e9n"');
    const bytes = Buffer.from(text, 'latin1');
    await h.redis.lpush('celery', bytes);
    await broker.publish('celery', 0, message('fine'));
    const [bad, good] = await broker.reserve(['celery'], 2, 'w');
    assert.ok(bad?.bytes && bad.bytes.equals(bytes), 'the bytes as pushed');
    assert.equal(good?.bytes, undefined, 'a UTF-8 message has no bytes of its own');
    await broker.deadLetter(bad.tag, { reason: 'message is not valid UTF-8', queue: 'celery', worker: 'w', time: 1, raw: bad.raw }, bad.bytes);
    const stored = (await h.redis.lindexBuffer('radish.dlq', 0))!;
    const record = JSON.parse(stored.toString('latin1')) as { raw: string; reason: string };
    assert.ok(Buffer.from(record.raw, 'latin1').equals(bytes), 'the record keeps the original bytes');
    assert.equal(record.reason, 'message is not valid UTF-8');
    assert.equal(await h.redis.hexists('unacked', bad.tag), 0, 'acked');
  });

  it('restores unacked messages past the visibility timeout, marked redelivered, to be consumed next', async () => {
    await broker.publish('celery', 0, message('old'));
    await broker.publish('celery', 0, message('waiting'));
    const [old] = await broker.reserve(['celery'], 1, 'w');
    assert.equal(await broker.restoreVisible(3600), 0, 'not yet visible');
    await h.redis.zadd('unacked_index', Date.now() / 1000 - 7200, old!.tag);
    assert.equal(await broker.restoreVisible(3600), 1);
    assert.equal(await h.redis.hlen('unacked'), 0);
    const next = decodeTaskMessage((await h.redis.rpop('celery'))!);
    assert.equal(next.id, 'old');
    assert.equal(next.redelivered, true);
  });

  it("restores an entry written by Python's kombu, and waits while another process holds the mutex", async () => {
    const entry = readFileSync(join(__dirname, '../fixtures/unacked_hash_entry_eta_task.json'), 'utf8').trim();
    const tag = (JSON.parse(entry) as [{ properties: { delivery_tag: string } }])[0].properties.delivery_tag;
    await h.redis.hset('unacked', tag, entry);
    await h.redis.zadd('unacked_index', 1, tag);
    await h.redis.set('unacked_mutex', 'someone-else', 'PX', 10_000);
    assert.equal(await broker.restoreVisible(), 0);
    await h.redis.del('unacked_mutex');
    assert.equal(await broker.restoreVisible(), 1);
    const restored = decodeTaskMessage((await h.redis.rpop('celery'))!);
    assert.equal(restored.id, 'fixture-eta-expires');
    assert.equal(restored.redelivered, true);
    assert.equal(await h.redis.exists('unacked_mutex'), 0, 'mutex released');
  });

  it('gives back its own reserved messages at once', async () => {
    await broker.publish('celery', 6, message('mine', 6));
    const [d] = await broker.reserve(['celery'], 1, 'w');
    assert.equal(await broker.giveBack([{ tag: d!.tag, raw: d!.raw, queue: 'celery', priority: 6 }]), 1);
    assert.equal(await h.redis.llen(`celery${SEP}6`), 1);
    assert.equal(await h.redis.hlen('unacked'), 0);
  });

  it('reports depths per priority in one round-trip and purges every priority', async () => {
    for (const p of [0, 0, 3, 7, 9]) await broker.publish('work', p, message(`w${p}`, p, 'work'));
    const [depth] = await broker.depths(['work']);
    assert.deepEqual(depth, { queue: 'work', total: 5, byPriority: { 0: 2, 3: 1, 6: 1, 9: 1 } });
    assert.deepEqual(await broker.declaredQueues(), ['work']);
    assert.equal(await broker.purge('work'), 5);
    assert.equal((await broker.depths(['work']))[0]!.total, 0);
  });

  it('puts a global key prefix before every broker key, as kombu does', async () => {
    const prefixed = await Broker.connect({ url: h.server.url, keyPrefix: 'app1:' });
    try {
      await prefixed.publish('celery', 3, message('pre', 3));
      assert.equal(await h.redis.llen(`app1:celery${SEP}3`), 1);
      const [d] = await prefixed.reserve(['celery'], 1, 'w');
      assert.equal(await h.redis.hexists('app1:unacked', d!.tag), 1);
      assert.equal(await h.redis.exists('unacked'), 0);
      assert.equal(new Keys('app1:').deadLetter, 'app1:radish.dlq');
      assert.equal(Keys.result('x'), 'celery-task-meta-x', 'results are not prefixed (Celery 5.2 backend)');
    } finally {
      await prefixed.close();
    }
  });
});
