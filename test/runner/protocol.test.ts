/**
 * Golden tests against messages and results captured from a real Celery 5.2.6 (test/fixtures, copied from
 * shared/celery/fixtures): every captured message decodes, and re-encoding the same call gives the same
 * message field by field (ids, times, origin and delivery tags aside).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeTaskMessage, encodeTaskMessage, markRedelivered, ProtocolError, type Envelope,
} from '../../runner/protocol/message';
import { argsRepr, kwargsRepr, pyRepr } from '../../runner/protocol/pyrepr';
import { decodeResult, encodeResult, encodeSuccess, exceptionInfo, exceptionRepr, failureFromMeta, type ResultMeta } from '../../runner/protocol/result';
import { isoWithOffset, naiveUtc, parseCeleryDate } from '../../runner/protocol/time';
import { callOf } from '../support/calls';

const FIXTURES = join(__dirname, '../fixtures');
const messageDir = join(FIXTURES, 'messages');
const rawMessages = readdirSync(messageDir).filter((f) => f.endsWith('.json') && !f.endsWith('.decoded.json'));

function read(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

describe('protocol: task messages (golden, Celery 5.2.6 captures)', () => {
  it('has the captured fixtures', () => {
    assert.ok(rawMessages.length >= 25, `expected the captured messages, found ${rawMessages.length}`);
  });

  for (const file of rawMessages) {
    it(`decodes ${file}`, () => {
      const raw = read(join(messageDir, file));
      const msg = decodeTaskMessage(raw);
      const envelope = JSON.parse(raw) as Envelope;
      assert.equal(msg.id, envelope.headers.id);
      assert.equal(msg.name, envelope.headers.task);
      assert.equal(msg.deliveryTag, envelope.properties.delivery_tag);
      assert.equal(msg.routingKey, envelope.properties.delivery_info.routing_key);
      const decodedPath = join(messageDir, file.replace(/\.json$/, '.decoded.json'));
      let decoded: { body: [unknown[], Record<string, unknown>, unknown] } | undefined;
      try {
        decoded = JSON.parse(read(decodedPath));
      } catch {
        decoded = undefined; // restored_* captures have no decoded twin
      }
      if (decoded) {
        assert.deepEqual(msg.args, decoded.body[0]);
        assert.deepEqual(msg.kwargs, decoded.body[1]);
        assert.deepEqual(msg.embed, decoded.body[2]);
      }
    });
  }

  for (const file of rawMessages.filter((f) => !f.startsWith('restored_'))) {
    it(`re-encodes the call of ${file} field by field`, () => {
      const raw = read(join(messageDir, file));
      const python = JSON.parse(raw) as Envelope;
      const msg = decodeTaskMessage(raw);
      // Celery 5.2.6's layout, asked for as a 5.2 fleet does (celeryVersion 5.2): Radish writes 5.6's by default.
      const ours = JSON.parse(encodeTaskMessage(callOf(msg), { origin: 'gen1@test', replyTo: 'r', deliveryTag: 't', layout: '5.2' })) as Envelope;

      assert.deepEqual(Object.keys(ours), Object.keys(python), 'envelope keys and their order');
      assert.equal(ours['content-type'], python['content-type']);
      assert.equal(ours['content-encoding'], python['content-encoding']);
      const body = (e: Envelope) => JSON.parse(Buffer.from(e.body, 'base64').toString('utf8'));
      assert.deepEqual(body(ours), body(python), 'body [args, kwargs, embed]');

      const headers = (e: Envelope) => {
        const { origin: _o, eta, expires, ...rest } = e.headers;
        // Times: JS keeps milliseconds where Python writes microseconds; compare the instant to the millisecond.
        return { ...rest, eta: eta && parseCeleryDate(eta)?.getTime(), expires: expires && parseCeleryDate(expires)?.getTime() };
      };
      assert.deepEqual(headers(ours), headers(python), 'headers');
      assert.deepEqual(Object.keys(ours.headers), Object.keys(python.headers), 'header order');

      // reply_to (app oid), delivery_tag (per publish) and expiration (ms from now) are per-sender or per-instant;
      // origin/replaced_task_nesting are what a worker's retry leaks into properties.
      const props = (e: Envelope) => {
        const { reply_to: _r, delivery_tag: _d, expiration, origin: _o, replaced_task_nesting: _n, ...rest } = e.properties;
        return { ...rest, hasExpiration: expiration !== undefined };
      };
      assert.deepEqual(props(ours), props(python), 'properties');
    });
  }

  it('reads a redelivered (restored) message as redelivered, and marks one the same way kombu does', () => {
    const restored = decodeTaskMessage(read(join(messageDir, 'restored_after_warm_shutdown_redelivered.json')));
    assert.equal(restored.redelivered, true);
    const fresh = read(join(messageDir, 'eta_expires.json'));
    const marked = JSON.parse(markRedelivered(fresh)) as Envelope;
    assert.equal(marked.headers.redelivered, true);
    assert.equal(marked.properties.delivery_info.redelivered, true);
    assert.deepEqual(marked, JSON.parse(read(join(messageDir, 'restored_after_warm_shutdown_redelivered.json'))));
  });

  it('reads the ETA, expiry and time limits Python sent', () => {
    const msg = decodeTaskMessage(read(join(messageDir, 'eta_expires.json')));
    assert.equal(msg.eta?.toISOString(), '2030-01-02T03:04:05.000Z');
    assert.equal(msg.expires?.toISOString(), '2030-01-02T04:04:05.000Z');
    const limits = decodeTaskMessage(read(join(messageDir, 'time_limits.json')));
    assert.deepEqual([limits.timeLimit, limits.softTimeLimit], [30, 20]);
  });

  describe('rejects bad input with a reason, never a crash', () => {
    const good = JSON.parse(read(join(messageDir, 'add_basic.json'))) as Envelope;
    const variant = (patch: (e: Record<string, unknown>) => void): string => {
      const e = structuredClone(good) as unknown as Record<string, unknown>;
      patch(e);
      return JSON.stringify(e);
    };
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const cases: [string, string, RegExp][] = [
      ['broken JSON', '{"body": ', /not valid JSON/],
      ['a JSON array', '[1, 2]', /not a JSON object/],
      ['pickle content type', variant((e) => { e['content-type'] = 'application/x-python-serialize'; }), /Radish accepts application\/json only/],
      ['bad base64', variant((e) => { e.body = '!!!not base64***'; }), /not valid base64/],
      ['body not JSON', variant((e) => { e.body = b64('[[1, 2], {}'); }), /body is not valid JSON/],
      ['args not a list', variant((e) => { e.body = b64('[5, {}, {}]'); }), /args must be a list/],
      ['kwargs not an object', variant((e) => { e.body = b64('[[], [], {}]'); }), /kwargs must be an object/],
      ['no task id', variant((e) => { delete (e.headers as Record<string, unknown>).id; }), /task id is missing/],
      ['unreadable eta', variant((e) => { (e.headers as Record<string, unknown>).eta = 'tomorrow'; }), /eta/],
      ['chain not a list', variant((e) => { e.body = b64('[[], {}, {"chain": 7}]'); }), /embed.chain/],
    ];
    for (const [label, raw, reason] of cases) {
      it(label, () => {
        assert.throws(() => decodeTaskMessage(raw), (err: unknown) => err instanceof ProtocolError && reason.test(err.reason));
      });
    }

    it('keeps the task id and name of a message whose body is bad', () => {
      const raw = variant((e) => { e.body = b64('nope'); });
      assert.throws(() => decodeTaskMessage(raw), (err: unknown) =>
        err instanceof ProtocolError && err.taskId === 'fixture-add-basic' && err.taskName === 'tasks.add');
    });
  });

  it('decodes a protocol 1 message (everything in the body)', () => {
    const body = { task: 'tasks.add', id: 'v1-id', args: [1, 2], kwargs: {}, retries: 0, eta: null, expires: null };
    const raw = JSON.stringify({
      body: Buffer.from(JSON.stringify(body)).toString('base64'), 'content-type': 'application/json', 'content-encoding': 'utf-8',
      headers: {}, properties: { body_encoding: 'base64', delivery_tag: 'tag1', delivery_info: { exchange: '', routing_key: 'celery' }, priority: 0 },
    });
    const msg = decodeTaskMessage(raw);
    assert.deepEqual([msg.id, msg.name, msg.args], ['v1-id', 'tasks.add', [1, 2]]);
  });
});

describe('protocol: Python repr for argsrepr/kwargsrepr', () => {
  it('matches what Python printed in the captures', () => {
    for (const file of rawMessages) {
      const msg = decodeTaskMessage(read(join(messageDir, file)));
      const h = msg.envelope.headers;
      assert.equal(argsRepr(msg.args), h.argsrepr, `${file} argsrepr`);
      assert.equal(kwargsRepr(msg.kwargs), h.kwargsrepr, `${file} kwargsrepr`);
    }
  });

  it('quotes like Python', () => {
    assert.equal(pyRepr("it's"), `"it's"`);
    assert.equal(pyRepr('a\nb\\'), `'a\\nb\\\\'`);
    assert.equal(pyRepr([null, true, false, 1.5, 'é']), "[None, True, False, 1.5, 'é']");
    assert.equal(argsRepr([1]), '(1,)');
    assert.equal(argsRepr([]), '()');
  });
});

describe('protocol: results (golden)', () => {
  const resultDirs = ['default', 'extended'].map((d) => join(FIXTURES, 'results', d));
  const files = resultDirs.flatMap((dir) => readdirSync(dir).filter((f) => /\.(SUCCESS|FAILURE|RETRY|STARTED|REVOKED)\.json$/.test(f)).map((f) => join(dir, f)));

  it('decodes every captured result', () => {
    assert.ok(files.length >= 20);
    for (const f of files) {
      const meta = decodeResult(read(f));
      assert.match(meta.status, /^(SUCCESS|FAILURE|RETRY|STARTED|REVOKED)$/);
      assert.ok(meta.task_id);
    }
  });

  it('encodes every captured state with the same fields in the same order', () => {
    for (const f of files) {
      const python = decodeResult(read(f));
      const extended = python.name !== undefined
        ? { name: python.name, args: python.args ?? [], kwargs: python.kwargs ?? {}, worker: python.worker ?? '', retries: python.retries ?? 0, queue: python.queue ?? '' }
        : null;
      const now = python.date_done ? new Date(python.date_done + 'Z') : undefined;
      // Celery 5.2.6's naive date_done, asked for as a 5.2 fleet does (celeryVersion 5.2): 5.6's has an offset.
      const ours = JSON.parse(encodeResult({
        taskId: python.task_id, state: python.status, result: python.result, traceback: python.traceback,
        children: python.children, groupId: python.group_id, parentId: python.parent_id, extended, now, layout: '5.2',
      })) as ResultMeta;
      assert.deepEqual(Object.keys(ours), Object.keys(python), `${f}: field order`);
      if (python.date_done !== null) assert.match(ours.date_done ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/, `${f}: naive date_done`);
      const strip = (m: ResultMeta) => ({ ...m, date_done: m.date_done?.slice(0, 23) ?? null });
      assert.deepEqual(strip(ours), strip(python), f);
    }
  });

  it('turns a Python failure into an error with its type, message and traceback', () => {
    const meta = decodeResult(read(join(FIXTURES, 'results/default/failure_valueerror.1.FAILURE.json')));
    const err = failureFromMeta(meta);
    assert.equal(err.name, 'ValueError');
    assert.equal(err.excModule, 'builtins');
    assert.match(err.message, /kaboom|boom/);
    assert.match(err.remoteTraceback ?? '', /Traceback/);
  });

  it('serialises JS errors so Python can rebuild them', () => {
    assert.deepEqual(exceptionInfo(new TypeError('bad')), { exc_type: 'TypeError', exc_message: ['bad'], exc_module: 'builtins' });
    class PaymentDeclined extends Error { override name = 'PaymentDeclined'; }
    assert.deepEqual(exceptionInfo(new PaymentDeclined('no')), { exc_type: 'PaymentDeclined', exc_message: ['no'], exc_module: 'radish' });
    assert.equal(exceptionInfo('plain string').exc_message[0], 'plain string');
    // Python's Exception.args: several arguments stay several, as Python compares and reprs them.
    class ExpectedException extends Error {
      override name = 'ExpectedException';
      readonly args: unknown[];
      constructor(...args: unknown[]) {
        super(args.map(String).join(', '));
        this.args = args;
      }
    }
    assert.deepEqual(exceptionInfo(new ExpectedException('Task expected to fail', 'test')).exc_message, ['Task expected to fail', 'test']);
  });

  it('shows exceptions the way Python reprs them', () => {
    assert.equal(exceptionRepr({ exc_type: 'ValueError', exc_message: ["it's"], exc_module: 'builtins' }), `ValueError("it's")`);
    assert.equal(exceptionRepr({ exc_type: 'ValueError', exc_message: ['say "hi"'], exc_module: 'builtins' }), `ValueError('say "hi"')`);
    assert.equal(exceptionRepr({ exc_type: 'ExpectedException', exc_message: ['Task expected to fail', 'test'], exc_module: 't' }), `ExpectedException('Task expected to fail', 'test')`);
    assert.equal(exceptionRepr({ exc_type: 'KeyError', exc_message: [42], exc_module: 'builtins' }), 'KeyError(42)');
    assert.equal(exceptionRepr({ exc_type: 'StopIteration', exc_message: [], exc_module: 'builtins' }), 'StopIteration()');
  });

  it('writes dates as Celery does', () => {
    const d = new Date('2026-11-24T06:40:22.533Z');
    assert.equal(naiveUtc(d), '2026-11-24T06:40:22.533000');
    assert.equal(isoWithOffset(d), '2026-11-24T06:40:22.533000+00:00');
    assert.equal(parseCeleryDate('2026-11-24T06:40:09.933629+00:00')?.toISOString(), '2026-11-24T06:40:09.933Z');
    assert.equal(parseCeleryDate('2026-11-24T06:40:09')?.toISOString(), '2026-11-24T06:40:09.000Z');
    assert.equal(parseCeleryDate(1764571209.5)?.toISOString(), '2025-12-01T06:40:09.500Z');
  });

  it('refuses a date outside what a Date holds, rather than making an Invalid Date', () => {
    assert.throws(() => parseCeleryDate(1e21), /invalid date 1e\+21/);
    assert.throws(() => parseCeleryDate('2026-13-01T00:00:00'), /invalid date/);
    assert.throws(() => decodeTaskMessage(JSON.stringify({ ...JSON.parse(read(join(messageDir, 'add_basic.json'))), headers: { task: 't', id: 'i', eta: 1e21 } })),
      (err: unknown) => err instanceof ProtocolError && /^eta: invalid date/.test(err.reason));
  });
});

describe('protocol: the SUCCESS fast path', () => {
  it('writes exactly what encodeResult writes, for every kind of value, group and parent', () => {
    const now = new Date(Date.UTC(2026, 10, 24, 6, 40, 22, 533));
    const values: unknown[] = [null, undefined, 0, -0, 1.5, NaN, Infinity, true, '', 's"\\\u2028é\ud800', [1, { a: undefined, b: () => 1 }],
      { x: [null], y: 'z' }, {}, Object.create(null), new Date(0), () => 1, Symbol('s'), [undefined], { toJSON: (key: string) => `key=${key}` }];
    for (const value of values) {
      for (const groupId of [null, undefined, '', 'g-1']) {
        for (const parentId of [null, undefined, '', 'p"1']) {
          const slow = encodeResult({ taskId: 'id"1', state: 'SUCCESS', result: value, groupId, parentId, children: [], extended: null, now });
          assert.equal(encodeSuccess('id"1', value, groupId, parentId, now), slow);
          for (const layout of ['5.2', '5.3'] as const) {
            const slowIn = encodeResult({ taskId: 'id"1', state: 'SUCCESS', result: value, groupId, parentId, children: [], extended: null, now, layout });
            assert.equal(encodeSuccess('id"1', value, groupId, parentId, now, layout), slowIn);
          }
        }
      }
    }
    assert.throws(() => encodeSuccess('id', 1n, null, null), TypeError);
  });
});
