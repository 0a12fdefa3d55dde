/**
 * Groups and chords on Celery's Redis result backend: the join-set records and ChordError messages against what
 * Celery 5.2.6 wrote and raised; the chord_part script on a real redis-server; the messages a Radish worker and the
 * Radish client send, against captured Celery messages; and whole chords and groups run by Radish workers.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Radish } from '../../runner/app';
import { Keys } from '../../runner/broker/keys';
import { makeSignature } from '../../runner/protocol/canvas';
import { ChordError, chordMember, exceptionReprOf, joinChordMembers } from '../../runner/protocol/chord';
import { decodeTaskMessage, encodeTaskMessage, type Signature } from '../../runner/protocol/message';
import type { TaskFailedError } from '../../runner/protocol/result';
import { delay, until, workerHarness } from '../support/worker-harness';

const FIXTURES = join(__dirname, '../fixtures');
const raw = (name: string): string => readFileSync(join(FIXTURES, 'messages', `${name}.json`), 'utf8');
const json = <T>(path: string): T => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as T;

interface KeyObservation { key: string; type: string; ttl: number; value: unknown }
const inFlight = json<{ group_id: string; observed: KeyObservation[] }>('results/group_chord/chord_keys_in_flight.json');

/** Captured from Celery 5.2.6 (a `tasks.fail('kaboom')` header member), see WIRE_FORMAT.md section 3. */
const CELERY_FAILED_MEMBER = '[1, "78bc3445-b06f-40c8-8326-bd951716a0a2", "FAILURE", {"exc_type": "ValueError", "exc_message": ["kaboom"], "exc_module": "builtins"}]';

function decodeBody(message: string): { args: unknown[]; headers: Record<string, unknown>; embed: Record<string, unknown> } {
  const env = JSON.parse(message) as { body: string; headers: Record<string, unknown> };
  const [args, , embed] = JSON.parse(Buffer.from(env.body, 'base64').toString('utf8')) as [unknown[], unknown, Record<string, unknown>];
  return { args, headers: env.headers, embed };
}

