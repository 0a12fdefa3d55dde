/**
 * Remote control beside Celery 5.2 and 5.6: golden tests of the pidbox replies against the Celery 5.6.3 captures
 * (test/fixtures/captures-5.6.3, copied from shared/celery/captures, with 5.2.6 beside them where the two differ),
 * and the replies of the commands Celery workers answer and Radish workers did not: revoke_by_stamped_headers,
 * hello, heartbeat, report and conf. Pure functions here; the worker side is test/runner/control-compat.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { matchStamps, RevokedStamps } from '../../runner/broker/revoked';
import type { JsonObject } from '../../runner/protocol/json';
import { decodeTaskMessage } from '../../runner/protocol/message';
import { messageStamps } from '../../runner/protocol/message-decode';
import { decodeReply, decodeRequest, encodeReply, encodeRequest, PidboxError, revokeReply } from '../../runner/protocol/pidbox';
import {
  bugreport, censorSetting, confReply, helloArguments, helloReply, maskUrl, pySetRepr, replyStyle, revokeReplyAs,
  stampedRevokeArguments, stampedRevokeReply, withDefaultsArgument,
} from '../../runner/protocol/pidbox-commands';
import { pythonJson } from '../../runner/protocol/python-json';
import { compileOptions, DEFAULT_CELERY_VERSION } from '../../runner/worker/options';
import { requestInfo, statsReply, type WorkerControlInfo } from '../../runner/worker/control-handlers';
import type { Job } from '../../runner/worker/recorder';
import type { TaskDefinition } from '../../runner/task';

const FIXTURES = join(__dirname, '../fixtures');

interface CaptureRecord {
  section: string;
  kind: 'request' | 'reply';
  envelope: { headers: JsonObject; properties: { delivery_tag: string; delivery_info: { exchange: string; routing_key: string } } };
  body_decoded: JsonObject;
}
interface RawRecord { file: string; section: string; kind: string; raw: string }

function capture(version: '5.2.6' | '5.6.3'): { records: CaptureRecord[]; raws: RawRecord[] } {
  const dir = join(FIXTURES, `captures-${version}`);
  return {
    records: JSON.parse(readFileSync(join(dir, 'pidbox.json'), 'utf8')) as CaptureRecord[],
    raws: JSON.parse(readFileSync(join(dir, 'raw-envelopes.json'), 'utf8')) as RawRecord[],
  };
}

/** The bytes Celery wrote for a record (from `redis-cli MONITOR`, see the fixture's README). */
function rawOf(raws: RawRecord[], file: string, section: string, kind: string): string {
  const found = raws.find((r) => r.file === file && r.section === section && r.kind === kind);
  if (!found) throw new Error(`no raw ${kind} for ${section} in ${file}`);
  return found.raw;
}

function record(records: CaptureRecord[], section: string, kind: 'request' | 'reply'): CaptureRecord {
  const found = records.find((r) => r.section === section && r.kind === kind);
  if (!found) throw new Error(`no ${kind} for ${section}`);
  return found;
}

/** The reply body's text, as Celery put it in the envelope. */
function bodyText(envelope: string): string {
  return Buffer.from((JSON.parse(envelope) as { body: string }).body, 'base64').toString('utf8');
}

const v56 = capture('5.6.3');
const v52 = capture('5.2.6');

