/**
 * Golden tests on Celery 5.6.3's captures beside 5.2.6's (test/fixtures/captures-<version>: one capture driver run
 * against both; `task-messages-raw.json` holds the bytes of every task message LPUSHed, `results.json` every result
 * stored). What Radish writes follows the Celery the fleet runs (`celeryVersion`: 5.6 by default, 5.2 on request):
 * - the fast decoder reads every captured 5.6.3 message (the three headers 5.3 added, stamps, a retry's leaked
 *   `origin` property), to the same TaskMessage as the general decoder;
 * - the messages Radish's client and worker send in the captured scenarios (calls, group members, chord headers,
 *   retry, chain step, link callback, chord callback, stamped chain step) equal 5.6.3's, field by field, and 5.2.6's
 *   when the fleet is 5.2;
 * - results with result_extended (SUCCESS, FAILURE, RETRY, a stamped task's) equal 5.6.3's, `date_done` in each
 *   version's form; both forms are read.
 * Per-run values (delivery tags, the client's reply_to oid, a worker's origin, times below the millisecond) are
 * normalised as in test/runner/protocol.test.ts and canvas.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Radish } from '../../runner/app';
import { successFollowUps, chordCallback, failureFollowUps, makeSignature, type FollowUp, type FollowUps } from '../../runner/protocol/canvas';
import { chordPartOf } from '../../runner/worker/chord';
import { celeryLayout, type CeleryLayout } from '../../runner/protocol/celery-version';
import {
  decodeFast, decodeTaskMessage, decodeTaskMessageGeneral, encodeRetry, encodeTaskMessage, type TaskCall,
} from '../../runner/protocol/message';
import { messageStamps } from '../../runner/protocol/message-decode';
import { argsRepr, pyRepr } from '../../runner/protocol/pyrepr';
import { dateDoneOf, encodeResult, type ResultMeta } from '../../runner/protocol/result';
import { resultStamps } from '../../runner/protocol/stamps';
import { parseCeleryDate } from '../../runner/protocol/time';
import { until, workerHarness } from '../support/worker-harness';
import { callOf } from '../support/calls';

type Version = '5.6.3' | '5.2.6';
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Envelope { body: string; headers: { [key: string]: Json }; properties: { [key: string]: Json } & { delivery_info: { [key: string]: Json } }; [key: string]: Json }
interface RawRecord { section: string; id: string; list: string; raw: string }
interface ResultRecord { section: string; op: string; key?: string; value: ResultMeta & { [key: string]: unknown } }

const FIXTURES = join(__dirname, '../fixtures');
const load = <T>(version: Version, file: string): T => JSON.parse(readFileSync(join(FIXTURES, `captures-${version}`, file), 'utf8')) as T;
const MESSAGES: Record<Version, RawRecord[]> = { '5.6.3': load('5.6.3', 'task-messages-raw.json'), '5.2.6': load('5.2.6', 'task-messages-raw.json') };
const RESULTS: Record<Version, ResultRecord[]> = { '5.6.3': load('5.6.3', 'results.json'), '5.2.6': load('5.2.6', 'results.json') };
const LAYOUT: Record<Version, CeleryLayout> = { '5.6.3': '5.3', '5.2.6': '5.2' };
const VERSIONS: Version[] = ['5.6.3', '5.2.6'];

/** The raw message of a section (`n`: its n-th message: the second `res.retry` one is the worker's republished retry). */
function captured(version: Version, section: string, n = 0): string {
  const found = MESSAGES[version].filter((r) => r.section === section)[n];
  if (!found) throw new Error(`no message ${n} in section ${section} of the ${version} captures`);
  return found.raw;
}
const envelopeOf = (raw: string): Envelope => JSON.parse(raw) as Envelope;
const bodyOf = (e: Envelope): Json => JSON.parse(Buffer.from(e.body, 'base64').toString('utf8')) as Json;
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64');