describe('chords', function () {
  describe('join-set records (golden, Celery 5.2.6)', function () {
    it('writes a SUCCESS record as Celery does, scored by group_index', () => {
      const zset = inFlight.observed.find((o) => o.type === 'zset' && (o.value as unknown[]).length > 0)!;
      const [[member, score]] = zset.value as [[string, number], ...[string, number][]];
      const [, tid] = JSON.parse(member) as [number, string];
      // Celery's float 1.0 reads back as 1 in JavaScript: the same JSON value, written the way Python writes an int.
      assert.equal(chordMember(tid, 'SUCCESS', 1), member.replace('1.0]', '1]'));
      assert.equal(score, 0);
    });

    it('writes a FAILURE record with the exception as Celery does', () => {
      const info = { exc_type: 'ValueError', exc_message: ['kaboom'], exc_module: 'builtins' };
      assert.equal(chordMember('78bc3445-b06f-40c8-8326-bd951716a0a2', 'FAILURE', info), CELERY_FAILED_MEMBER);
    });

    it('joins the results in the order given (score order), whatever their types', () => {
      const members = [chordMember('a', 'SUCCESS', 2), chordMember('b', 'SUCCESS', { x: [1] }), chordMember('c', 'SUCCESS', null)];
      assert.deepEqual(joinChordMembers(members), { ok: true, results: [2, { x: [1] }, null] });
    });

    it("fails the join with Celery's ChordError message for a failed or revoked member", () => {
      const failed = joinChordMembers([chordMember('a', 'SUCCESS', 1), CELERY_FAILED_MEMBER]);
      assert.ok(!failed.ok && failed.error instanceof ChordError);
      // Exactly what Celery 5.2.6 stored for that chord's callback.
      assert.equal(failed.error.message, "Dependency 78bc3445-b06f-40c8-8326-bd951716a0a2 raised ValueError('kaboom')");
      const revoked = joinChordMembers([chordMember('r', 'REVOKED', { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' })]);
      assert.ok(!revoked.ok);
      assert.equal(revoked.error.message, "Dependency r raised TaskRevokedError('expired')");
      assert.equal(exceptionReprOf({ exc_type: 'KeyError', exc_message: [], exc_module: 'builtins' }), 'KeyError()');
      assert.equal(exceptionReprOf({ exc_type: 'E', exc_message: 'one', exc_module: null }), "E('one')");
    });

    it('fails the join, never throws, on a record it cannot read', () => {
      for (const bad of ['not json', '{"a": 1}', '[1, 2]']) {
        const joined = joinChordMembers([bad]);
        assert.ok(!joined.ok, bad);
        assert.match(joined.error.message, /^Join error: /);
      }
    });
  });

  describe('the chord_part script and the group keys', function () {
    const h = workerHarness();
    const part = (groupId: string, taskId: string, groupIndex: number | null, result: unknown) =>
      h.app.backend().then((b) => b.groups.recordPart({ groupId, taskId, groupIndex, member: chordMember(taskId, 'SUCCESS', result) }));

    it('records a part as Celery does (the keys of chord_keys_in_flight.json), then completes in group_index order', async () => {
      const gid = randomUUID();
      const keys = Keys.group(gid);
      await (await h.app.backend()).groups.setChordSize(gid, 3);
      assert.deepEqual(await part(gid, 't2', 2, 'c'), { complete: false, count: 1 });
      assert.equal(await h.redis.get(keys.size), '3');
      assert.equal(await h.redis.ttl(keys.size), 86_400);
      assert.equal(await h.redis.ttl(keys.join), 86_400);
      assert.deepEqual(await h.redis.zrange(keys.join, '0', '-1'), ['[1, "t2", "SUCCESS", "c"]']);
      assert.equal(await h.redis.zscore(keys.join, '[1, "t2", "SUCCESS", "c"]'), '2', 'scored by its group_index');
      assert.deepEqual(await part(gid, 't0', 0, 'a'), { complete: false, count: 2 });
      const done = await part(gid, 't1', 1, 'b');
      assert.ok(done.complete);
      assert.deepEqual(joinChordMembers(done.members), { ok: true, results: ['a', 'b', 'c'] });
    });

    it('replaces the record of a member that ran again, so the count never passes the size', async () => {
      const gid = randomUUID();
      await (await h.app.backend()).groups.setChordSize(gid, 2);
      await part(gid, 't0', 0, 'first run');
      assert.deepEqual(await part(gid, 't0', 0, 'second run'), { complete: false, count: 1 });
      const done = await part(gid, 't1', 1, 'b');
      assert.ok(done.complete);
      assert.deepEqual(joinChordMembers(done.members), { ok: true, results: ['second run', 'b'] });
    });

    it('never completes without a chord size, and counts members added to the chord (.t)', async () => {
      const gid = randomUUID();
      assert.deepEqual(await part(gid, 't0', 0, 1), { complete: false, count: 1 });
      await h.redis.set(Keys.group(gid).size, '1');
      await h.redis.set(Keys.group(gid).counter, '1');
      assert.ok((await part(gid, 't1', 1, 2)).complete, '1 + 1 members');
    });

    it('reports a chord size that is not a number', async () => {
      const gid = randomUUID();
      await h.redis.set(Keys.group(gid).size, 'two');
      assert.deepEqual(await part(gid, 't0', 0, 1), { complete: false, count: 1, badSize: 'two' });
    });

    it("saves a group as Celery's GroupResult.save() does, and restores it", async () => {
      const saved = json<{ result: [[string, null], [[string, null], null][]] }>('results/group_chord/groupresult_saved.json');
      const [[gid], members] = saved.result;
      const ids = members.map(([[id]]) => id);
      const group = await h.app.group(ids.map((id) => makeSignature('tasks.add', [1, 1], {}, { taskId: id, queue: 'nobody' })), { groupId: gid });
      await group.save();
      assert.deepEqual(JSON.parse((await h.redis.get(Keys.group(gid).meta))!), saved);
      assert.equal(await h.redis.ttl(Keys.group(gid).meta), 86_400);
      assert.deepEqual((await h.app.restoreGroup(gid))?.ids, ids);
      assert.equal(await h.app.restoreGroup(randomUUID()), null);
      await h.redis.set(Keys.group('nested').meta, JSON.stringify({ result: [['nested', null], [[['g2', null], [[['t', null], null]]]]] }));
      await assert.rejects(h.app.restoreGroup('nested'), /nested group/);
    });
  });

  describe('messages the client sends', function () {
    const h = workerHarness();
    /** An app sending as Celery 5.2.6's client does (celeryVersion 5.2: the default is 5.6's layout). */
    let app526: Radish | undefined;
    const as526 = (): Radish => (app526 ??= new Radish({ broker: h.server.url, celeryVersion: '5.2.6' }));
    afterEach(async () => {
      await app526?.close();
      app526 = undefined;
    });

    it('sends chord header members as Celery\'s client does (group, group_index, chord embed) and sets the size first', async () => {
      const captured = decodeBody(raw('chord_header_0'));
      const header = [makeSignature('tasks.add', [1, 1]), makeSignature('tasks.add', [2, 2])];
      const result = await as526().chord(header, makeSignature('tasks.xsum'));
      const queued = (await h.redis.lrange('celery', 0, -1)).reverse().map(decodeBody);
      assert.equal(queued.length, 2);
      const gid = queued[0]!.headers.group as string;
      assert.deepEqual(queued.map((m) => [m.headers.group, m.headers.group_index, m.args]), [[gid, 0, [1, 1]], [gid, 1, [2, 2]]]);
      assert.equal(result.parent?.id, gid);
      assert.deepEqual(result.parent?.ids, queued.map((m) => m.headers.id));
      for (const m of queued) {
        // Celery's headers in Celery's order, then Radish's send-time stamp (Celery has none).
        assert.deepEqual(Object.keys(m.headers), [...Object.keys(captured.headers), 'radish_sent_at'], 'the same headers, in the same order');
        assert.equal(m.headers.root_id, m.headers.id, 'each member is its own root');
        assert.equal(m.headers.parent_id, null);
        const chord = m.embed.chord as Signature;
        assert.deepEqual(Object.keys(chord), Object.keys(captured.embed.chord as Signature));
        assert.deepEqual(Object.keys(chord.options), ['task_id', 'reply_to'], 'frozen as Celery freezes the callback');
        assert.equal(chord.options.task_id, result.id);
        assert.equal(chord.options.reply_to, (JSON.parse((await h.redis.lrange('celery', 0, 0))[0]!) as { properties: { reply_to: string } }).properties.reply_to);
      }
      assert.equal(await h.redis.get(Keys.group(gid).size), '2');
    });

    it('sends group members with the group id and no group_index, as Celery 5.2.6 does', async () => {
      const captured = decodeBody(raw('group_children_0'));
      const group = await as526().group([makeSignature('tasks.add', [0, 0]), makeSignature('tasks.add', [1, 1], {}, { queue: 'other', priority: 9 })]);
      const [first] = (await h.redis.lrange('celery', 0, -1)).map(decodeBody);
      assert.deepEqual(first!.embed, captured.embed);
      assert.deepEqual([first!.headers.group, first!.headers.group_index], [group.id, null]);
      const other = decodeTaskMessage((await h.redis.lrange('other\x06\x169', 0, -1))[0]!);
      assert.deepEqual([other.groupId, other.id], [group.id, group.ids[1]]);
      assert.equal(await h.redis.exists(Keys.group(group.id).size), 0, 'no chord size for a plain group');
    });

    it('sends nothing for a group or chord with a signature it cannot send', async () => {
      const malformed = { ...makeSignature('celery.group'), subtask_type: 'group' };
      await assert.rejects(h.app.group([makeSignature('tasks.add'), malformed]), /group signature without tasks/);
      await assert.rejects(h.app.chord([makeSignature('tasks.add'), malformed], makeSignature('tasks.xsum')), /group signature without tasks/);
      assert.deepEqual(await h.redis.keys('*'), []);
    });

    it('bakes a routed callback queue into the chord callback (a Python worker may send it)', async () => {
      const app = new Radish({ broker: h.server.url, routes: { 'ts.*': 'ts' } });
      try {
        await app.chord([makeSignature('tasks.add', [1, 1])], makeSignature('ts.sum'));
        const [m] = (await h.redis.lrange('celery', 0, -1)).map(decodeBody);
        assert.equal((m!.embed.chord as Signature).options.queue, 'ts');
      } finally {
        await app.close();
      }
    });
  });

  describe('on Radish workers', function () {
    const h = workerHarness();

    /** A task that ends after `ms`, so that members end in another order than the header's. */
    const slow = async (ms: number, value: unknown) => { await delay(ms); return value; };

    it('the worker that ends the last member publishes the callback exactly as Celery did, and deletes the keys', async () => {
      h.app.task('tasks.add', (x: number, y: number) => x + y);
      // The captured header messages, byte for byte, on a queue of their own, so the callback stays queued to look at.
      const captured = [raw('chord_header_0'), raw('chord_header_1')];
      const gid = decodeTaskMessage(captured[0]!).groupId!;
      await h.redis.set(Keys.group(gid).size, '2');
      await h.redis.lpush('headers', ...captured);
      // As a worker beside Celery 5.2.6 sends it (celeryVersion 5.2: the default is 5.6's layout).
      await h.startWorker({ queues: ['headers'], concurrency: 1, celeryVersion: '5.2.6' });
      await until(async () => (await h.redis.llen('celery')) === 1, 'the callback');
      const text = (await h.redis.lindex('celery', 0))!;
      const sent = JSON.parse(text) as Record<string, Record<string, unknown>>;
      const expected = JSON.parse(raw('worker_published_chord_callback')) as Record<string, Record<string, unknown>>;
      const { args, embed } = decodeBody(text);
      const celery = decodeBody(raw('worker_published_chord_callback'));
      assert.deepEqual([args, embed], [celery.args, celery.embed], 'args [[2, 4]] and the embed');
      // Radish's send-time stamp aside (Celery writes none).
      const { radish_sent_at: sentAt, ...headers } = sent.headers!;
      assert.equal(typeof sentAt, 'number');
      assert.deepEqual({ ...headers, origin: null }, { ...expected.headers, origin: null });
      assert.deepEqual({ ...sent.properties, delivery_tag: null }, { ...expected.properties, delivery_tag: null });
      // Deleted right after the callback is published: wait for it rather than race it.
      await until(async () => (await h.redis.keys('celery-taskset-meta-*')).length === 0, 'the chord keys to be deleted');
      const member = await h.stored('3115e245-ca25-4b7c-ba15-857b1638664c');
      assert.equal(member?.group_id, gid, 'a member stores its group id');
    });

    it('runs a chord: the callback gets every result in header order, once', async () => {
      const calls: unknown[][] = [];
      h.app.task('ts.slow', (ms: number, value: unknown) => slow(ms, value));
      h.app.task('ts.collect', (results: unknown[], tag: string) => { calls.push([results, tag]); return { results, tag }; });
      await h.startWorker({ concurrency: 8 });
      const header = [50, 40, 30, 20, 10, 0].map((ms, i) => h.app.signature('ts.slow', [ms, `r${i}`]));
      const result = await h.app.chord(header, h.app.signature('ts.collect', ['t']));
      const expected = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
      assert.deepEqual(await result.get({ timeout: 10_000 }), { results: expected, tag: 't' });
      assert.deepEqual(await result.parent?.get({ timeout: 1000 }), expected);
      assert.equal(calls.length, 1);
      const meta = await h.stored(result.id);
      assert.ok(result.parent?.ids.includes(meta!.parent_id!), 'the callback is the child of a header member');
      await until(async () => (await h.redis.keys('celery-taskset-meta-*')).length === 0, 'the chord keys to be deleted');
    });

    it('splits a chord across two workers and still sends the callback once', async () => {
      let calls = 0;
      h.app.task('ts.slow', (ms: number, value: unknown) => slow(ms, value));
      h.app.task('ts.sum', (values: number[]) => { calls++; return values.reduce((a, b) => a + b, 0); });
      await h.startWorker({ concurrency: 2, prefetchMultiplier: 1 });
      await h.startWorker({ concurrency: 2, prefetchMultiplier: 1 });
      const results = await Promise.all([0, 1, 2, 3].map(() =>
        h.app.chord(Array.from({ length: 10 }, (_, i) => h.app.signature('ts.slow', [i % 3, i])), h.app.signature('ts.sum'))));
      for (const r of results) assert.equal(await r.get({ timeout: 20_000 }), 45);
      assert.equal(calls, 4);
    });

    it('an immutable callback keeps its own arguments; an empty header sends the callback at once with []', async () => {
      h.app.task('ts.add', (x: number, y: number) => x + y);
      h.app.task('ts.echo', (...args: unknown[]) => args);
      await h.startWorker();
      const immutable = await h.app.chord([h.app.signature('ts.add', [1, 2])], h.app.signature('ts.echo', ['own'], {}, { immutable: true }));
      assert.deepEqual(await immutable.get({ timeout: 5000 }), ['own']);
      const empty = await h.app.chord([], h.app.signature('ts.echo'));
      assert.deepEqual(await empty.get({ timeout: 5000 }), [[]]);
    });

    it('a failed member fails the callback with ChordError, as Celery does, and calls its errbacks with its id (new-style ones with a request)', async () => {
      const ran: string[] = [];
      const errbacks: unknown[][] = [];
      const newStyle: unknown[][] = [];
      h.app.task('ts.add', (x: number, y: number) => x + y);
      h.app.task('ts.boom', (msg: string) => { throw new Error(msg); });
      h.app.task('ts.collect', (results: unknown[]) => { ran.push('callback'); return results; });
      h.app.task('ts.failed', (taskId: string) => { errbacks.push([taskId]); });
      h.app.task('ts.record', (...args: unknown[]) => { newStyle.push(args); });
      await h.startWorker({ concurrency: 1 });
      const callback = h.app.signature('ts.collect', [], {}, { linkError: [h.app.signature('ts.failed'), h.app.signature('ts.record', ['eb'])] });
      const result = await h.app.chord([h.app.signature('ts.add', [1, 1]), h.app.signature('ts.boom', ['kaboom']), h.app.signature('ts.add', [2, 2])], callback);
      const failedId = result.parent!.ids[1]!;
      const err = await result.get({ timeout: 5000 }).then(() => assert.fail('the callback must fail'), (e: TaskFailedError) => e);
      assert.equal(err.excType, 'ChordError');
      assert.equal(err.excModule, 'celery.exceptions');
      assert.equal(err.message, `Dependency ${failedId} raised Error('kaboom')`);
      await until(() => errbacks.length === 1 && newStyle.length === 1, 'the errbacks');
      assert.deepEqual(errbacks, [[result.id]]);
      // The new-style one gets a request made up from the callback (its id), the ChordError and a traceback.
      const [request, exc, , extra] = newStyle[0] as [{ id: string }, { exc_type: string }, unknown, string];
      assert.deepEqual([request.id, exc.exc_type, extra], [result.id, 'ChordError', 'eb']);
      assert.deepEqual(ran, [], 'the callback never ran');
      const meta = await h.stored(result.id);
      assert.equal(meta?.parent_id, undefined, 'stored without a request, as Celery does');
      // Its children: the errbacks' group, as Celery's trail has it (a test of Celery's reads the errback through it).
      const children = meta?.children as [[string, null], [[string, null], null][]][];
      assert.equal(children.length, 1);
      assert.deepEqual(children[0]![1].map((c) => c[1]), [null], 'one errback in the group');
      // The join set stays (until it expires), as Celery leaves a chord whose join failed: it tells which member failed.
      const members = await h.redis.zrange(Keys.group(result.parent!.id).join, '0', '-1');
      assert.equal(members.length, 3);
      assert.ok(members.some((m) => m.includes(failedId) && m.includes('FAILURE')));
      assert.equal((await h.stored(failedId))?.status, 'FAILURE');
    });

    it('a revoked (expired) member fails the callback with ChordError', async () => {
      h.app.task('ts.add', (x: number, y: number) => x + y);
      h.app.task('ts.collect', (results: unknown[]) => results);
      await h.startWorker();
      const expired = h.app.signature('ts.add', [1, 1], {}, { expires: new Date(Date.now() - 1000) });
      const result = await h.app.chord([h.app.signature('ts.add', [2, 2]), expired], h.app.signature('ts.collect'));
      const err = await result.get({ timeout: 5000 }).then(() => assert.fail('the callback must fail'), (e: TaskFailedError) => e);
      assert.equal(err.message, `Dependency ${result.parent!.ids[1]} raised TaskRevokedError('expired')`);
    });

    it('a chord callback it cannot apply fails as a Callback error, and the worker carries on', async () => {
      h.app.task('ts.add', (x: number, y: number) => x + y);
      await h.startWorker();
      const gid = randomUUID();
      const broker = await h.app.broker();
      await h.redis.set(Keys.group(gid).size, '1');
      const chord = { ...makeSignature('celery.chain', [], {}, { taskId: 'cb-nested' }), subtask_type: 'chain' };
      const id = randomUUID();
      await broker.publish('celery', 0, encodeTaskMessage({ id, name: 'ts.add', args: [1, 2], queue: 'celery', groupId: gid, groupIndex: 0, embed: { chord } },
        { origin: 'gen1@test', replyTo: 'r', deliveryTag: randomUUID() }));
      const err = await (await h.app.asyncResult('cb-nested')).get({ timeout: 5000 }).then(() => assert.fail('must fail'), (e: TaskFailedError) => e);
      assert.equal(err.excType, 'ChordError');
      assert.match(err.message, /^Callback error: CanvasError\('a chain signature without tasks/);
      assert.equal((await h.stored(id))?.result, 3, 'the member itself succeeded');
      assert.equal(await (await h.app.send('ts.add', [2, 2])).get({ timeout: 5000 }), 4);
    });

    it('a chord size that is not a number fails the callback (Join error), as Celery\'s int() does', async () => {
      h.app.task('ts.add', (x: number, y: number) => x + y);
      await h.startWorker();
      const gid = randomUUID();
      await h.redis.set(Keys.group(gid).size, 'two');
      const id = randomUUID();
      await (await h.app.broker()).publish('celery', 0, encodeTaskMessage({
        id, name: 'ts.add', args: [1, 2], queue: 'celery', groupId: gid, groupIndex: 0,
        embed: { chord: makeSignature('ts.add', [], {}, { taskId: 'cb-bad-size' }) },
      }, { origin: 'gen1@test', replyTo: 'r', deliveryTag: randomUUID() }));
      const err = await (await h.app.asyncResult('cb-bad-size')).get({ timeout: 5000 }).then(() => assert.fail('must fail'), (e: TaskFailedError) => e);
      assert.equal(err.message, `Join error: ValueError("invalid literal for int() with base 10: 'two'")`);
      assert.equal((await h.stored(id))?.result, 3);
    });

    it('records the part of a member that ignores its result', async () => {
      h.app.task('ts.quiet', { ignoreResult: true }, (x: number) => x * 10);
      h.app.task('ts.collect', (results: unknown[]) => results);
      await h.startWorker();
      const result = await h.app.chord([h.app.signature('ts.quiet', [1]), h.app.signature('ts.quiet', [2])], h.app.signature('ts.collect'));
      assert.deepEqual(await result.get({ timeout: 5000 }), [10, 20]);
      assert.equal(await h.stored(result.parent!.ids[0]!), null, 'no result stored for the member');
    });
  });

  describe('groups on Radish workers', function () {
    const h = workerHarness();

    it('gathers the results in member order, with one deadline, and propagates the first failure', async () => {
      h.app.task('ts.slow', async (ms: number, value: unknown) => { await delay(ms); return value; });
      h.app.task('ts.boom', (msg: string) => { throw new RangeError(msg); });
      await h.startWorker({ concurrency: 4 });
      const group = await h.app.group([30, 0, 20, 10].map((ms, i) => h.app.signature('ts.slow', [ms, i])));
      assert.deepEqual(await group.get({ timeout: 5000 }), [0, 1, 2, 3]);
      assert.equal(await group.ready(), true);
      const members = await group.metas();
      assert.ok(members.every((m) => m?.group_id === group.id), 'each member stores the group id');
      const bad = await h.app.group([h.app.signature('ts.slow', [0, 'ok']), h.app.signature('ts.boom', ['no'])]);
      await assert.rejects(bad.get({ timeout: 5000 }), (e: TaskFailedError) => e.excType === 'RangeError' && e.message === 'no');
      const [ok, info] = await bad.get({ timeout: 5000, propagate: false });
      assert.equal(ok, 'ok');
      assert.deepEqual(info, { exc_type: 'RangeError', exc_message: ['no'], exc_module: 'radish' });
      const never = await h.app.group([h.app.signature('ts.slow', [0, 1], {}, { queue: 'nobody' })]);
      await assert.rejects(never.get({ timeout: 200 }), /not ready/);
    });
  });
});
