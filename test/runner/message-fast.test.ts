/**
 * decodeTaskMessage's fast path (decodeFast) against the general decoder it must agree with: Celery's captured
 * messages, the same messages as Radish writes them, and thousands of variants of both (every field given every
 * kind of value, dropped, reordered; bodies that are not base64, not UTF-8, not JSON, not a call). For each one the
 * decode must give the same TaskMessage, or fail with the same ProtocolError, as decodeTaskMessageGeneral.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envelopeToAmqp } from '../../runner/protocol/amqp-envelope';
import {
  decodeFast, decodeTaskMessage, decodeTaskMessageGeneral, encodeRetry, encodeTaskMessage, markRedelivered, ProtocolError, type TaskCall,
} from '../../runner/protocol/message';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Envelope = { [key: string]: Json } & { headers: { [key: string]: Json }; properties: { [key: string]: Json } & { delivery_info: { [key: string]: Json } } };

const messageDir = join(__dirname, '../fixtures/messages');
const capturedFiles = readdirSync(messageDir).filter((f) => f.endsWith('.json') && !f.endsWith('.decoded.json'));
const captured = capturedFiles.map((f) => readFileSync(join(messageDir, f), 'utf8').trim());
/**
 * Captures in another layout, left to the general decoder: kombu's restore marks a message redelivered (a header
 * and a delivery_info key), and a Celery worker's retry adds properties (origin, replaced_task_nesting).
 */
const GENERAL_ONLY = ['restored_after_sigkill_visibility_timeout.json', 'restored_after_warm_shutdown_redelivered.json', 'retry_republished_retries1.json'];

/** Celery 5.6.3's captures (test/fixtures/captures-5.6.3), as bases for the variants: the 5.3 headers, stamps, a chord, a retry. */
const captured56 = (JSON.parse(readFileSync(join(__dirname, '../fixtures/captures-5.6.3/task-messages-raw.json'), 'utf8')) as { section: string; raw: string }[])
  .filter((r, i, all) => ['msg.plain', 'msg.expires', 'msg.chord', 'msg.stamped', 'msg.stamped_chain'].includes(r.section) || (r.section === 'res.retry' && all.findIndex((x) => x.section === r.section) !== i))
  .map((r) => r.raw);

const SENDER = { origin: 'gen1@test', replyTo: '00000000-0000-4000-8000-000000000000', deliveryTag: '11111111-1111-4111-8111-111111111111' };

/** Messages as Radish writes them: every header a call can set, and strings that need escapes. */
const radishCalls: TaskCall[] = [
  { id: 'a1', name: 'tasks.noop', queue: 'celery' },
  { id: 'a2', name: 'tasks.add', queue: 'high', args: [1, 2.5, -3e-7], kwargs: { z: null }, priority: 9 },
  { id: 'q"uo\\te', name: 'tasks.é\u2028', queue: 'q\ttab', args: ['é', '\ud83d\ude00', 'a"b'], kwargs: { 'k"': '\\' } },
  {
    id: 'a4', name: 'tasks.all', queue: 'celery', eta: new Date('2030-01-02T03:04:05.678Z'), expires: new Date('2031-01-01T00:00:00Z'),
    retries: 3, timeLimit: 30, softTimeLimit: 25.5, parentId: 'p', rootId: 'r', groupId: 'g', groupIndex: 2, ignoreResult: true,
    shadow: 'alias', embed: { callbacks: [{ task: 'cb', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }] },
  },
  { id: 'a5', name: 'tasks.stamped', queue: 'celery', stamps: { m: 'x"y', n: [1, 'é'], o: null }, replacedTaskNesting: 2, properties: { origin: 'gen2@test' } },
  { id: 'a6', name: 'tasks.stamped', queue: 'celery', stamps: {}, expires: new Date('2031-01-01T00:00:00Z'), properties: { origin: 'gen2@test' } },
];
/** Each call in Celery 5.3+'s layout (the default) and in 5.2's. */
const radishMessages = radishCalls.flatMap((call) => [encodeTaskMessage(call, SENDER), encodeTaskMessage(call, { ...SENDER, layout: '5.2' })]);

/** json.dumps with Python's default separators (', ' and ': '), as Celery writes a message. */
function pythonDumps(v: Json): string {
  if (Array.isArray(v)) return '[' + v.map(pythonDumps).join(', ') + ']';
  if (v !== null && typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ': ' + pythonDumps(x)).join(', ') + '}';
  return JSON.stringify(v);
}

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

/** Values every field is tried with. */
const VALUES: Json[] = [null, 0, 7, -1.5, 1e21, 2.5e-3, '', 's', 'a"b\\c', 'é', '\u2028', true, false, [], {}, [1, 'x'], { a: 1 },
  '2030-01-02T03:04:05+00:00', 'not a date'];