describe('pidbox replies (golden, Celery 5.6.3 captures beside 5.2.6)', () => {
  it('decodes every 5.6.3 request and re-encodes it byte for byte', () => {
    const requests = v56.records.filter((r) => r.kind === 'request');
    assert.equal(requests.length, 5);
    for (const rec of requests) {
      const raw = rawOf(v56.raws, 'pidbox.json', rec.section, 'request');
      const got = decodeRequest(raw);
      assert.equal(got.method, rec.body_decoded.method, rec.section);
      assert.deepEqual(got.arguments, rec.body_decoded.arguments, rec.section);
      const again = encodeRequest(got, { clock: got.clock, expires: got.expires, deliveryTag: rec.envelope.properties.delivery_tag });
      assert.equal(again, raw, `${rec.section}: byte for byte`);
    }
  });

  it('encodes every 5.6.3 reply byte for byte (the stats float aside)', () => {
    const replies = v56.records.filter((r) => r.kind === 'reply');
    assert.equal(replies.length, 5);
    for (const rec of replies) {
      const raw = rawOf(v56.raws, 'pidbox.json', rec.section, 'reply');
      const got = decodeReply(raw);
      assert.deepEqual(got.replies, rec.body_decoded, rec.section);
      const [hostname, value] = Object.entries(got.replies)[0] ?? [];
      const again = encodeReply(hostname ?? '', value, { ticket: got.ticket, replyTo: got.deliveryInfo },
        { clock: got.clock, deliveryTag: rec.envelope.properties.delivery_tag });
      if (rec.section === 'pidbox.stats') {
        // Python's `"heartbeat": 120.0` is a float JSON cannot tell from the int 120: the only difference.
        assert.equal(bodyText(again), bodyText(raw).replace('"heartbeat": 120.0', '"heartbeat": 120'));
      } else {
        assert.equal(again, raw, `${rec.section}: byte for byte`);
      }
    }
  });

  /** The captured running task (`cap.sleep(3)`) as the worker held it, from the task message Celery sent. */
  function capturedJob(started: number): Job {
    const msg = decodeTaskMessage(rawOf(v56.raws, 'task-messages.json', 'pidbox.active', 'message'));
    return { delivery: { tag: msg.deliveryTag, raw: msg.raw, queue: 'capw' }, msg, def: {} as TaskDefinition, started, acked: true };
  }

  for (const [version, cap, style] of [['5.6.3', v56, '5.3'], ['5.2.6', v52, '5.2']] as const) {
    it(`inspect active: the reply ${version} sent, byte for byte, from the task message (redelivered ${style === '5.3' ? 'false' : 'null'})`, () => {
      const rec = record(cap.records, 'pidbox.active', 'reply');
      const raw = rawOf(cap.raws, 'pidbox.json', 'pidbox.active', 'reply');
      const [want] = (rec.body_decoded['cap@vm'] as JsonObject[]);
      const info = requestInfo(capturedJob(want!.time_start as number), 'cap@vm', want!.worker_pid as number, style);
      assert.deepEqual(info, want);
      const got = decodeReply(raw);
      const again = encodeReply('cap@vm', [info], { ticket: got.ticket, replyTo: got.deliveryInfo },
        { clock: got.clock, deliveryTag: rec.envelope.properties.delivery_tag });
      assert.equal(again, raw, 'byte for byte');
    });

    it(`inspect stats: the keys ${version} sends, in its order (pool.writes aside: Radish has no pipes)`, () => {
      const want = record(cap.records, 'pidbox.stats', 'reply').body_decoded['cap@vm'] as Record<string, JsonObject>;
      const info: WorkerControlInfo = {
        pid: 1, startedAt: 0, clock: 17, prefetch: 8, concurrency: 2, queues: ['capw'], totals: {},
        pool: { kind: 'process', pids: [2, 3] }, timeLimits: { soft: 0, hard: 0 },
        broker: { hostname: '127.0.0.1', port: 6379, virtual_host: '0', userid: null, ssl: false, transport: 'redis', transport_options: {}, heartbeat: null },
      };
      const got = statsReply(info, 10, style) as Record<string, JsonObject>;
      assert.deepEqual(Object.keys(got), Object.keys(want));
      const pool = Object.keys(got.pool!);
      const wantPool = Object.keys(want.pool!).filter((k) => k !== 'writes');
      // 5.2.6 has no pool.implementation; Radish names its pool there all the same, last, where 5.2 tools ignore it.
      assert.deepEqual(style === '5.3' ? pool : pool.filter((k) => k !== 'implementation'), wantPool);
      if (style === '5.2') assert.equal(pool.at(-1), 'implementation');
      assert.equal(got.pool!.implementation, 'radish:process');
      assert.deepEqual(Object.keys(got.broker!), Object.keys(want.broker!));
      for (const key of Object.keys(want.broker!)) {
        if (!['hostname', 'port', 'heartbeat'].includes(key)) assert.deepEqual(got.broker![key], want.broker![key], `broker.${key}`);
      }
    });
  }

  it('revoke: `tasks {\'<id>\'} flagged as revoked` for 5.3+, the 5.2.6 capture\'s text for 5.2', () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'pidbox/reply_revoke.decoded.json'), 'utf8')) as
      { envelope_body_decoded: { body: Record<string, unknown> } };
    assert.deepEqual({ 'w1@vm': revokeReplyAs('5.2', ['pidbox-scheduled-add']) }, fixture.envelope_body_decoded.body);
    assert.deepEqual(revokeReplyAs('5.2', ['a', 'b']), revokeReply(['a', 'b']));
    // Expected strings printed by python3: f'tasks {set(...)} flagged as revoked'.
    assert.deepEqual(revokeReplyAs('5.3', ['x']), { ok: "tasks {'x'} flagged as revoked" });
    assert.deepEqual(revokeReplyAs('5.3', ["it's"]), { ok: 'tasks {"it\'s"} flagged as revoked' });
    assert.deepEqual(revokeReplyAs('5.3', []), { ok: 'tasks set() flagged as revoked' });
    assert.deepEqual(revokeReplyAs('5.3', ['a', 'b']), { ok: "tasks {'a', 'b'} flagged as revoked" });
    // terminate words the same in both.
    for (const style of ['5.2', '5.3'] as const) {
      assert.deepEqual(revokeReplyAs(style, ['a'], ['a']), { ok: 'terminate: a' });
      assert.deepEqual(revokeReplyAs(style, ['a'], []), { ok: 'terminate: tasks unknown' });
    }
    assert.equal(pySetRepr([1, 'b', null]), "{1, 'b', None}");
  });

  it('the Celery version picks the wording: before 5.3 the 5.2 one, from 5.3 on the new one; default 5.6', () => {
    assert.equal(replyStyle('5.2.6'), '5.2');
    assert.equal(replyStyle('5.2'), '5.2');
    assert.equal(replyStyle('4.4.7'), '5.2');
    assert.equal(replyStyle('5.3.0'), '5.3');
    assert.equal(replyStyle('5.6'), '5.3');
    assert.equal(replyStyle('6'), '5.3');
    assert.equal(replyStyle(' 5.5.2 '), '5.3');
    for (const bad of ['', 'latest', '5.x', '5.6.3rc1x', 'v5']) assert.throws(() => replyStyle(bad), RangeError, bad);
    assert.equal(DEFAULT_CELERY_VERSION, '5.6');
    assert.equal(compileOptions({}, 'celery').celeryVersion, '5.6');
    assert.equal(compileOptions({ celeryVersion: '5.2.6' }, 'celery').celeryVersion, '5.2.6');
    assert.throws(() => compileOptions({ celeryVersion: 'newest' }, 'celery'), /celeryVersion/);
  });
});

