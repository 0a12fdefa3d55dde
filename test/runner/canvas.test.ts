/**
 * Canvas follow-ups (link, link_error, chain): the next messages built from captured Celery 5.2.6 messages match
 * what a Celery worker published, field by field; and on a real redis-server a Radish worker runs a chain to its end
 * and fires callbacks and errbacks.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CanvasError, chordCallback, chordErrbacks, failureFollowUps, makeSignature, successFollowUps, type FollowUp, type FollowUps } from '../../runner/protocol/canvas';
import { Canvas, chainSignature as chain, chordSignature as chord, groupSignature as group } from '../../runner/protocol/canvas-apply';
import { chordPartOf } from '../../runner/worker/chord';
import { decodeTaskMessage, encodeTaskMessage, type Signature, type TaskMessage } from '../../runner/protocol/message';
import { until, workerHarness } from '../support/worker-harness';

const FIXTURES = join(__dirname, '../fixtures/messages');
const raw = (name: string): string => readFileSync(join(FIXTURES, `${name}.json`), 'utf8');
const fixture = (name: string): TaskMessage => decodeTaskMessage(raw(name));
/** The worker that published the captured follow-ups. */
const CELERY_WORKER = 'gen8043@vm';
/** Celery 5.2.6's layout, asked for as a 5.2 fleet does (celeryVersion 5.2): Radish writes 5.6's by default. */
const AS_526 = { layout: '5.2' } as const;

interface Parsed {
  body: unknown[];
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
  rest: Record<string, unknown>;
}

function parse(message: string): Parsed {
  const { body, headers, properties, ...rest } = JSON.parse(message) as { body: string; headers: Record<string, unknown>; properties: Record<string, unknown> };
  return { body: JSON.parse(Buffer.from(body, 'base64').toString('utf8')) as unknown[], headers, properties, rest };
}

/** Compare field by field, leaving out the fields named in `ignore` (`headers.id`, `properties.delivery_tag`...). */
function assertSameMessage(actual: string, expected: string, ignore: string[]): void {
  const a = parse(actual);
  const e = parse(expected);
  // Radish's send-time stamp (Celery writes none): there, a number, then set aside.
  if (!('radish_sent_at' in e.headers)) {
    assert.equal(typeof a.headers.radish_sent_at, 'number', 'headers.radish_sent_at');
    delete a.headers.radish_sent_at;
  }
  assert.deepEqual(a.body, e.body, 'body [args, kwargs, embed]');
  assert.deepEqual(a.rest, e.rest, 'content type and encoding');
  for (const part of ['headers', 'properties'] as const) {
    const keys = new Set([...Object.keys(a[part]), ...Object.keys(e[part])]);
    for (const key of keys) {
      if (ignore.includes(`${part}.${key}`)) continue;
      assert.deepEqual(a[part][key], e[part][key], `${part}.${key}`);
    }
  }
}

function only(followUps: FollowUps): FollowUp {
  const { messages } = followUps;
  assert.equal(messages.length, 1, `one follow-up, got ${messages.map((f) => f.name).join(', ')}`);
  return messages[0]!;
}

const sig = (task: string, args: unknown[] = [], options: Record<string, unknown> = {}, immutable = false): Signature => ({
  task, args, kwargs: {}, options, subtask_type: null, immutable, chord_size: null,
});