/**
 * Field by field: the envelope's keys in order, the body decoded, every header and property in order and value.
 * Times are compared to the millisecond (JS keeps no microseconds); `expiration` (milliseconds from the instant it
 * was sent) by presence; the properties and headers named in `ignore` (`properties.delivery_tag`...) by presence.
 * A Python caller that passed its args as a list gets them repr'd as a list: Radish's argsrepr is the tuple
 * `delay()` makes, so a list repr of the same args is read as that tuple.
 */
function assertSameMessage(ours: string, theirs: string, ignore: string[] = []): void {
  const a = envelopeOf(ours);
  const e = envelopeOf(theirs);
  // Radish's send-time stamp (Celery has none), normalised away as the random fields are, once checked.
  if (!('radish_sent_at' in e.headers)) {
    const stamp = a.headers.radish_sent_at;
    assert.ok(stamp === undefined || (Number.isInteger(stamp) && Math.abs(Number(stamp) - Date.now()) < 3_600_000), `a send-time stamp, got ${String(stamp)}`);
    delete a.headers.radish_sent_at;
  }
  assert.deepEqual(Object.keys(a), Object.keys(e), 'envelope keys and their order');
  assert.deepEqual(bodyOf(a), bodyOf(e), 'body [args, kwargs, embed]');
  for (const key of Object.keys(e)) if (key !== 'body' && key !== 'headers' && key !== 'properties') assert.deepEqual(a[key], e[key], key);
  const args = (bodyOf(e) as Json[])[0] as unknown[];
  const normal = (part: 'headers' | 'properties', env: Envelope): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(env[part])) {
      const name = `${part}.${key}`;
      if (ignore.includes(name)) out[key] = '<ignored>';
      else if (name === 'headers.eta' || name === 'headers.expires') out[key] = value === null ? null : parseCeleryDate(value)?.getTime();
      else if (name === 'properties.expiration') out[key] = typeof value;
      else if (name === 'headers.argsrepr' && value === pyRepr(args)) out[key] = argsRepr(args);
      else out[key] = value;
    }
    return out;
  };
  for (const part of ['headers', 'properties'] as const) {
    assert.deepEqual(Object.keys(a[part]), Object.keys(e[part]), `${part}: keys and their order`);
    assert.deepEqual(normal(part, a), normal(part, e), part);
  }
}

/**
 * The message Celery sends applying a signature, built from the captured client message `like` of the same Celery:
 * a worker publishes a chain step, a link callback or a chord callback with the same `send_task` as a client, so
 * only what the sender sets for that call differs (5.2.6's worker-sent fixtures show which: the id, the args and
 * their repr, parent and root ids, origin, the rest of the chain, the group). The capture driver never consumed
 * those messages' queue, so 5.6.3's own are not in the captures; this is them.
 */
function sentLike(like: string, headers: Record<string, Json>, body: Json[], properties: Record<string, Json> = {}): string {
  const e = envelopeOf(like);
  Object.assign(e.headers, headers);
  e.body = b64(body);
  Object.assign(e.properties, { correlation_id: e.headers.id, ...properties });
  return JSON.stringify(e);
}

const EMPTY_EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };
const WORKER = 'gen4242@radish';
const TAG = 'radish-delivery-tag';

function only(followUps: FollowUps): FollowUp {
  const { messages } = followUps;
  assert.equal(messages.length, 1, `one follow-up, got ${messages.map((f) => f.name).join(', ')}`);
  return messages[0]!;
}