describe('revoke_by_stamped_headers (Celery 5.3+)', () => {
  it('reads the arguments 5.6\'s app.control.revoke_by_stamped_headers sends, and the CLI\'s `key=value` list', () => {
    assert.deepEqual(stampedRevokeArguments({ headers: { monitoring_id: 'mon-42' }, terminate: false, signal: 'SIGTERM' }),
      { headers: { monitoring_id: 'mon-42' }, terminate: false, signal: 'SIGTERM' });
    assert.deepEqual(stampedRevokeArguments({ headers: ['monitoring_id=mon-42', 'batch=7'], terminate: true, signal: 'KILL' }),
      { headers: { monitoring_id: 'mon-42', batch: '7' }, terminate: true, signal: 'KILL' });
    assert.deepEqual(stampedRevokeArguments({ headers: { a: ['x', 'y'] }, signal: null }),
      { headers: { a: ['x', 'y'] }, terminate: false, signal: 'SIGTERM' });
    for (const bad of [{}, { headers: 'a=b' }, { headers: ['no-equals-sign'] }, { headers: [1] }]) {
      assert.throws(() => stampedRevokeArguments(bad as JsonObject), PidboxError, JSON.stringify(bad));
    }
  });

  it('replies with Celery\'s words (strings printed by python3 from Celery 5.6\'s f-strings)', () => {
    assert.deepEqual(stampedRevokeReply({ monitoring_id: 'mon-42' }),
      { ok: "headers {'monitoring_id': 'mon-42'} flagged as revoked, but not terminated" });
    assert.deepEqual(stampedRevokeReply({ monitoring_id: ['a', 'b'], n: 5 }, new Map()),
      { ok: "headers {'monitoring_id': ['a', 'b'], 'n': 5} were not terminated" });
    assert.deepEqual(stampedRevokeReply({ monitoring_id: 'mon-42' }, new Map([['monitoring_id', ['mon-42']]])),
      { ok: "headers defaultdict(<class 'set'>, {'monitoring_id': {'mon-42'}}) revoked" });
  });

  it('reads a message\'s stamps as Celery\'s Request.stamps: the stamped_headers named, from the stamps header', () => {
    const raws = v56.raws;
    const stamped = decodeTaskMessage(rawOf(raws, 'task-messages.json', 'msg.stamped', 'message'));
    assert.deepEqual(messageStamps(stamped), { monitoring_id: 'mon-42' });
    const plain = decodeTaskMessage(rawOf(raws, 'task-messages.json', 'pidbox.active', 'message'));
    assert.deepEqual(plain.envelope.headers.stamps, {}, '5.6 sends an empty stamps header');
    assert.deepEqual(messageStamps(plain), {});
    const v52message = decodeTaskMessage(readFileSync(join(FIXTURES, 'messages/add_basic.json'), 'utf8').trim());
    assert.deepEqual(messageStamps(v52message), {}, 'a 5.2 message has no stamps');
    // Only the names stamped_headers lists count; a malformed header is no stamp, never an error.
    const headers = (h: JsonObject) => ({ envelope: { ...stamped.envelope, headers: { ...stamped.envelope.headers, ...h } } });
    assert.deepEqual(messageStamps(headers({ stamped_headers: ['a', 'b'], stamps: { a: 1, c: 3 } })), { a: 1, b: null });
    assert.deepEqual(messageStamps(headers({ stamped_headers: 'a', stamps: { a: 1 } })), {});
    assert.deepEqual(messageStamps(headers({ stamped_headers: ['a', 7], stamps: null })), { a: null });
  });

  it('RevokedStamps: revoked values per header, added up as Celery does; a stamp (or one of a list) matching revokes', () => {
    const revoked = new RevokedStamps();
    assert.equal(revoked.size, 0);
    assert.equal(revoked.match({ monitoring_id: 'mon-42' }), undefined);
    revoked.add({ monitoring_id: 'mon-42' });
    revoked.add({ monitoring_id: ['mon-43', 'mon-42'], batch: 7 });
    // Celery appends; a value revoked again is kept once, as the youngest.
    assert.deepEqual(revoked.entries(), { monitoring_id: ['mon-43', 'mon-42'], batch: [7] });
    assert.equal(revoked.size, 3);
    assert.deepEqual(revoked.match({ monitoring_id: 'mon-43' }), { header: 'monitoring_id', value: 'mon-43' });
    assert.deepEqual(revoked.match({ other: 'x', batch: [1, 7] }), { header: 'batch', value: 7 });
    assert.equal(revoked.match({ batch: '7' }), undefined, 'a string is not the number');
    assert.equal(revoked.match({ monitoring_id: 'mon-44' }), undefined);
    assert.equal(revoked.match({}), undefined);
  });

  it('RevokedStamps keeps at most maxPerHeader values per header, forgetting the oldest', () => {
    const revoked = new RevokedStamps({ maxPerHeader: 2 });
    revoked.add({ h: ['a', 'b', 'c'] });
    assert.deepEqual(revoked.entries(), { h: ['b', 'c'] });
    revoked.add({ h: 'b' });
    assert.deepEqual(revoked.entries(), { h: ['c', 'b'] }, 'revoked again: the youngest');
  });

  it('matchStamps: which of a running task\'s stamps a request names (terminate), header -> matched values', () => {
    assert.deepEqual(matchStamps({ monitoring_id: 'mon-42', other: 1 }, { monitoring_id: ['mon-41', 'mon-42'] }),
      new Map([['monitoring_id', ['mon-42']]]));
    assert.deepEqual(matchStamps({ tags: ['a', 'b', 'c'] }, { tags: ['c', 'a'] }), new Map([['tags', ['a', 'c']]]));
    assert.deepEqual(matchStamps({ monitoring_id: 'mon-42' }, { monitoring_id: 'mon-1' }), new Map());
    assert.deepEqual(matchStamps({}, { monitoring_id: 'mon-42' }), new Map());
  });
});