describe('canvas follow-ups', function () {
  describe('built from captured messages', function () {
    it('a chain head publishes the next member as Celery did (result prepended, chain popped, ids from options)', () => {
      const next = only(successFollowUps(fixture('chain_first'), 3, { origin: CELERY_WORKER, ...AS_526 }));
      assert.equal(next.id, '3ab5934b-aad0-41e3-83e4-a936a5ac3c8b');
      assert.equal(next.queue, 'celery');
      assertSameMessage(next.body, raw('worker_published_chain_second'), ['properties.delivery_tag']);
    });

    it('the second member publishes the last with an empty chain', () => {
      const next = only(successFollowUps(fixture('worker_published_chain_second'), 9, { origin: CELERY_WORKER, ...AS_526 }));
      assertSameMessage(next.body, raw('worker_published_chain_last'), ['properties.delivery_tag']);
    });

    it('the last member publishes nothing', () => {
      assert.deepEqual(successFollowUps(fixture('worker_published_chain_last'), 109, { origin: CELERY_WORKER, ...AS_526 }).effects, []);
    });

    it('a link callback gets the result prepended, a fresh id, parent and root ids', () => {
      const next = only(successFollowUps(fixture('link_errback'), 3, { origin: 'gen8042@vm', ...AS_526 }));
      // Celery's worker puts its own app oid in reply_to; it only matters to the rpc backend, so Radish keeps the
      // parent's. The id is new on every run.
      assertSameMessage(next.body, raw('worker_published_link_callback'), ['headers.id', 'properties.correlation_id', 'properties.reply_to', 'properties.delivery_tag']);
      const { headers, properties } = parse(next.body);
      assert.equal(headers.id, next.id);
      assert.equal(properties.correlation_id, next.id);
    });

    it('an errback is sent with the failed task id prepended, and callbacks are not', () => {
      const msg = fixture('link_errback');
      const errback = only(failureFollowUps(msg, { origin: CELERY_WORKER, ...AS_526 }));
      const { body, headers } = parse(errback.body);
      assert.equal(errback.name, 'tasks.echo');
      assert.deepEqual(body[0], ['fixture-link-errback', 'err']);
      assert.equal(headers.parent_id, 'fixture-link-errback');
      assert.equal(headers.root_id, 'fixture-link-errback');
      assert.deepEqual(failureFollowUps(fixture('chain_first'), { origin: CELERY_WORKER, ...AS_526 }).effects, [], 'no errbacks, nothing sent');
    });

    it('the chord header member that ends last publishes the callback as Celery did (all results as one argument)', () => {
      // chord([add(1, 1), add(2, 2)], xsum.s()): header member 1 ended last, so the callback is its child.
      const callback = only(chordCallback(chordPartOf(fixture('chord_header_1'))!, [2, 4], { origin: 'gen8042@vm', ...AS_526 }));
      assert.equal(callback.id, '0c6433f6-8d2c-4352-b8ea-7324fe5eed8e', 'the id the client froze into the callback');
      assert.equal(callback.queue, 'celery');
      assertSameMessage(callback.body, raw('worker_published_chord_callback'), ['properties.delivery_tag']);
    });

    it("a chord callback's errbacks get the callback's id, with the callback as parent and root", () => {
      const callback = makeSignature('tasks.xsum', [], {}, { taskId: 'cb-1', linkError: makeSignature('tasks.echo', ['eb']) });
      const errback = only(chordErrbacks(callback, 'cb-1', 'reply-1', { origin: CELERY_WORKER, ...AS_526 }));
      const { body, headers, properties } = parse(errback.body);
      assert.deepEqual(body[0], ['cb-1', 'eb']);
      assert.deepEqual([headers.parent_id, headers.root_id, properties.reply_to], ['cb-1', 'cb-1', 'reply-1']);
    });
  });

  describe('signature options', function () {
    const basic = fixture('add_basic');
    let n = 0;
    const opts = { origin: 'gen1@test', newId: () => `id-${++n}`, route: (name: string) => ({ queue: name === 'ts.routed' ? 'routed' : 'celery', priority: 3 }) };
    /** The one message applying `s` with `prepend` as `basic`'s follow-up. */
    const applied = (s: Signature, prepend: unknown[]): FollowUp => {
      const canvas = new Canvas({ ...opts, replyTo: 'reply-1', current: { id: basic.id, rootId: basic.rootId } });
      canvas.apply(s, prepend);
      assert.equal(canvas.messages.length, 1);
      return canvas.messages[0]!;
    };

    it('an immutable signature keeps its own args', () => {
      const f = applied(sig('ts.x', [1], {}, true), [99]);
      assert.deepEqual(parse(f.body).body[0], [1]);
    });

    it('honours queue, priority, task_id, time limits, countdown and its own links', () => {
      const f = applied(sig('ts.x', [], {
        queue: 'high', priority: 7, task_id: 'fixed', time_limit: 30, soft_time_limit: 20, countdown: 60,
        link: sig('ts.cb'), link_error: [sig('ts.eb')],
      }), [5]);
      assert.equal(f.queue, 'high');
      assert.equal(f.priority, 7);
      assert.equal(f.id, 'fixed');
      const { body, headers, properties } = parse(f.body);
      assert.deepEqual(headers.timelimit, [30, 20]);
      assert.ok(Math.abs(Date.parse(headers.eta as string) - Date.now() - 60_000) < 2000, 'countdown became an eta');
      assert.equal((properties.delivery_info as { routing_key: string }).routing_key, 'high');
      const embed = body[2] as { callbacks: Signature[]; errbacks: Signature[] };
      assert.equal(embed.callbacks[0]!.task, 'ts.cb');
      assert.equal(embed.errbacks[0]!.task, 'ts.eb');
    });

    it('makeSignature writes the dict Celery serialises, options under Celery\'s names', () => {
      const eta = new Date('2030-01-02T03:04:05Z');
      const made = makeSignature('tasks.mul', [10], { z: 1 }, {
        taskId: 't1', queue: 'q', priority: 3, countdown: 5, eta, expires: 60, timeLimit: 30, softTimeLimit: 20,
        ignoreResult: true, link: makeSignature('a'), linkError: [makeSignature('b')], immutable: true,
      });
      assert.deepEqual(Object.keys(made), ['task', 'args', 'kwargs', 'options', 'subtask_type', 'immutable']);
      assert.deepEqual(made.options, {
        task_id: 't1', queue: 'q', priority: 3, countdown: 5, eta: '2030-01-02T03:04:05.000000+00:00', expires: 60,
        time_limit: 30, soft_time_limit: 20, ignore_result: true, link: [makeSignature('a')], link_error: [makeSignature('b')],
      });
      // The callback Celery's client embedded in a chord header (its options also got the client's reply_to).
      const captured = (JSON.parse(readFileSync(join(FIXTURES, 'chord_header_0.decoded.json'), 'utf8')) as { body: [unknown, unknown, { chord: Signature }] }).body[2].chord;
      const taskId = captured.options.task_id as string;
      assert.deepEqual(makeSignature('tasks.xsum', [], {}, { taskId }), { ...captured, options: { task_id: taskId } });
      assert.throws(() => makeSignature(''), CanvasError);
    });

    it('a signature without a queue is routed by the app', () => {
      const f = applied(sig('ts.routed'), []);
      assert.equal(f.queue, 'routed');
      assert.equal(f.priority, 3);
    });

    it('skips a malformed signature, and says so, still applying the others', () => {
      const msg = { ...basic, embed: { ...basic.embed, callbacks: [{ ...sig('celery.group'), subtask_type: 'group', kwargs: {} }], chain: [sig('ts.ok')] } };
      assert.throws(() => successFollowUps(msg, 1, opts), CanvasError);
      const skipped: string[] = [];
      const sent = successFollowUps(msg, 1, { ...opts, onSkip: (_s, err) => skipped.push(err.message) });
      assert.deepEqual(sent.messages.map((f) => f.name), ['ts.ok']);
      assert.equal(skipped.length, 1);
      assert.match(skipped[0]!, /group signature without tasks/);
    });
  });

  describe('on a worker', function () {
    const h = workerHarness();

    async function publish(name: string, args: unknown[], embed: Record<string, unknown>, id = randomUUID()): Promise<string> {
      const broker = await h.app.broker();
      await broker.publish('celery', 0, encodeTaskMessage({ id, name, args, queue: 'celery', embed }, { origin: 'gen1@test', replyTo: randomUUID(), deliveryTag: randomUUID() }));
      return id;
    }

    it('runs a chain of three TypeScript tasks to the right final result, with parent and root ids', async () => {
      h.app.task('ts.add', (a: number, b: number) => a + b);
      h.app.task('ts.mul', (a: number, b: number) => a * b);
      h.app.task('ts.sub', (a: number, b: number) => a - b);
      await h.startWorker();
      const [second, last] = [randomUUID(), randomUUID()];
      // (1 + 2) * 10 - 4, the chain reversed as Celery sends it.
      const head = await publish('ts.add', [1, 2], { chain: [sig('ts.sub', [4], { task_id: last }), sig('ts.mul', [10], { task_id: second })] });
      assert.equal(await (await h.app.asyncResult(last)).get({ timeout: 5000 }), 26);
      const [headMeta, secondMeta, lastMeta] = await Promise.all([h.stored(head), h.stored(second), h.stored(last)]);
      assert.deepEqual(headMeta?.children, [[[second, null], null]], 'the head names the next task as its child');
      assert.equal(secondMeta?.result, 30);
      assert.equal(secondMeta?.parent_id, head);
      assert.equal(lastMeta?.parent_id, second);
    });

    it('fires link callbacks on success, and errbacks on failure: old-style with the task id, new-style called with (request, exc, traceback)', async () => {
      const seen: unknown[][] = [];
      const failedIds: string[] = [];
      h.app.task('ts.add', (a: number, b: number) => a + b);
      h.app.task('ts.boom', () => { throw new Error('boom'); });
      h.app.task('ts.record', (...args: unknown[]) => { seen.push(args); return args.length; });
      h.app.task('ts.failed', (taskId: string) => { failedIds.push(taskId); });
      await h.startWorker();
      const ok = await publish('ts.add', [1, 2], { callbacks: [sig('ts.record', ['ok']), sig('ts.record', ['fixed'], {}, true)], errbacks: [sig('ts.failed')] });
      // ts.record takes any number of arguments: a new-style errback (Celery's rule), called by the worker itself.
      const bad = await publish('ts.boom', [], { callbacks: [sig('ts.record', ['never'])], errbacks: [sig('ts.record', ['err']), sig('ts.failed'), sig('ts.record', ['own'], {}, true)] });
      await until(() => seen.length === 4 && failedIds.length === 1, 'two callbacks and three errbacks', 5000);
      // An immutable new-style errback (`.si()`) is called with its own args only, as Celery merges none into it.
      assert.equal(seen.filter((a) => JSON.stringify(a) === JSON.stringify(['own'])).length, 1);
      const callbacks = seen.filter((a) => a[a.length - 1] !== 'err' && a[0] !== 'own').map((a) => JSON.stringify(a)).sort();
      assert.deepEqual(callbacks, [JSON.stringify([3, 'ok']), JSON.stringify(['fixed'])].sort());
      const [request, exc, traceback, extra] = seen.find((a) => a[a.length - 1] === 'err') as [{ id: string; task: string }, { exc_type: string; exc_message: unknown[] }, string, string];
      assert.deepEqual([request.id, request.task, exc.exc_type, exc.exc_message, extra], [bad, 'ts.boom', 'Error', ['boom'], 'err']);
      assert.match(traceback, /boom/);
      assert.deepEqual(failedIds, [bad], 'the old-style errback got the failed task id');
      // Two links go out as one group, the one child Celery's trail records for them.
      const children = (await h.stored(ok))?.children as [[string, null], unknown[]][];
      assert.equal(children.length, 1);
      assert.equal(children[0]![1].length, 2, 'a group of the two callbacks');
      assert.equal((await h.stored(bad))?.status, 'FAILURE');
    });

    it('runs chains, groups and chords nested in each other, sent with app.chain() and app.apply()', async () => {
      h.app.task('ts.add', (a: number, b: number) => a + b);
      h.app.task('ts.xsum', (numbers: number[]) => numbers.reduce((a, b) => a + b, 0));
      h.app.task('ts.list', (value: unknown) => value);
      h.app.task('ts.slowAdd', async (a: number, b: number) => { await new Promise((r) => setTimeout(r, 400)); return a + b; });
      await h.startWorker();
      const s = h.app.signature.bind(h.app);
      // 1 + 2, then (3 + 1, 3 + 2) as a group, then their sum: a group followed by a step is a chord.
      assert.equal(await (await h.app.chain([s('ts.add', [1, 2]), group([s('ts.add', [1]), s('ts.add', [2])]), s('ts.xsum')])).get({ timeout: 5000 }), 9);
      // A chord whose header holds a chain and a group: the group's members count in the chord size.
      const nested = chord([chain([s('ts.add', [1, 1]), s('ts.add', [1])]), group([s('ts.add', [2, 2]), s('ts.add', [3, 3])])], s('ts.xsum'));
      assert.equal(await (await h.app.apply(nested)).get({ timeout: 5000 }), 13);
      // A header member ending in a group: the chord saves its header, and the callback gets the nested results.
      const saved = chord([chain([s('ts.add', [1, 1]), group([s('ts.add', [1]), s('ts.add', [2])])]), s('ts.add', [5, 5])], s('ts.list'));
      assert.deepEqual(await (await h.app.apply(saved)).get({ timeout: 5000 }), [[3, 4], 10]);
      // The nested group sets its own chord size when it is applied (as Celery's does), so the set can count complete
      // while a slow nested member still runs: the join waits for it, as Celery's does.
      const slow = chord([chain([s('ts.add', [1, 1]), group([s('ts.slowAdd', [1]), s('ts.add', [2])])]), s('ts.add', [5, 5])], s('ts.list'));
      assert.deepEqual(await (await h.app.apply(slow)).get({ timeout: 5000 }), [[3, 4], 10]);
      const g = await h.app.apply(group([s('ts.add', [1, 1]), chain([s('ts.add', [2, 2]), s('ts.add', [1])])]));
      assert.deepEqual(await g.get({ timeout: 5000 }), [2, 5]);
    });
  });
});