describe('Celery 5.6.3 captures (golden; 5.2.6 beside them)', function () {
  describe('the fast decoder', function () {
    it('reads every captured 5.6.3 task message on the fast path, to what the general decoder gives', () => {
      const raws = MESSAGES['5.6.3'].map((r) => r.raw);
      assert.equal(raws.length, 19);
      const slow = raws.filter((raw) => decodeFast(raw) === undefined);
      assert.deepEqual(slow.map((raw) => envelopeOf(raw).headers.id), [], 'messages left to the general decoder');
      for (const raw of raws) {
        assert.deepEqual(decodeFast(raw), decodeTaskMessageGeneral(raw));
        assert.deepEqual(decodeTaskMessage(raw), decodeTaskMessageGeneral(raw));
        // The envelope is the one JSON.parse builds: the 5.3 headers (stamps included) and a retry's properties kept.
        assert.deepEqual(decodeFast(raw)!.envelope, JSON.parse(raw));
      }
    });

    it("reads the same driver's 5.2.6 messages on the fast path, but for the worker's retry (its leaked properties)", () => {
      const raws = MESSAGES['5.2.6'].map((r) => r.raw);
      const slow = raws.filter((raw) => decodeFast(raw) === undefined).map((raw) => `${envelopeOf(raw).headers.id}#${envelopeOf(raw).headers.retries}`);
      assert.deepEqual(slow, ['cap-res-retry#1']);
      for (const raw of raws) assert.deepEqual(decodeTaskMessage(raw), decodeTaskMessageGeneral(raw));
    });

    it("keeps a stamped message's stamps on the fast path", () => {
      const msg = decodeFast(captured('5.6.3', 'msg.stamped'));
      assert.ok(msg);
      assert.deepEqual(messageStamps(msg), { monitoring_id: 'mon-42' });
      assert.deepEqual(msg.envelope.headers.stamped_headers, ['monitoring_id']);
    });

    it('reads stamps of every JSON shape the same way on both paths (escapes, lists, numbers, nesting)', () => {
      const base = envelopeOf(captured('5.6.3', 'msg.stamped'));
      const cases: [Json, Json][] = [
        [['a', 'b"c', 'é\u2028'], { a: 1, 'b"c': [1, 'x', null], 'é\u2028': 'v\\w' }],
        [[], {}],
        [['n'], { n: { nested: true } }],
        [['n'], { n: -1.5e-7 }],
        [['x'], { x: [] }],
        [['a', 'a'], { a: 1, b: 2 }],
        [null, { a: 1 }],
        [['only-named'], {}],
        ['not-a-list', 7],
      ];
      let fast = 0;
      for (const [names, stamps] of cases) {
        const e = structuredClone(base);
        e.headers.stamped_headers = names;
        e.headers.stamps = stamps;
        for (const raw of [JSON.stringify(e), pythonDumps(e)]) {
          assert.deepEqual(decodeTaskMessage(raw), decodeTaskMessageGeneral(raw), raw);
          if (decodeFast(raw) !== undefined) fast++;
        }
      }
      assert.ok(fast >= 12, `${fast} of ${cases.length * 2} on the fast path`);
    });
  });

  describe('messages a client sends', function () {
    for (const version of VERSIONS) {
      const layout = LAYOUT[version];
      it(`re-encodes every call a ${version} client sent to the same message, with celeryVersion ${layout}`, () => {
        const sent = MESSAGES[version].filter((r) => envelopeOf(r.raw).headers.retries === 0);
        assert.ok(sent.length >= 15);
        for (const { raw, section } of sent) {
          const msg = decodeTaskMessage(raw);
          const { headers, properties } = envelopeOf(raw);
          const ours = encodeTaskMessage(callOf(msg), { origin: headers.origin as string, replyTo: properties.reply_to as string, deliveryTag: properties.delivery_tag as string, layout });
          try {
            assertSameMessage(ours, raw);
          } catch (err) {
            throw new Error(`${section} ${msg.id}: ${(err as Error).message}`);
          }
        }
      });
    }

    it('writes a plain call in the fleet\'s layout: 5.6 by default, 5.2 with celeryVersion 5.2.6', () => {
      const call: TaskCall = { id: 'id-1', name: 'cap.add', args: [2, 3], queue: 'capq' };
      const sender = { origin: 'gen1@test', replyTo: 'r', deliveryTag: 't' };
      const tail = (raw: string): unknown[] => Object.keys(envelopeOf(raw).headers).slice(16);
      // Radish's send-time stamp ends the headers in either layout.
      assert.deepEqual(tail(encodeTaskMessage(call, sender)), ['replaced_task_nesting', 'stamped_headers', 'stamps', 'radish_sent_at']);
      assert.deepEqual(tail(encodeTaskMessage(call, { ...sender, layout: '5.3' })), ['replaced_task_nesting', 'stamped_headers', 'stamps', 'radish_sent_at']);
      assert.deepEqual(tail(encodeTaskMessage(call, { ...sender, layout: '5.2' })), ['radish_sent_at']);
      assert.deepEqual(tail(encodeTaskMessage({ ...call, sentAt: null }, { ...sender, layout: '5.2' })), []);
      // A stamped call keeps its stamps whatever the layout: a 5.2 fleet would otherwise lose them on the way.
      const stamped = envelopeOf(encodeTaskMessage({ ...call, stamps: { monitoring_id: 'mon-42' } }, { ...sender, layout: '5.2' }));
      assert.deepEqual([stamped.headers.stamped_headers, stamped.headers.stamps], [['monitoring_id'], { monitoring_id: 'mon-42' }]);
    });

    it('tells the layouts apart by version: 5.3 and later are 5.3, the rest 5.2', () => {
      assert.deepEqual(['5.6', '5.6.3', '5.3', '6', '5.2.6', '5.2', '4.4.7'].map(celeryLayout), ['5.3', '5.3', '5.3', '5.3', '5.2', '5.2', '5.2']);
      assert.throws(() => celeryLayout('latest'), RangeError);
    });

    describe('through the app, on a real redis-server', function () {
      const h = workerHarness();
      const apps: Radish[] = [];
      afterEach(async () => { await Promise.all(apps.splice(0).map((a) => a.close())); });
      const appFor = (version: Version): Radish => {
        const app = new Radish({ broker: h.server.url, celeryVersion: version });
        apps.push(app);
        return app;
      };
      /** What the app LPUSHed on `queue`, oldest first, with the captured client's oid as reply_to (a per-run value). */
      async function sent(queue: string, capturedReplyTo: string): Promise<string[]> {
        const raws = (await h.redis.lrange(queue, 0, -1)).reverse();
        const ours = raws.length ? envelopeOf(raws[0]!).properties.reply_to as string : '';
        const swap = (text: string): string => text.split(ours).join(capturedReplyTo);
        return raws.map((raw) => {
          const e = envelopeOf(swap(raw));
          e.body = Buffer.from(swap(Buffer.from(e.body, 'base64').toString('utf8'))).toString('base64');
          return JSON.stringify(e);
        });
      }

      for (const version of VERSIONS) {
        it(`numbers group members as ${version} does (celeryVersion ${version})`, async () => {
          const app = appFor(version);
          const members = [0, 1].map((i) => app.signature('cap.add', [i, i], {}, { taskId: `cap-group-${i}`, queue: 'capq' }));
          await app.group(members, { groupId: 'cap-group-id' });
          const expected = [0, 1].map((i) => captured(version, 'msg.group', i));
          const ours = await sent('capq', envelopeOf(expected[0]!).properties.reply_to as string);
          assert.equal(ours.length, 2);
          for (const [i, raw] of ours.entries()) assertSameMessage(raw, expected[i]!, ['headers.origin', 'properties.delivery_tag']);
          assert.deepEqual(ours.map((raw) => envelopeOf(raw).headers.group_index), version === '5.6.3' ? [0, 1] : [null, null]);
        });

        it(`sends a chord's header with its callback as ${version} does (the group id in its options from 5.3 on)`, async () => {
          const app = appFor(version);
          const expected = [0, 1].map((i) => captured(version, 'msg.chord', i));
          const groupId = envelopeOf(expected[0]!).headers.group as string;
          const header = [[0, 1], [1, 1]].map((args, i) => app.signature('cap.add', args, {}, { taskId: `cap-chord-h${i}`, queue: 'capq' }));
          await app.chord(header, app.signature('cap.xsum', [], {}, { queue: 'capq', taskId: 'cap-chord-cb' }), { groupId });
          const ours = await sent('capq', envelopeOf(expected[0]!).properties.reply_to as string);
          assert.equal(ours.length, 2);
          for (const [i, raw] of ours.entries()) assertSameMessage(raw, expected[i]!, ['headers.origin', 'properties.delivery_tag']);
          assert.equal(await h.redis.get(`celery-taskset-meta-${groupId}.s`), '2');
        });
      }

      it('sends a call with stamps as 5.6.3 does (send(..., { stamps }))', async () => {
        const app = appFor('5.6.3');
        const expected = captured('5.6.3', 'msg.stamped');
        await app.send('cap.add', [7, 8], {}, { taskId: 'cap-stamped', queue: 'capq', stamps: { monitoring_id: 'mon-42' } });
        const [ours] = await sent('capq', envelopeOf(expected).properties.reply_to as string);
        assertSameMessage(ours!, expected, ['headers.origin', 'properties.delivery_tag']);
        assert.deepEqual(envelopeOf(ours!).headers.stamps, { monitoring_id: 'mon-42' });
      });

      it('sends in the fleet\'s layout: RADISH_CELERY_VERSION, else 5.6', () => {
        const before = process.env.RADISH_CELERY_VERSION;
        try {
          delete process.env.RADISH_CELERY_VERSION;
          const headersOf = (app: Radish): string[] => Object.keys(envelopeOf(app.message({ name: 'x', args: [] }).body).headers);
          assert.ok(headersOf(new Radish()).includes('stamps'));
          process.env.RADISH_CELERY_VERSION = '5.2.6';
          assert.ok(!headersOf(new Radish()).includes('stamps'));
          assert.ok(headersOf(new Radish({ celeryVersion: '5.6' })).includes('stamps'), 'the option wins');
          assert.throws(() => new Radish({ celeryVersion: 'newest' }), /celeryVersion/);
        } finally {
          if (before === undefined) delete process.env.RADISH_CELERY_VERSION;
          else process.env.RADISH_CELERY_VERSION = before;
        }
      });
    });
  });

  describe('messages a worker sends', function () {
    it('republishes a retry as Celery 5.6.3 did (the request\'s origin, in the headers and leaked into the properties)', () => {
      const first = decodeTaskMessage(captured('5.6.3', 'res.retry', 0));
      const expected = captured('5.6.3', 'res.retry', 1);
      const eta = parseCeleryDate(envelopeOf(expected).headers.eta)!;
      const ours = encodeRetry(first, 'capw', eta, WORKER, envelopeOf(expected).properties.delivery_tag as string, '5.3');
      assertSameMessage(ours, expected);
    });

    it("republishes a retry as Celery 5.2.6 did with celeryVersion 5.2 (the worker's origin; 5.2.6's leaked properties aside)", () => {
      const first = decodeTaskMessage(captured('5.2.6', 'res.retry', 0));
      const expected = captured('5.2.6', 'res.retry', 1);
      const eta = parseCeleryDate(envelopeOf(expected).headers.eta)!;
      const ours = envelopeOf(encodeRetry(first, 'capw', eta, envelopeOf(expected).headers.origin as string, TAG, '5.2'));
      const { replaced_task_nesting: _n, origin: _o, ...theirProperties } = envelopeOf(expected).properties;
      assertSameMessage(JSON.stringify(ours), JSON.stringify({ ...envelopeOf(expected), properties: theirProperties }), ['properties.delivery_tag']);
    });

    it("keeps a stamped task's stamps in its retry, as Celery 5.6's request does", () => {
      const stamped = decodeTaskMessage(captured('5.6.3', 'msg.stamped'));
      for (const layout of ['5.3', '5.2'] as const) {
        const retry = envelopeOf(encodeRetry(stamped, 'capq', new Date(), WORKER, TAG, layout));
        assert.deepEqual([retry.headers.stamped_headers, retry.headers.stamps], [['monitoring_id'], { monitoring_id: 'mon-42' }], layout);
        assert.equal(retry.headers.retries, 1);
      }
    });

    for (const version of VERSIONS) {
      const layout = LAYOUT[version];
      const options = { origin: WORKER, newId: () => TAG, layout };

      it(`sends the next chain step as ${version} does (celeryVersion ${layout})`, () => {
        const head = captured(version, 'msg.chain');
        const chain = (bodyOf(envelopeOf(head)) as Json[])[2] as { chain: Json[] };
        const next = only(successFollowUps(decodeTaskMessage(head), 3, options));
        assert.deepEqual([next.id, next.queue], ['cap-chain-2', 'capq']);
        assertSameMessage(next.body, sentLike(head,
          { id: 'cap-chain-2', argsrepr: '(3, 10)', root_id: 'cap-chain-1', parent_id: 'cap-chain-1', origin: WORKER },
          [[3, 10], {}, { ...EMPTY_EMBED, chain: chain.chain.slice(0, 1) }], { delivery_tag: TAG }));
      });

      it(`sends a link callback as ${version} does (celeryVersion ${layout})`, () => {
        const msg = captured(version, 'msg.link');
        const next = only(successFollowUps(decodeTaskMessage(msg), 5, options));
        // Celery's worker writes its own app oid as the callback's reply_to (only the rpc backend reads it): Radish
        // keeps the parent's.
        assertSameMessage(next.body, sentLike(msg,
          { id: 'cap-link-cb', argsrepr: '(5, 10)', root_id: 'cap-link', parent_id: 'cap-link', origin: WORKER },
          [[5, 10], {}, EMPTY_EMBED], { delivery_tag: TAG }), ['properties.reply_to']);
        const errback = only(failureFollowUps(decodeTaskMessage(msg), options));
        assert.deepEqual(envelopeOf(errback.body).headers.stamps, layout === '5.3' ? {} : undefined);
      });

      it(`sends a chord's callback as ${version} does (celeryVersion ${layout}; 5.6 names the chord's group)`, () => {
        const last = captured(version, 'msg.chord', 1);
        const groupId = envelopeOf(last).headers.group as string;
        const callback = only(chordCallback(chordPartOf(decodeTaskMessage(last))!, [1, 2], options));
        assert.deepEqual([callback.id, callback.queue], ['cap-chord-cb', 'capq']);
        assertSameMessage(callback.body, sentLike(last, {
          task: 'cap.xsum', id: 'cap-chord-cb', group: version === '5.6.3' ? groupId : null, group_index: null,
          argsrepr: '([1, 2],)', root_id: 'cap-chord-h1', parent_id: 'cap-chord-h1', origin: WORKER,
        }, [[[1, 2]], {}, EMPTY_EMBED], { delivery_tag: TAG }));
      });
    }

    it('sends a stamped chain\'s next step with the stamps its signature carries, as Celery 5.6.3 does', () => {
      const head = captured('5.6.3', 'msg.stamped_chain');
      const next = only(successFollowUps(decodeTaskMessage(head), 3, { origin: WORKER, newId: () => TAG, layout: '5.3' }));
      assertSameMessage(next.body, sentLike(head,
        { id: 'cap-schain-2', argsrepr: '(3, 10)', root_id: 'cap-schain-1', parent_id: 'cap-schain-1', origin: WORKER },
        [[3, 10], {}, { ...EMPTY_EMBED, chain: [] }], { delivery_tag: TAG }));
      assert.deepEqual(envelopeOf(next.body).headers.stamps, { monitoring_id: 'mon-42' });
    });

    it('stamps a signature as Celery\'s stamping does (stamped_headers, then each stamp, in its options)', () => {
      const sig = makeSignature('cap.add', [10], {}, { queue: 'capq', taskId: 'cap-schain-2', stamps: { monitoring_id: 'mon-42' } });
      assert.deepEqual(sig.options, { task_id: 'cap-schain-2', queue: 'capq', stamped_headers: ['monitoring_id'], monitoring_id: 'mon-42' });
    });
  });

  describe('results (result_extended)', function () {
    for (const version of VERSIONS) {
      const layout = LAYOUT[version];
      it(`stores SUCCESS, FAILURE, RETRY${version === '5.6.3' ? ' and a stamped task\'s result' : ''} as ${version} did (celeryVersion ${layout})`, () => {
        const stored = RESULTS[version].filter((r) => r.op === 'SETEX' && r.section.startsWith('res.'));
        assert.equal(stored.length, version === '5.6.3' ? 5 : 4);
        for (const { value: theirs } of stored) {
          // The message that ran: its attempt is the stored retry count.
          const raw = MESSAGES[version].map((r) => r.raw).find((m) => envelopeOf(m).headers.id === theirs.task_id && envelopeOf(m).headers.retries === theirs.retries)!;
          const msg = decodeTaskMessage(raw);
          const ours = JSON.parse(encodeResult({
            taskId: msg.id, state: theirs.status, result: theirs.result, traceback: theirs.traceback, children: theirs.children,
            groupId: msg.groupId, parentId: msg.parentId, layout, stamps: resultStamps(msg),
            extended: { name: msg.name, args: msg.args, kwargs: msg.kwargs, worker: 'cap@vm', retries: msg.retries, queue: msg.routingKey },
            now: theirs.date_done === null ? undefined : dateDoneOf(theirs)!,
          })) as ResultMeta & Record<string, unknown>;
          assert.deepEqual(Object.keys(ours), Object.keys(theirs), `${theirs.task_id} ${theirs.status}: fields and their order`);
          const sameMs = (m: ResultMeta): unknown => ({ ...m, date_done: m.date_done === null ? null : dateDoneOf(m)!.getTime() });
          assert.deepEqual(sameMs(ours), sameMs(theirs), `${theirs.task_id} ${theirs.status}`);
          if (theirs.date_done !== null) assert.match(ours.date_done!, version === '5.6.3' ? /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/ : /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
        }
      });
    }

    it('reads date_done in both forms (naive UTC and with its offset) as the same instant', () => {
      const naive = RESULTS['5.2.6'].find((r) => r.value.date_done)!.value;
      const aware = RESULTS['5.6.3'].find((r) => r.value.date_done)!.value;
      assert.match(naive.date_done!, /\.\d{6}$/);
      assert.match(aware.date_done!, /\+00:00$/);
      assert.equal(dateDoneOf({ ...naive, date_done: '2026-12-05T03:27:05.289476' })!.getTime(), dateDoneOf({ ...aware, date_done: '2026-12-05T03:27:05.289476+00:00' })!.getTime());
      assert.equal(dateDoneOf({ ...aware, date_done: '2026-12-05T04:27:05.289476+01:00' })!.toISOString(), '2026-12-05T03:27:05.289Z');
      assert.equal(dateDoneOf({ ...aware, date_done: null }), null);
      assert.equal(dateDoneOf({ ...aware, date_done: 'garbage' }), null);
    });
  });

  describe('on a Radish worker', function () {
    const h = workerHarness();

    async function push(queue: string, raw: string): Promise<void> {
      await h.redis.lpush(queue, raw);
    }

    it('orders failures by when they ended, whichever Celery wrote their date_done, and reads it back', async () => {
      const failure = (id: string, dateDone: string): string => JSON.stringify({
        status: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['x'], exc_module: 'builtins' }, traceback: null, children: [], date_done: dateDone, task_id: id,
      });
      // Texts that sort the other way round: 04:00+01:00 is 03:00 UTC.
      await h.redis.set('celery-task-meta-early', failure('early', '2026-12-05T04:00:00.000000+01:00'));
      await h.redis.set('celery-task-meta-naive', failure('naive', '2026-12-05T03:27:05.289476'));
      await h.redis.set('celery-task-meta-late', failure('late', '2026-12-05T03:30:00.000000+00:00'));
      const backend = await h.app.backend();
      assert.deepEqual((await backend.failures()).map((m) => m.task_id), ['late', 'naive', 'early']);
      assert.equal((await (await h.app.asyncResult('early')).dateDone())?.toISOString(), '2026-12-05T03:00:00.000Z');
      assert.equal((await (await h.app.asyncResult('naive')).dateDone())?.toISOString(), '2026-12-05T03:27:05.289Z');
      assert.equal(await (await h.app.asyncResult('none')).dateDone(), null);
    });

    it("stores a stamped task's result as Celery 5.6.3 did", async () => {
      h.app.task('cap.add', (a: number, b: number) => a + b);
      await h.startWorker({ queues: ['capw'], resultExtended: true, hostname: 'cap@vm' });
      await push('capw', captured('5.6.3', 'res.stamped'));
      await until(async () => (await h.stored('cap-res-stamped'))?.status === 'SUCCESS', 'the stamped result', 5000);
      const theirs = RESULTS['5.6.3'].find((r) => r.op === 'SETEX' && r.section === 'res.stamped')!.value;
      const ours = (await h.stored('cap-res-stamped'))!;
      assert.deepEqual(Object.keys(ours), Object.keys(theirs));
      assert.deepEqual({ ...ours, date_done: null }, { ...theirs, date_done: null });
      assert.match(ours.date_done!, /\+00:00$/);
    });

    it('writes date_done as the fleet\'s Celery does: with its offset by default, naive with celeryVersion 5.2.6', async () => {
      h.app.task('cap.add', (a: number, b: number) => a + b);
      await h.startWorker({ queues: ['capw'] });
      await h.startWorker({ queues: ['old'], celeryVersion: '5.2.6' });
      await push('capw', captured('5.6.3', 'res.success'));
      await push('old', captured('5.2.6', 'res.success').replace(/cap-res-success/g, 'cap-old-success'));
      await until(async () => (await h.stored('cap-res-success')) !== null && (await h.stored('cap-old-success')) !== null, 'both results', 5000);
      assert.match((await h.stored('cap-res-success'))!.date_done!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
      assert.match((await h.stored('cap-old-success'))!.date_done!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    });

    it('keeps the stamps through a retry and the next chain step, into their results', async () => {
      let attempts = 0;
      h.app.task('cap.add', { bind: true }, (task, a: number, b: number) => {
        if (task.request.id === 'cap-schain-1' && attempts++ === 0) task.retry({ countdown: 0 });
        return a + b;
      });
      await h.startWorker({ queues: ['capq'], resultExtended: true });
      await push('capq', captured('5.6.3', 'msg.stamped_chain'));
      await until(async () => (await h.stored('cap-schain-2'))?.status === 'SUCCESS', 'the chain step', 8000);
      const head = (await h.stored('cap-schain-1')) as ResultMeta & Record<string, unknown>;
      const step = (await h.stored('cap-schain-2')) as ResultMeta & Record<string, unknown>;
      assert.deepEqual([head.retries, head.stamped_headers, head.monitoring_id], [1, ['monitoring_id'], 'mon-42'], 'the retried head');
      assert.deepEqual([step.result, step.parent_id, step.stamped_headers, step.monitoring_id], [13, 'cap-schain-1', ['monitoring_id'], 'mon-42'], 'the chain step');
    });

    it("sends a 5.6 chord's callback in the chord's group, which its result then names", async () => {
      h.app.task('cap.add', (a: number, b: number) => a + b);
      h.app.task('cap.xsum', (values: number[]) => values.reduce((s, v) => s + v, 0));
      await h.startWorker({ queues: ['capq'] });
      const groupId = envelopeOf(captured('5.6.3', 'msg.chord')).headers.group as string;
      await h.redis.set(`celery-taskset-meta-${groupId}.s`, '2');
      for (const i of [0, 1]) await push('capq', captured('5.6.3', 'msg.chord', i));
      await until(async () => (await h.stored('cap-chord-cb'))?.status === 'SUCCESS', 'the chord callback', 5000);
      const callback = (await h.stored('cap-chord-cb'))!;
      assert.deepEqual([callback.result, callback.group_id], [3, groupId]);
    });
  });
});

/** json.dumps with Python's separators and ensure_ascii, as Celery writes a message. */
function pythonDumps(v: Json): string {
  if (Array.isArray(v)) return '[' + v.map(pythonDumps).join(', ') + ']';
  if (v !== null && typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => ascii(k) + ': ' + pythonDumps(x)).join(', ') + '}';
  return typeof v === 'string' ? ascii(v) : JSON.stringify(v);
}
function ascii(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