/** Bodies (the base64 text, or as written) the body field is tried with. */
const BODIES: string[] = [
  b64('[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
  b64('[[],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]'),
  b64('[[1, "\\u00e9"], {"k": [1, {"n": null}]}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
  b64('[["é"],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]'),
  b64('[[],{}]'),
  b64('[[],{},null]'),
  b64('[[],{},{"callbacks":[{"task":"x"}],"errbacks":null,"chain":[],"chord":null}]'),
  b64('[[],{},{"callbacks":5,"errbacks":null,"chain":null,"chord":null}]'),
  b64('[[],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":7}]'),
  b64('[1,{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]'),
  b64('[[],[],{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]'),
  b64('[[]]'),
  b64('{"task":"v1.task","id":"v1","args":[1]}'),
  b64('"text"'),
  b64('[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}'),
  b64(Buffer.from([0x5b, 0x5b, 0x22, 0xff, 0x22, 0x5d, 0x2c, 0x7b, 0x7d, 0x5d])),
  b64('[[],{}]').replace(/=+$/, ''),
  'W1tdLHt9XQ==\n',
  '!!not base64!!',
  '',
];

function variants(raw: string): string[] {
  const base = JSON.parse(raw) as Envelope;
  const out: Envelope[] = [base];
  const copy = () => structuredClone(base);
  const places: [string, (e: Envelope) => { [key: string]: Json }][] = [
    ['', (e) => e], ['headers', (e) => e.headers], ['properties', (e) => e.properties], ['delivery_info', (e) => e.properties.delivery_info],
  ];
  for (const [, at] of places) {
    for (const key of Object.keys(at(base))) {
      for (const value of VALUES) {
        const e = copy();
        at(e)[key] = value;
        out.push(e);
      }
      const dropped = copy();
      delete at(dropped)[key];
      out.push(dropped);
      // The same key moved to the end.
      const moved = copy();
      const value = at(moved)[key]!;
      delete at(moved)[key];
      at(moved)[key] = value;
      out.push(moved);
    }
    const extra = copy();
    at(extra).extra = 1;
    out.push(extra);
  }
  for (const body of BODIES) {
    const e = copy();
    e.body = body;
    out.push(e);
  }
  for (const timelimit of [[1, 2], [1.5, null], ['1', null], [null], [null, null, null], 5] as Json[]) {
    const e = copy();
    e.headers.timelimit = timelimit;
    out.push(e);
  }
  const redelivered = copy();
  redelivered.headers.redelivered = true;
  out.push(redelivered);
  const withExpiration = copy();
  withExpiration.properties = { ...Object.fromEntries(Object.entries(withExpiration.properties).slice(0, 3)), expiration: '1000', ...withExpiration.properties };
  out.push(withExpiration);
  const texts = out.flatMap((e) => [JSON.stringify(e), pythonDumps(e)]);
  // Text-level damage: cut short, padded, a second copy of the last key.
  texts.push(raw.slice(0, -1), raw.slice(0, raw.length >> 1), ' ' + raw, raw + ' ', raw + '\n', raw.replace(/}}$/, ', "x": 1}}'),
    raw.replace(/"delivery_tag": ("[^"]*")/, '"delivery_tag": $1, "delivery_tag": null'), raw.replace('"body": "', '"body" : "'));
  return texts;
}

type Outcome = { value: unknown } | { error: string; reason?: string; taskId?: string; taskName?: string };

function outcome(decode: (raw: string) => unknown, raw: string): Outcome {
  try {
    return { value: decode(raw) };
  } catch (err) {
    if (err instanceof ProtocolError) return { error: err.name, reason: err.reason, taskId: err.taskId, taskName: err.taskName };
    return { error: String(err) };
  }
}

describe('protocol: the fast decode agrees with the general one', () => {
  const bases = [...captured, ...captured56, ...radishMessages];

  it('reads every message a Celery client or Radish sends on the fast path, as the general decoder does', () => {
    assert.ok(captured.length >= 25, `expected Celery's captures, found ${captured.length}`);
    assert.deepEqual(capturedFiles.filter((_, i) => decodeFast(captured[i]!) === undefined), GENERAL_ONLY);
    for (const raw of bases) assert.deepEqual(decodeTaskMessage(raw), decodeTaskMessageGeneral(raw));
    for (const raw of [...radishMessages, ...captured56]) assert.ok(decodeFast(raw) !== undefined, `not read by the fast path: ${raw}`);
  });

  it('decodes each variant as the general decoder does (same TaskMessage, or the same ProtocolError)', () => {
    let fastCount = 0;
    let total = 0;
    let refused = 0;
    for (const base of bases) {
      for (const raw of variants(base)) {
        total++;
        const expected = outcome(decodeTaskMessageGeneral, raw);
        assert.deepEqual(outcome(decodeTaskMessage, raw), expected, `differs on ${raw}`);
        const fast = decodeFast(raw);
        if (fast !== undefined) {
          fastCount++;
          assert.ok('value' in expected, `the fast path read a message the general decoder refuses: ${raw}`);
          assert.deepEqual(fast, expected.value);
        }
        if ('error' in expected) refused++;
      }
    }
    // The variants cover both sides: many read on the fast path, many left to the general decoder, many refused.
    assert.ok(fastCount > total / 10 && fastCount < total, `${fastCount} of ${total} variants on the fast path`);
    assert.ok(refused > total / 10, `${refused} of ${total} variants refused`);
  });
});

describe('protocol: the send-time stamp (radish_sent_at)', () => {
  const call: TaskCall = { id: 's1', name: 'tasks.add', queue: 'celery', args: [1, 2], sentAt: 1_796_000_000_123 };

  it('is written after the headers by both encoders, byte for byte the same, in both layouts', () => {
    for (const layout of ['5.2', '5.3'] as const) {
      const template = encodeTaskMessage(call, { ...SENDER, layout });
      // Extra headers (none here) send a call down the generic path.
      const generic = encodeTaskMessage({ ...call, headers: {} }, { ...SENDER, layout });
      assert.equal(template, generic, layout);
      const headers = (JSON.parse(template) as Envelope).headers;
      assert.equal(Object.keys(headers).at(-1), 'radish_sent_at');
      assert.equal(headers.radish_sent_at, 1_796_000_000_123);
    }
    // Extra headers come after it; a fractional time is written in whole milliseconds.
    const extra = JSON.parse(encodeTaskMessage({ ...call, sentAt: 5.6, headers: { traceparent: 'x' } }, SENDER)) as Envelope;
    assert.deepEqual(Object.keys(extra.headers).slice(-2), ['radish_sent_at', 'traceparent']);
    assert.equal(extra.headers.radish_sent_at, 6);
  });

  it('is now by default, and none with sentAt: null', () => {
    const before = Date.now();
    const stamped = decodeTaskMessage(encodeTaskMessage({ id: 's2', name: 't', queue: 'celery' }, SENDER));
    assert.ok(stamped.sentAt !== null && stamped.sentAt >= before && stamped.sentAt <= Date.now());
    const bare = encodeTaskMessage({ id: 's3', name: 't', queue: 'celery', sentAt: null }, SENDER);
    assert.equal('radish_sent_at' in (JSON.parse(bare) as Envelope).headers, false);
    assert.equal(decodeTaskMessage(bare).sentAt, null);
  });

  it('is read on the fast path (Radish\'s and json.dumps\' separators), as the general decoder reads it', () => {
    for (const layout of ['5.2', '5.3'] as const) {
      const raw = encodeTaskMessage(call, { ...SENDER, layout });
      for (const text of [raw, pythonDumps(JSON.parse(raw) as Json)]) {
        const fast = decodeFast(text);
        assert.ok(fast !== undefined, `not on the fast path: ${text}`);
        assert.equal(fast.sentAt, 1_796_000_000_123);
        assert.deepEqual(fast, decodeTaskMessageGeneral(text));
      }
    }
  });

  it('is none for Celery\'s messages, and for a stamp that is not a number (the task still runs)', () => {
    for (const raw of captured) assert.equal(decodeTaskMessage(raw).sentAt, null);
    const odd = JSON.parse(encodeTaskMessage(call, SENDER)) as Envelope;
    odd.headers.radish_sent_at = 'yesterday';
    const text = JSON.stringify(odd);
    assert.equal(decodeTaskMessage(text).sentAt, null);
    assert.deepEqual(decodeTaskMessage(text), decodeTaskMessageGeneral(text));
  });

  it('is kept by a restore (markRedelivered) and renewed by a retry (a new send)', () => {
    const msg = decodeTaskMessage(encodeTaskMessage(call, SENDER));
    assert.equal(decodeTaskMessage(markRedelivered(msg.raw)).sentAt, 1_796_000_000_123);
    const before = Date.now();
    const retried = decodeTaskMessage(encodeRetry(msg, 'celery', new Date(Date.now() + 1000), 'w@test', 'tag-2'));
    assert.ok(retried.sentAt !== null && retried.sentAt >= before, `retry stamped ${retried.sentAt}`);
    assert.equal(retried.retries, 1);
  });

  it('travels on AMQP in its header (int64) and, to the second, as the message timestamp', () => {
    const { properties } = envelopeToAmqp(encodeTaskMessage(call, SENDER));
    assert.deepEqual(properties.headers?.radish_sent_at, { '!': 'long', value: 1_796_000_000_123 });
    assert.equal(properties.timestamp, 1_796_000_000);
    assert.equal(envelopeToAmqp(encodeTaskMessage({ ...call, sentAt: null }, SENDER)).properties.timestamp, undefined);
  });
});
