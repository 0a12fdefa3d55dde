/**
 * Remote control (pidbox): golden tests against the requests and replies captured from Celery 5.2.6
 * (test/fixtures/pidbox, copied from shared/celery/fixtures/pidbox), the worker's Mailbox and the client's Control on
 * a real Redis, Python's `celery inspect` against a Radish mailbox, Control against a real Python Celery worker, and
 * the persistent revoked list.
 */
import { RedisFanout } from '../../runner/broker/redis-fanout';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Keys } from '../../runner/broker/keys';
import { Control } from '../../runner/control';
import { createLogger } from '../../runner/log';
import type { JsonObject } from '../../runner/protocol/message';
import {
  decodeReply, decodeRequest, encodeReply, encodeRequest, isAddressedTo, LamportClock, noSuchCommand, ok, PidboxError,
  revokeArguments, revokeReply,
} from '../../runner/protocol/pidbox';
import { pythonJson } from '../../runner/protocol/python-json';
import { Mailbox, type ControlHandlers, type MailboxOptions } from '../../runner/worker/mailbox';
import { RevokedStore } from '../../runner/broker/revoked';
import { celeryCli, celerySend, type CeleryWorker, requireCelery, startCeleryWorker } from '../support/celery';
import { until } from '../support/wait';
import { connectionsMadeBy, redisHarness, requireOwnServer, willReconnect } from '../support/redis';

const FIXTURES = join(__dirname, '../fixtures/pidbox');
const fixtureNames = readdirSync(FIXTURES).filter((f) => f.endsWith('.raw.json')).map((f) => f.replace(/\.raw\.json$/, ''));

function raw(name: string): string {
  return readFileSync(join(FIXTURES, `${name}.raw.json`), 'utf8').trim();
}

/** The decoded capture: `{envelope_body_decoded: {body, headers, ...}}`, or for mingle's hello `{event: body}`. */
function decoded(name: string): { body: JsonObject; headers?: JsonObject } {
  const file = JSON.parse(readFileSync(join(FIXTURES, `${name}.decoded.json`), 'utf8')) as JsonObject;
  const inner = (file.envelope_body_decoded ?? { body: file.event }) as { body: JsonObject; headers?: JsonObject };
  return inner;
}

const quiet = createLogger('critical', () => undefined);

/** A test connection; the tests that stop Redis expect its connection errors, so they are not reported. */
function connectTo(url: string): Redis {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  return redis;
}


// ---------------------------------------------------------------------------------------------