describe('hello (a starting Celery worker\'s mingle)', () => {
  it('reads the request a Celery 5.2.6 worker sent at start (captured), and the revoked ids in either form', () => {
    const raw = readFileSync(join(FIXTURES, 'pidbox/request_hello_mingle.raw.json'), 'utf8').trim();
    const request = decodeRequest(raw);
    assert.equal(request.method, 'hello');
    assert.deepEqual(helloArguments(request.arguments), { fromNode: 'w1@vm', revoked: [] });
    assert.deepEqual(helloArguments({ from_node: 'a@b', revoked: { t1: [123.5, 't1'], t2: [124.25, 't2'] } }),
      { fromNode: 'a@b', revoked: ['t1', 't2'] });
    assert.deepEqual(helloArguments({ from_node: 'a@b', revoked: ['t3'] }), { fromNode: 'a@b', revoked: ['t3'] });
    assert.deepEqual(helloArguments({ from_node: 'a@b', revoked: null }), { fromNode: 'a@b', revoked: [] });
    assert.throws(() => helloArguments({ revoked: {} }), PidboxError);
    assert.throws(() => helloArguments({ from_node: 'a@b', revoked: 'x' }), PidboxError);
  });

  it('replies as Celery: {revoked: LimitedSet._data, clock}, each id with a float timestamp mingle accepts', () => {
    assert.deepEqual(helloReply(['t1', 't2'], 42, 1234.5), { revoked: { t1: [1234.5, 't1'], t2: [1234.5, 't2'] }, clock: 42 });
    // LimitedSet.update() refuses a timestamp that is not a float, and JSON writes 1234.0 as 1234: never integral.
    const text = pythonJson(helloReply(['t1'], 1, 1234));
    assert.match(text, /^\{"revoked": \{"t1": \[1234\.\d+, "t1"\]\}, "clock": 1\}$/);
    assert.deepEqual(helloReply([], 7, 1.5), { revoked: {}, clock: 7 });
  });
});