describe('pidbox protocol (golden, Celery 5.2.6 captures)', () => {
  const requests = fixtureNames.filter((n) => n.startsWith('request_'));
  const replies = fixtureNames.filter((n) => n.startsWith('reply_'));

  it('has the captured fixtures', () => {
    assert.ok(requests.length >= 10 && replies.length >= 9, `found ${requests.length} requests, ${replies.length} replies`);
  });

  it('decodes every captured request, and re-encodes it byte for byte', () => {
    for (const name of requests) {
      const captured = raw(name);
      const want = decoded(name);
      const got = decodeRequest(captured);
      const body = want.body;
      assert.equal(got.method, body.method, name);
      assert.deepEqual(got.arguments, body.arguments, name);
      assert.deepEqual(got.destination, body.destination, name);
      assert.equal(got.pattern, body.pattern, name);
      assert.equal(got.matcher, body.matcher, name);
      assert.equal(got.ticket, body.ticket, name);
      assert.deepEqual(got.replyTo, body.reply_to, name);
      type Captured = { headers: { clock: number; expires: number }; properties: { delivery_tag: string } };
      const envelope = JSON.parse(captured) as Captured;
      assert.equal(got.clock, envelope.headers.clock, name);
      assert.equal(got.expires, envelope.headers.expires, name);
      assert.equal(got.deliveryTag, envelope.properties.delivery_tag, name);

      const again = encodeRequest(got, { clock: got.clock, expires: got.expires, deliveryTag: envelope.properties.delivery_tag });
      assert.deepEqual(JSON.parse(again), envelope, `${name}: field by field`);
      assert.deepEqual(decodeRequest(again), got, `${name}: body field by field`);
      assert.equal(again, captured, `${name}: byte for byte`);
    }
  });

  it('decodes every captured reply, and re-encodes it (byte for byte where JSON can tell)', () => {
    for (const name of replies) {
      const captured = raw(name);
      const want = decoded(name);
      const got = decodeReply(captured);
      assert.deepEqual(got.replies, want.body, name);
      assert.equal(got.ticket, want.headers?.ticket, name);
      assert.equal(got.clock, want.headers?.clock, name);
      assert.equal(got.expires, 0);
      const envelope = JSON.parse(captured) as JsonObject & { properties: { delivery_tag: string; delivery_info: unknown } };
      assert.deepEqual(got.deliveryInfo, envelope.properties.delivery_info);
      const [hostname, value] = Object.entries(got.replies)[0] ?? [];
      assert.equal(hostname, 'w1@vm');
      const again = encodeReply(hostname ?? '', value, { ticket: got.ticket, replyTo: got.deliveryInfo },
        { clock: got.clock, deliveryTag: envelope.properties.delivery_tag });
      const { body: _againBody, ...againRest } = JSON.parse(again) as JsonObject;
      const { body: _capturedBody, ...capturedRest } = envelope;
      assert.deepEqual(againRest, capturedRest, `${name}: envelope field by field`);
      assert.deepEqual(decodeReply(again).replies, got.replies, `${name}: body`);
      if (name === 'reply_stats') {
        // Python's stats say `"heartbeat": 120.0`, a float JSON cannot tell from the int 120: the only difference.
        const text = (envelopeText: string): string =>
          Buffer.from((JSON.parse(envelopeText) as { body: string }).body, 'base64').toString('utf8');
        assert.equal(text(again), text(captured).replace('"heartbeat": 120.0', '"heartbeat": 120'));
      } else {
        assert.equal(again, captured, `${name}: byte for byte`);
      }
    }
  });

  it('writes JSON exactly as Python json.dumps does', () => {
    // Expected strings printed by /usr/bin/python3 -c 'import json; print(json.dumps([...]))'.
    const values = [1e16, 1.5e-5, 0.0001, 123.456, 2 ** 53 + 2, 'é\u2028😀', { a: undefined, b: [undefined] }, 0, 1e21, 5e-324];
    assert.equal(pythonJson(values),
      '[1e+16, 1.5e-05, 0.0001, 123.456, 9007199254740994.0, "\\u00e9\\u2028\\ud83d\\ude00", {"b": [null]}, 0, 1e+21, 5e-324]');
    assert.equal(pythonJson({ 'q"\\': '\n\t\u0001\u007f', e: {}, l: [] }),
      '{"q\\"\\\\": "\\n\\t\\u0001\\u007f", "e": {}, "l": []}');
    assert.throws(() => pythonJson({ n: 1n }), TypeError);
    const cyclic: JsonObject = {};
    cyclic.self = cyclic;
    assert.throws(() => pythonJson(cyclic), /circular/);
  });

  it('encodes a request without reply the way kombu casts: no ticket, no reply_to', () => {
    const env = encodeRequest({ method: 'revoke', arguments: { task_id: 'x' } }, { clock: 7, expires: 0 });
    const got = decodeRequest(env);
    assert.equal(got.ticket, null);
    assert.equal(got.replyTo, null);
    const body = JSON.parse(Buffer.from((JSON.parse(env) as { body: string }).body, 'base64').toString()) as JsonObject;
    assert.deepEqual(Object.keys(body), ['method', 'arguments', 'destination', 'pattern', 'matcher']);
  });

  it('refuses what is not a JSON pidbox request, with a reason', () => {
    const good = JSON.parse(raw('request_ping')) as JsonObject;
    const variant = (patch: JsonObject, body?: unknown): string => JSON.stringify({
      ...good, ...patch, ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)).toString('base64') }),
    });
    const cases: [string, RegExp][] = [
      ['not json', /not valid JSON/],
      ['[1, 2]', /not a JSON object/],
      [variant({ 'content-type': 'application/x-python-serialize' }), /unsupported content type/],
      [variant({ body: '%%%' }), /not valid base64/],
      [variant({}, ['ping']), /must be an object/],
      [variant({}, { arguments: {} }), /no method/],
      [variant({}, { method: 'ping', arguments: [1] }), /arguments must be an object/],
      [variant({}, { method: 'ping', destination: 'w1@vm' }), /destination must be a list/],
      [variant({}, { method: 'ping', reply_to: 'somewhere' }), /reply_to must be/],
    ];
    for (const [input, reason] of cases) {
      assert.throws(() => decodeRequest(input), (err: Error) => err instanceof PidboxError && reason.test(err.message),
        input.slice(0, 60));
    }
    assert.throws(() => decodeReply(variant({}, ['w1@vm'])), PidboxError);
  });

  it('addresses nodes as kombu does: destination, else pattern + matcher, else everyone', () => {
    const base = { destination: null, pattern: null, matcher: null };
    assert.equal(isAddressedTo(base, 'w1@vm'), true);
    assert.equal(isAddressedTo({ ...base, destination: [] }, 'w1@vm'), true);
    assert.equal(isAddressedTo({ ...base, destination: ['w2@vm', 'w1@vm'] }, 'w1@vm'), true);
    assert.equal(isAddressedTo({ ...base, destination: ['w1@vm2'] }, 'w1@vm'), false);
    assert.equal(isAddressedTo({ ...base, pattern: 'w?@v[!x]', matcher: 'glob' }, 'w1@vm'), true);
    assert.equal(isAddressedTo({ ...base, pattern: 'radish@*', matcher: 'glob' }, 'w1@vm'), false);
    assert.equal(isAddressedTo({ ...base, pattern: 'w\\d', matcher: 'pcre' }, 'w1@vm'), true, 'pcre matches at the start');
    assert.equal(isAddressedTo({ ...base, pattern: '@vm', matcher: 'pcre' }, 'w1@vm'), false, 'like re.match, not re.search');
    assert.equal(isAddressedTo({ ...base, pattern: '(', matcher: 'pcre' }, 'w1@vm'), false);
    assert.equal(isAddressedTo({ ...base, pattern: '*', matcher: 'soundex' }, 'w1@vm'), false);
  });

  it('shapes revoke arguments and replies, and unknown commands, as Celery does', () => {
    const captured = decodeRequest(raw('request_revoke'));
    assert.deepEqual(revokeArguments(captured.arguments), { ids: ['pidbox-scheduled-add'], terminate: false, signal: 'SIGTERM' });
    assert.deepEqual({ 'w1@vm': revokeReply(['pidbox-scheduled-add']) }, decoded('reply_revoke').body);
    assert.deepEqual(revokeArguments({ task_id: ['a', 'b', 'a'], terminate: true, signal: 'SIGKILL' }),
      { ids: ['a', 'b'], terminate: true, signal: 'SIGKILL' });
    assert.deepEqual(revokeReply(['a'], ['a']), { ok: 'terminate: a' });
    assert.deepEqual(revokeReply(['a'], []), { ok: 'terminate: tasks unknown' });
    assert.throws(() => revokeArguments({ task_id: 42 }), PidboxError);
    // Observed from Celery 5.2.6: app.control.broadcast('nosuch', reply=True) -> {'error': "KeyError('nosuch')"}.
    assert.deepEqual(noSuchCommand('nosuch'), { error: "KeyError('nosuch')" });
  });

  it('keeps a Lamport clock', () => {
    const clock = new LamportClock();
    assert.equal(clock.forward(), 1);
    assert.equal(clock.adjust(10), 11);
    assert.equal(clock.adjust(3), 12);
    assert.equal(clock.adjust('x'), 13);
  });
});

// ---------------------------------------------------------------------------------------------

describe('pidbox on real Redis: Mailbox (worker) and Control (client)', function () {
  this.timeout(30_000);
  const h = redisHarness();
  const open: { stop?: () => Promise<void>; close?: () => Promise<void> }[] = [];

  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await (o.stop ?? o.close)?.call(o);
  });

  async function mailbox(
    handlers: ControlHandlers, extra: Partial<MailboxOptions> = {}, keyPrefix = '', url = h.server.url,
  ): Promise<Mailbox> {
    const commands = connectTo(url);
    const box = new Mailbox({
      hostname: 'radish@test', handlers, fanout: new RedisFanout(commands, new Keys(keyPrefix, commands.options.db ?? 0), { url }), logger: quiet, ...extra,
    });
    open.push({ close: async () => { await box.stop(); commands.disconnect(); } });
    await box.start();
    return box;
  }

  async function control(url = h.server.url, keyPrefix?: string): Promise<Control> {
    const c = await Control.connect({ url, keyPrefix });
    open.push(c);
    return c;
  }

  it('a mailbox with a ping handler answers Control.ping() and is listed in the pidbox bindings until it stops', async () => {
    const box = await mailbox({ ping: () => ok('pong') });
    await box.start(); // idempotent: still one subscriber, one member
    const member = '\x06\x16\x06\x16radish@test.celery.pidbox';
    assert.deepEqual(await h.redis.smembers('_kombu.binding.celery.pidbox'), [member]);
    assert.deepEqual(await h.redis.pubsub('NUMPAT'), 1);
    const c = await control();
    const seen: string[] = [];
    assert.deepEqual(await c.ping({ onReply: (node) => seen.push(node) }), { 'radish@test': { ok: 'pong' } });
    assert.deepEqual(seen, ['radish@test'], 'one reply: started twice, subscribed once');
    // kombu's client cleans up after itself: no reply binding, no reply list left behind.
    assert.deepEqual(await h.redis.smembers('_kombu.binding.reply.celery.pidbox'), []);
    assert.deepEqual(await h.redis.keys('*reply.celery.pidbox*'), []);
    await box.stop();
    await box.stop();
    assert.deepEqual(await h.redis.smembers('_kombu.binding.celery.pidbox'), []);
    assert.deepEqual(await c.ping({ timeout: 0.3 }), {});
  });

  it('puts the request on the wire as Celery does and the reply where the client waits', async () => {
    await mailbox({ ping: () => ok('pong') });
    const spy = h.connect();
    const published: [string, string][] = [];
    spy.on('pmessage', (_p: string, channel: string, message: string) => published.push([channel, message]));
    await spy.psubscribe('*');
    try {
      const c = await control();
      await c.broadcast('ping', {}, { destination: ['radish@test'] });
      assert.equal(published.length, 1);
      const [channel, message] = published[0] ?? ['', ''];
      assert.equal(channel, '/0.celery.pidbox');
      const envelope = JSON.parse(message) as JsonObject;
      const shape = JSON.parse(raw('request_ping')) as JsonObject;
      assert.deepEqual(Object.keys(envelope), Object.keys(shape));
      const request = decodeRequest(message);
      assert.deepEqual(request.destination, ['radish@test']);
      assert.equal(request.replyTo?.exchange, 'reply.celery.pidbox');
      assert.ok(request.expires > Date.now() / 1000 && request.expires < Date.now() / 1000 + 1.5, 'expires = now + timeout');
      assert.match(message, /^\{"body": "[A-Za-z0-9+/=]+", "content-encoding": "utf-8"/, "kombu's separators");
    } finally {
      spy.disconnect();
    }
  });

  it('answers only when addressed and in time, acts on late requests all the same, and a bad request never stops it', async () => {
    let now = Date.now();
    const calls: string[] = [];
    await mailbox({ ping: () => { calls.push('ping'); return ok('pong'); } }, { now: () => now });
    const c = await control();
    assert.deepEqual(await c.ping({ destination: ['someone@else'], timeout: 0.3 }), {});
    const pickled = raw('request_ping').replace('application/json', 'application/x-python-serialize');
    for (const junk of ['', 'not json', '{"body": 1}', pickled]) await h.redis.publish('/0.celery.pidbox', junk);
    assert.deepEqual(await c.ping({ destination: ['radish@test'] }), { 'radish@test': { ok: 'pong' } });
    now += 10_000; // the worker's clock is now past every request's expiry (now + 1 s)
    calls.length = 0;
    assert.deepEqual(await c.ping({ timeout: 0.5 }), {}, 'no reply to a late request');
    assert.deepEqual(calls, ['ping'], 'but it was acted on (a late revoke must not be lost), as kombu does');
    assert.deepEqual(await c.ping({ timeout: 15, destination: ['radish@test'] }), { 'radish@test': { ok: 'pong' } });
  });

  it('replies to unknown methods and failing handlers as Celery does, and passes arguments', async () => {
    const seen: JsonObject[] = [];
    await mailbox({
      echo: async (args) => { seen.push(args); return args; },
      fail: () => { throw new RangeError('out of range'); },
      big: () => 10n,
      nothing: () => undefined,
    });
    const c = await control();
    const to = { destination: ['radish@test'] };
    assert.deepEqual(await c.inspect('nosuch', {}, to), { 'radish@test': { error: "KeyError('nosuch')" } });
    assert.deepEqual(await c.inspect('constructor', {}, to), { 'radish@test': { error: "KeyError('constructor')" } });
    assert.deepEqual(await c.inspect('fail', {}, to), { 'radish@test': { error: "RangeError('out of range')" } });
    assert.deepEqual(await c.inspect('echo', { ids: ['a', 'é'], n: null }, to), { 'radish@test': { ids: ['a', 'é'], n: null } });
    assert.deepEqual(seen, [{ ids: ['a', 'é'], n: null }]);
    const big = await c.inspect<{ error: string }>('big', {}, to);
    assert.match(big['radish@test']?.error ?? '', /^TypeError\('reply is not JSON serializable/);
    assert.deepEqual(await c.inspect('nothing', {}, to), { 'radish@test': null });
  });

  it('pushes no reply when nobody waits, and never into anything but a reply queue', async () => {
    const box = await mailbox({ ping: () => ok('pong') });
    const request = (exchange: string, routingKey: string): string => encodeRequest(
      { method: 'ping', ticket: 't', replyTo: { exchange, routing_key: routingKey } }, { clock: 1, expires: 0 });
    await box.receive(request('reply.celery.pidbox', 'gone'));
    assert.deepEqual(await h.redis.keys('*'), ['_kombu.binding.celery.pidbox']);
    // A task queue's binding, as kombu declares it: a reply through exchange `celery` would land in the task queue.
    await h.redis.sadd('_kombu.binding.celery', 'celery\x06\x16\x06\x16celery');
    await box.receive(request('celery', 'celery'));
    assert.equal(await h.redis.llen('celery'), 0);
    // A bound reply queue gets exactly the reply kombu would push.
    await h.redis.sadd('_kombu.binding.reply.celery.pidbox', 'oid1\x06\x16\x06\x16oid1.reply.celery.pidbox');
    await box.receive(request('reply.celery.pidbox', 'oid1'));
    const [pushed] = await h.redis.lrange('oid1.reply.celery.pidbox', 0, -1);
    const reply = decodeReply(pushed ?? '');
    assert.deepEqual([reply.replies, reply.ticket, reply.deliveryInfo],
      [{ 'radish@test': { ok: 'pong' } }, 't', { exchange: 'reply.celery.pidbox', routing_key: 'oid1' }]);
    assert.equal((JSON.parse(pushed ?? '') as { properties: { delivery_mode: number } }).properties.delivery_mode, 1);
  });

  it('stops collecting at the limit (the number of destinations) instead of waiting out the timeout', async () => {
    await mailbox({ ping: () => ok('pong') });
    const c = await control();
    const started = Date.now();
    assert.deepEqual(await c.ping({ destination: ['radish@test'], timeout: 5 }), { 'radish@test': { ok: 'pong' } });
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    // Concurrent broadcasts each get their own replies.
    const all = await Promise.all([1, 2, 3].map(() => c.ping({ destination: ['radish@test'] })));
    assert.deepEqual(all, [1, 2, 3].map(() => ({ 'radish@test': { ok: 'pong' } })));
    assert.deepEqual(await c.broadcast('ping', {}, { reply: false }), {});
  });

  it('uses the db number in the channel and the global key prefix on every key, and db/prefix keep apps apart', async () => {
    const url3 = h.server.dbUrl(3);
    await mailbox({ ping: () => ok('pong') }, {}, 'app1:', url3);
    const db3 = h.connect({ db: 3 });
    try {
      assert.deepEqual(await db3.smembers('app1:_kombu.binding.celery.pidbox'), ['\x06\x16\x06\x16radish@test.celery.pidbox']);
      assert.deepEqual(await h.redis.pubsub('NUMSUB', 'app1:/3.celery.pidbox'), ['app1:/3.celery.pidbox', 0]);
      assert.deepEqual(await h.redis.pubsub('NUMPAT'), 1);
      const c = await control(url3, 'app1:');
      assert.deepEqual(await c.ping(), { 'radish@test': { ok: 'pong' } });
      assert.deepEqual(await (await control(h.server.url, 'app1:')).ping({ timeout: 0.3 }), {}, 'db 0 is another app');
      assert.deepEqual(await (await control(url3)).ping({ timeout: 0.3 }), {}, 'no prefix is another app');
    } finally {
      db3.disconnect();
    }
  });

  it('comes back after Redis restarts: subscribed again, announced again, owner told', async function () {
    requireOwnServer(this, h.server);
    let reconnects = 0;
    const lines: string[] = [];
    const logger = createLogger('debug', (l) => lines.push(l));
    // The owner's catch-up failing (a rejected promise) is logged, not an unhandled rejection.
    await mailbox({ ping: () => ok('pong') }, { logger, onReconnect: async () => { reconnects++; throw new Error('catch-up failed'); } });
    await h.server.stop();
    await h.server.start();
    await until(() => reconnects > 0, 'the mailbox to reconnect');
    const check = h.connect();
    try {
      await until(async () => (await check.scard('_kombu.binding.celery.pidbox')) === 1, 'the binding to be added again');
      const c = await control();
      assert.deepEqual(await c.ping({ destination: ['radish@test'], timeout: 3 }), { 'radish@test': { ok: 'pong' } });
      // At debug level: the worker itself says once, at warning, that the broker connection is lost.
      assert.ok(lines.some((l) => /DEBUG.*lost the connection/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /ERROR.*catch-up failed/.test(l)), lines.join('\n'));
    } finally {
      check.disconnect();
      h.reconnect();
    }
  });

  it('stops promptly while Redis is down, and leaves no connection behind to reconnect for ever', async function () {
    requireOwnServer(this, h.server);
    const { value: box, made } = await connectionsMadeBy(() => mailbox({ ping: () => ok('pong') }, { stopGraceMs: 300 }));
    const subscribers = made.filter((r) => r.options.connectionName === 'radish-pidbox');
    assert.equal(subscribers.length, 1);
    await h.server.stop();
    try {
      const started = Date.now();
      await box.stop();
      assert.ok(Date.now() - started < 1500, `stop() took ${Date.now() - started} ms`);
      assert.ok(!willReconnect(subscribers[0]!), 'the subscriber is closed, not reconnecting');
    } finally {
      await h.server.start();
      h.reconnect();
    }
  });

  it('revoke records the ids for workers that start later and broadcasts Celery\'s revoke', async () => {
    const heard: JsonObject[] = [];
    await mailbox({ revoke: (args) => { heard.push(args); return revokeReply(revokeArguments(args).ids); } });
    const c = await control();
    assert.deepEqual(await c.revoke(['t1', 't2'], { destination: ['radish@test'] }),
      { 'radish@test': { ok: 'tasks t1, t2 flagged as revoked' } });
    assert.deepEqual(heard, [{ task_id: ['t1', 't2'], terminate: false, signal: 'SIGTERM' }]);
    await c.revoke('t3', { reply: false, terminate: true, signal: 'SIGKILL' });
    const later = new RevokedStore({ redis: h.redis, keys: new Keys() });
    assert.deepEqual((await later.load()).sort(), ['t1', 't2', 't3']);
    await assert.rejects(c.revoke([]), TypeError);
  });
});

// ---------------------------------------------------------------------------------------------

describe('RevokedStore', () => {
  const h = redisHarness();

  it('survives a restart: a new store loads the live ids, and expired ones are pruned', async () => {
    let now = 1_800_000_000_000;
    const keys = new Keys('p:');
    const first = new RevokedStore({ redis: h.redis, keys }, { now: () => now });
    await first.add(['a', 'b']);
    await first.add('short', 60);
    assert.equal(first.has('a'), true);
    assert.equal(first.has('zzz'), false);
    assert.equal(await h.redis.zscore('p:radish.revoked', 'a'), String(now / 1000 + 10_800), 'scored by expiry, 3 h by default');

    now += 120_000; // the worker is down for two minutes
    const restarted = new RevokedStore({ redis: h.redis, keys }, { now: () => now });
    assert.equal(restarted.has('a'), false, 'nothing before load()');
    assert.deepEqual((await restarted.load()).sort(), ['a', 'b']);
    assert.equal(restarted.has('a'), true);
    assert.equal(restarted.has('short'), false);
    assert.equal(await h.redis.zscore('p:radish.revoked', 'short'), null, 'the expired id was deleted from Redis');

    now += 10_800_000; // three hours later every revoke has lapsed, in memory too
    assert.equal(restarted.has('a'), false);
    assert.deepEqual(restarted.ids(), []);
    assert.deepEqual(await new RevokedStore({ redis: h.redis, keys }, { now: () => now }).load(), []);
    assert.equal(await h.redis.exists('p:radish.revoked'), 0);
  });

  it('keeps at most maxSize ids, dropping the oldest revokes', async () => {
    let now = 1_800_000_000_000;
    const store = new RevokedStore({ redis: h.redis, keys: new Keys() }, { maxSize: 3, now: () => now });
    for (const id of ['1', '2', '3', '4', '5']) {
      await store.add(id);
      now += 1000;
    }
    assert.deepEqual(store.ids(), ['3', '4', '5']);
    assert.deepEqual(await h.redis.zrange('radish.revoked', '0', '-1'), ['3', '4', '5']);
    await assert.rejects(store.add(['']), TypeError);
    await assert.rejects(store.add('x', 0), RangeError);
  });
});

// ---------------------------------------------------------------------------------------------



describe('pidbox interop with real Celery 5.2.6', function () {
  this.timeout(120_000);
  let commands: Redis;
  let box: Mailbox | undefined;
  let celery: CeleryWorker | undefined;
  let control: Control | undefined;

  before(function () {
    requireCelery(this);
  });
  // Above the harness: mocha runs `after` hooks in the order they are defined, and these need Redis up.
  after(async () => {
    await control?.close();
    await box?.stop();
    await celery?.stop();
  });
  // No flush between tests: the mailbox started once for them all keeps its binding.
  const h = redisHarness({ flush: false });
  before(async () => {
    commands = h.connect();
    box = await radishNode();
  });

  /** A mailbox wired the way a worker wires it: ping, and revoke/revoked on a RevokedStore. */
  async function radishNode(): Promise<Mailbox> {
    const keys = new Keys();
    const store = new RevokedStore({ redis: commands, keys });
    await store.load();
    const node = new Mailbox({
      hostname: 'radish@interop', fanout: new RedisFanout(commands, keys, { url: h.server.url }), logger: quiet,
      onReconnect: () => void store.load(),
      handlers: {
        ping: () => ok('pong'),
        revoke: async (args) => {
          const { ids } = revokeArguments(args);
          await store.add(ids);
          return revokeReply(ids);
        },
        revoked: () => store.ids(),
      },
    });
    await node.start();
    return node;
  }

  it('Python `celery inspect ping -d radish@interop` gets the Radish mailbox\'s pong', async () => {
    const out = await celeryCli(h.server.url, ['inspect', 'ping', '-d', 'radish@interop', '-t', '5']);
    console.log(`      celery inspect ping printed:\n${out.stdout.replace(/^/gm, '        | ')}`);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /->\s+radish@interop: OK\s+pong/);
    assert.match(out.stdout, /1 node online/);
    const json = await celeryCli(h.server.url, ['inspect', 'ping', '-j', '-d', 'radish@interop']);
    assert.deepEqual(JSON.parse(json.stdout), { 'radish@interop': { ok: 'pong' } });
    // kombu's client left nothing behind, and the worker's reply went exactly where it waited.
    assert.deepEqual(await h.redis.smembers('_kombu.binding.reply.celery.pidbox'), []);
  });

  it('Python `celery control revoke` reaches the Radish mailbox, and `celery inspect revoked` lists the id', async () => {
    const revoke = await celeryCli(h.server.url, ['control', 'revoke', 'py-revoked-1', '-d', 'radish@interop', '-t', '5']);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, /radish@interop: OK\s+tasks py-revoked-1 flagged as revoked/);
    const revoked = await celeryCli(h.server.url, ['inspect', 'revoked', '-j', '-d', 'radish@interop']);
    assert.deepEqual(JSON.parse(revoked.stdout), { 'radish@interop': ['py-revoked-1'] });
    assert.notEqual(await h.redis.zscore('radish.revoked', 'py-revoked-1'), null, 'persisted for the next start');
  });

  it('Control.ping and Control.revoke work against a Python Celery worker: it lists the id and revokes the task', async () => {
    // The Radish mailbox stays up: a Celery worker starting next to it (mingle's hello) must not mind.
    celery = await startCeleryWorker(h.server.url, { queues: ['celery'] });
    control = await Control.connect({ url: h.server.url });
    // Celery says ready before its event loop has PSUBSCRIBEd the pidbox channel, so a broadcast right away can go
    // unheard (`celery inspect ping` has the same race): wait until the node answers at all.
    const node = celery.hostname;
    await until(async () => node in (await control!.ping({ destination: [node] })), `${node} to answer pings`);
    const pongs = await control.ping();
    assert.deepEqual(pongs[celery.hostname], { ok: 'pong' });
    assert.deepEqual(pongs['radish@interop'], { ok: 'pong' });

    const id = `revoked-by-radish-${Date.now()}`;
    const replies = await control.revoke(id, { destination: [celery.hostname] });
    assert.deepEqual(replies, { [celery.hostname]: { ok: `tasks ${id} flagged as revoked` } });
    const listed = await celeryCli(h.server.url, ['inspect', 'revoked', '-j', '-d', celery.hostname]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as Record<string, string[]>)[celery.hostname]?.includes(id), listed.stdout);
    assert.ok((await control.inspect<string[]>('revoked', {}, { destination: [celery.hostname] }))[celery.hostname]?.includes(id));

    const [outcome] = await celerySend(h.server.url, [{ task: 'tasks.add', args: [1, 2], task_id: id }], { wait: 20 });
    assert.equal(outcome?.state, 'REVOKED', JSON.stringify(outcome));
    assert.ok(outcome?.state === 'REVOKED' && outcome.exc_type === 'TaskRevokedError', JSON.stringify(outcome));
    await celery.waitForLog(new RegExp(`Discarding revoked task: tasks\\.add\\[${id}\\]`));
    // And Radish's own list has it, for Radish workers that start later.
    assert.equal(new RevokedStore({ redis: h.redis, keys: new Keys() }).has(id), false);
    assert.ok((await new RevokedStore({ redis: h.redis, keys: new Keys() }).load()).includes(id));
  });
});