describe('conf and report', () => {
  it('censors settings as Celery\'s filter_hidden_settings (expected values printed by python3 with Celery 5.2.6)', () => {
    assert.equal(censorSetting('broker_url', 'redis://user:pw@h:1/0'), 'redis://user:********@h:1/0');
    assert.equal(censorSetting('result_backend', 'redis://:pw@h:1/0'), 'redis://:********@h:1/0');
    assert.equal(censorSetting('broker_url', 'redis://h:1/0'), 'redis://h:1/0');
    assert.deepEqual(censorSetting('broker_transport_options', { global_keyprefix: 'x', visibility_timeout: 3600 }),
      { global_keyprefix: '********', visibility_timeout: 3600 });
    assert.equal(censorSetting('redis_password', 'x'), '********');
    assert.equal(censorSetting('plain', 'redis://:pw@h/0'), 'redis://:pw@h/0');
    assert.equal(maskUrl('redis://:pw@h:1/0', '**'), 'redis://:**@h:1/0');
    assert.equal(maskUrl('sentinel://:pw@h1:26379;sentinel://:pw@h2:26379'), 'sentinel://:********@h1:26379;sentinel://:********@h2:26379');
  });

  it('conf: the settings that differ from Celery\'s defaults (and the URLs), or all with with_defaults; keys filtered', () => {
    const settings = [
      { key: 'broker_url', value: 'redis://:pw@h:1/0', celeryDefault: null, always: true },
      { key: 'worker_prefetch_multiplier', value: 4, celeryDefault: 4 },
      { key: 'task_acks_late', value: true, celeryDefault: false },
      { key: 'broker_transport_options', value: {}, celeryDefault: {} },
      { key: '__internal', value: 1, celeryDefault: 0 },
    ];
    assert.deepEqual(confReply(settings, false), { broker_url: 'redis://:********@h:1/0', task_acks_late: true });
    assert.deepEqual(confReply(settings, true), {
      broker_url: 'redis://:********@h:1/0', worker_prefetch_multiplier: 4, task_acks_late: true, broker_transport_options: {},
    });
    assert.equal(withDefaultsArgument({}), false);
    assert.equal(withDefaultsArgument({ with_defaults: true }), true);
    assert.equal(withDefaultsArgument({ with_defaults: 'yes' }), true);
    assert.equal(withDefaultsArgument({ with_defaults: 'false' }), false);
    assert.equal(withDefaultsArgument({ with_defaults: 0 }), false);
  });

  it('report: Celery\'s bugreport layout (software, platform, loader, settings, then the settings one per line)', () => {
    const text = bugreport({
      software: 'radish:1.2.3 node:20.19.0 celery-compat:5.6', platform: { system: 'Linux', arch: 'x64', kernel: '6.1.0', implementation: 'Node.js' },
      loader: 'radish', transport: 'redis', results: 'redis://:pw@h:1/0',
      settings: { broker_url: 'redis://:********@h:1/0', accept_content: ['json'], broker_transport_options: { visibility_timeout: 60 }, task_acks_late: true, task_time_limit: null },
    });
    assert.equal(text, [
      '',
      'software -> radish:1.2.3 node:20.19.0 celery-compat:5.6',
      'platform -> system:Linux arch:x64',
      '            kernel version:6.1.0 imp:Node.js',
      'loader   -> radish',
      'settings -> transport:redis results:redis://:**@h:1/0',
      '',
      "broker_url: 'redis://:********@h:1/0'",
      "accept_content: ['json']",
      "broker_transport_options: {\n 'visibility_timeout': 60}",
      'task_acks_late: True',
      'task_time_limit: None',
      '',
    ].join('\n'));
  });
});
