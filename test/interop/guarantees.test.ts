/**
 * Retries, ETA and expiry as a Python caller sees them: the same calls, sent by Celery's own client (Debian's 5.2.6, or
 * the Celery of `CELERY_PYTHON`)
 * (`app.send_task`), go to a Radish worker (queue `ts`) and to a real Celery worker (queue `py`) running twin tasks
 * of the same names (celery_app/tasks.py). Python polls `AsyncResult` and records every published state; each test
 * checks what a Python caller must see on Radish, and that it is what it sees on Celery.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { celeryLayout } from '../../runner/protocol/celery-version';
import { Worker } from '../../runner/worker/worker';
import { type CeleryInfo, celerySend, celeryVersion, celeryWatch, type CeleryWatched, type CeleryWatchRequest, type CeleryWorker, requireCelery, startCeleryWorker } from '../support/celery';
import { redisHarness } from '../support/redis';
import { poll, until } from '../support/wait';

/** Python's exception types, so that Python rebuilds a builtins exception and both workers can be compared. */
class PyRuntimeError extends Error {}
PyRuntimeError.prototype.name = 'RuntimeError';
class PyConnectionError extends Error {}
PyConnectionError.prototype.name = 'ConnectionError';

/** JS ms timestamps against Python's µs ones: an ETA is "not missed" within this much (seconds). */
const CLOCK_SLACK = 0.005;

/**
 * The retry message the peers' Celery itself republished: 5.2.6's (WIRE_FORMAT.md §2), or from 5.3 on 5.6.3's, which
 * carries the three headers 5.3 added.
 */
function retryFixture(layout: '5.2' | '5.3'): Envelope {
  if (layout === '5.2') return JSON.parse(readFileSync(resolve(__dirname, '../fixtures/messages/retry_republished_retries1.json'), 'utf8')) as Envelope;
  const captured = JSON.parse(readFileSync(resolve(__dirname, '../fixtures/captures-5.6.3/task-messages.json'), 'utf8')) as { section: string; envelope: Envelope }[];
  return captured.find((c) => c.section === 'res.retry' && c.envelope.headers.retries === 1)!.envelope;
}

interface Envelope {
  body: string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown> & { delivery_info: Record<string, unknown> };
  [key: string]: unknown;
}

/** The TypeScript twins of the Python tasks in celery_app/tasks.py. */
function defineTasks(app: Radish, redis: Redis, attempts: number[]): void {
  app.task('tasks.retry_twice', { bind: true }, (task, x: number) => {
    if (task.request.retries < 2) task.retry({ countdown: 0.5, exc: new PyRuntimeError(`attempt ${task.request.retries}`) });
    return { value: x * 2, retries: task.request.retries };
  });
  app.task('tasks.retry_handoff', { bind: true }, (task, x: number, tag: string | null = null) => {
    if (task.request.retries < 1) task.retry({ countdown: 3, exc: new PyRuntimeError(`handoff ${task.request.retries}`) });
    const r = task.request;
    return { by: 'radish', x, tag, at: Date.now() / 1000, id: r.id, retries: r.retries, parent_id: r.parentId, root_id: r.rootId, eta: r.eta?.toISOString() ?? null };
  });
  app.task('tasks.autoretry_always', {
    bind: true, autoretryFor: [PyConnectionError], maxRetries: 2, retryBackoff: 0.5, retryJitter: false,
  }, (task) => {
    attempts.push(Date.now() / 1000);
    throw new PyConnectionError(`down ${task.request.retries}`);
  });
  app.task('tasks.stamp', (tag: string) => ({ tag, at: Date.now() / 1000, by: 'radish' }));
  app.task('tasks.mark', async (key: string) => {
    await redis.hincrby('interop:ran', key, 1);
    return 'ran';
  });
}

// ---------------------------------------------------------------------------------------------
// What Python saw, in forms that can be compared and printed

/**
 * The states Python saw polling, adjacent repeats merged, from the first one a worker stored: e.g. RETRY, SUCCESS.
 * (Whether Python's first poll still saw PENDING only says which side was faster.)
 */
function stateSequence(w: CeleryWatched): string[] {
  return w.polled.map((p) => p.state).filter((s, i, all) => s !== 'PENDING' && (i === 0 || all[i - 1] !== s));
}

function infoText(info: CeleryInfo): string {
  if (info.exc_type !== undefined) return `${info.exc_type}(${info.exc_message.map((m) => JSON.stringify(m)).join(', ')})`;
  return info.value === null ? '' : JSON.stringify(info.value);
}

/** `PENDING -> RETRY RuntimeError("attempt 0") -> ... -> SUCCESS {...}`: every distinct thing Python saw. */
function seen(w: CeleryWatched): string {
  return w.polled.map((p) => `${p.state}${infoText(p.info) ? ' ' + infoText(p.info) : ''}`).join(' -> ');
}

function show(label: string, radish: CeleryWatched, celery: CeleryWatched): void {
  console.log(`      ${label}\n        on Radish: ${seen(radish)}\n        on Celery: ${seen(celery)}`);
}

/**
 * Every published result value with what differs by nature between the workers taken out: the task id, the
 * traceback's text (a JS stack vs a Python one; only whether there is one), the time in date_done (only whether
 * it is set), and with `values: false` the SUCCESS value.
 */
function publishedView(w: CeleryWatched, options: { values?: boolean } = {}): unknown[] {
  const masked = (v: unknown): unknown => JSON.parse(JSON.stringify(v).split(w.id).join('<id>'));
  return w.published.map(({ meta }) => ({
    keys: Object.keys(meta),
    status: meta.status,
    result: meta.status === 'SUCCESS' && options.values === false ? '<value>' : masked(meta.result),
    traceback: meta.traceback !== null && meta.traceback !== '',
    children: masked(meta.children),
    date_done: meta.date_done !== null,
    parent_id: meta.parent_id === undefined ? undefined : masked(meta.parent_id),
  }));
}

function raised(w: CeleryWatched): CeleryInfo | undefined {
  return 'raised' in w.get ? w.get.raised : undefined;
}

function value(w: CeleryWatched): unknown {
  assert.ok('value' in w.get, `get() did not return a value: ${JSON.stringify(w.get)}; Python saw ${seen(w)}`);
  return w.get.value;
}

// ---------------------------------------------------------------------------------------------

describe('retries, ETA and expiry: Python sees on Radish what it sees on Celery', function () {
  this.timeout(120_000);
  /** The peers' Celery version; the Radish worker writes for it, and its retry is compared with that Celery's bytes. */
  let version = '5.2.6';
  let app: Radish;
  let radish: Worker | undefined;
  const celery: CeleryWorker[] = [];
  const attempts: number[] = [];
  const log: string[] = [];

  before(function () {
    requireCelery(this);
    version = celeryVersion()!;
  });
  const h = redisHarness();

  beforeEach(async () => {
    attempts.length = 0;
    log.length = 0;
    app = new Radish({ broker: h.server.url });
    defineTasks(app, h.redis, attempts);
    // Concurrency 1 on both sides, so that a task holding the only slot would show. The Radish worker writes as the
    // Celery beside it (the retry's bytes are compared with that Celery's below); the other interop suites run the
    // default, 5.6's layout, whatever the Celery beside them.
    radish = new Worker(app, { queues: ['ts'], concurrency: 1, hostname: 'radish@guarantees', celeryVersion: version, logger: createLogger('info', (l) => log.push(l)) });
    const [py] = await Promise.all([startCeleryWorker(h.server.url, { queues: ['py'], concurrency: 1, pool: 'solo' }), radish.start()]);
    celery.push(py);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(`      Radish worker log:\n${log.map((l) => '        ' + l).join('\n')}`);
    await radish?.stop();
    radish = undefined;
    await Promise.all(celery.splice(0).map((w) => w.stop()));
    await app.close();
  });

  /** Send the same request to the Radish worker and to the Celery worker, and watch both. */
  async function both(request: Omit<CeleryWatchRequest, 'queue'>, wait = 60): Promise<[CeleryWatched, CeleryWatched]> {
    const [ts, py] = await celeryWatch(h.server.url, [{ ...request, queue: 'ts' }, { ...request, queue: 'py' }], { wait });
    return [ts!, py!];
  }

  /** The message with this id and `retries: 1`, wherever it is: still queued, or reserved (unacked) by a worker. */
  async function retriedMessage(id: string, timeoutMs = 20_000): Promise<{ envelope: Envelope; foundAt: number }> {
    let found: { envelope: Envelope; foundAt: number } | undefined;
    await until(async () => {
      const unacked = (await h.redis.hvals('unacked')).map((v) => (JSON.parse(v) as [Envelope, string, string])[0]);
      const queued = (await Promise.all(['ts', 'py'].map((q) => h.redis.lrange(q, 0, -1)))).flat().map((v) => JSON.parse(v) as Envelope);
      const envelope = [...unacked, ...queued].find((e) => e.headers.id === id && e.headers.retries === 1);
      if (envelope) found = { envelope, foundAt: Date.now() / 1000 };
      return found !== undefined;
    }, `a retry message (retries 1) for task ${id}`, timeoutMs);
    return found!;
  }

  describe('retries', () => {
    it('retry(): Python sees RETRY with the exception and a traceback, then SUCCESS, and get() returns the value', async () => {
      const [ts, py] = await both({ task: 'tasks.retry_twice', args: [21] });
      show('retry_twice(21), retry({ countdown: 0.5, exc }) on attempts 0 and 1:', ts, py);
      for (const [who, w] of [['Radish', ts], ['Celery', py]] as const) {
        assert.deepEqual(stateSequence(w), ['RETRY', 'SUCCESS'], `on ${who} Python saw ${seen(w)}`);
        for (const r of w.polled.filter((p) => p.state === 'RETRY')) {
          assert.equal(r.info.exc_type, 'RuntimeError', `on ${who}: .info while RETRY is ${JSON.stringify(r.info)}`);
          assert.equal(r.info.exc_module, 'builtins', `on ${who}: Python rebuilt its own RuntimeError`);
          assert.match(String(r.info.exc_message?.[0]), /^attempt [01]$/);
          assert.match(r.traceback ?? '', /attempt [01]/, `on ${who}: AsyncResult.traceback while RETRY`);
        }
        assert.deepEqual(w.get, { value: { value: 42, retries: 2 } }, `on ${who}: get()`);
        assert.ok(w.date_done !== null && w.date_done >= w.sent_at, `on ${who}: date_done`);
      }
      // Every stored state, published in order: the same on both (ids, traceback text and times aside).
      assert.deepEqual(publishedView(ts), publishedView(py));
      assert.deepEqual(publishedView(ts).map((p) => (p as { status: string }).status), ['RETRY', 'RETRY', 'SUCCESS']);
    });

    it('autoretryFor with maxRetries 2: Python sees RETRY, then FAILURE with the original exception', async () => {
      const [ts, py] = await both({ task: 'tasks.autoretry_always' });
      show('autoretry_always(), always raises ConnectionError, maxRetries 2:', ts, py);
      for (const [who, w] of [['Radish', ts], ['Celery', py]] as const) {
        assert.deepEqual(stateSequence(w), ['RETRY', 'FAILURE'], `on ${who} Python saw ${seen(w)}`);
        for (const r of w.polled.filter((p) => p.state === 'RETRY')) {
          assert.equal(r.info.exc_type, 'ConnectionError', `on ${who}: .info while RETRY is ${JSON.stringify(r.info)}`);
          assert.match(String(r.info.exc_message?.[0]), /^down [01]$/);
        }
        // Retries exhausted: the task's own error, not MaxRetriesExceededError.
        assert.deepEqual(raised(w), { exc_type: 'ConnectionError', exc_module: 'builtins', exc_message: ['down 2'] }, `on ${who}: get() raised ${JSON.stringify(w.get)}`);
        assert.equal(w.state, 'FAILURE');
      }
      assert.deepEqual(publishedView(ts), publishedView(py));
      assert.deepEqual(publishedView(ts).map((p) => (p as { status: string }).status), ['RETRY', 'RETRY', 'FAILURE']);
      // Backoff 0.5 s without jitter: the retries waited at least 0.5 s, then 1 s.
      assert.equal(attempts.length, 3, 'three attempts on Radish');
      assert.ok(attempts[1]! - attempts[0]! >= 0.5 - CLOCK_SLACK, `first backoff ${attempts[1]! - attempts[0]!} s`);
      assert.ok(attempts[2]! - attempts[1]! >= 1 - CLOCK_SLACK, `second backoff ${attempts[2]! - attempts[1]!} s`);
    });

    it('the retry message Radish republishes is Celery-shaped, and a Celery worker runs it as its own retry', async () => {
      const tsId = randomUUID();
      const pyId = randomUUID();
      const request = { task: 'tasks.retry_handoff', args: [7], kwargs: { tag: 'x' } };
      const watching = celeryWatch(h.server.url, [{ ...request, queue: 'ts', task_id: tsId }, { ...request, queue: 'py', task_id: pyId }], { wait: 60 });
      watching.catch(() => undefined); // awaited below; do not let an early failure go unhandled meanwhile
      // Both retries wait 3 s for their ETA, reserved (unacked) by the worker that republished them.
      const [fromRadish, fromCelery] = await Promise.all([retriedMessage(tsId), retriedMessage(pyId)]);
      // Hand Radish's retry over to Celery: a warm shutdown gives the waiting message back to `ts` ...
      await radish!.stop();
      assert.equal(log.some((l) => /handoff/.test(l) && /succeeded/.test(l)), false, 'Radish had not run the retry yet');
      // ... where a Celery worker takes it.
      celery.push(await startCeleryWorker(h.server.url, { queues: ['ts'], concurrency: 1, pool: 'solo' }));
      const [ts, py] = await watching;
      show('retry_handoff(7, tag="x"): attempt 0 retries with countdown 3 (on Radish), attempt 1 runs on Celery:', ts!, py!);

      // The envelope: Celery's keys in Celery's order, headers as in the captured fixture. Radish's retry is a new
      // send, stamped (radish_sent_at, after the rest; Celery writes none): compared without it.
      const { radish_sent_at: sentAt, ...radishHeaders } = fromRadish.envelope.headers;
      assert.equal(typeof sentAt, 'number');
      assert.equal(Object.keys(fromRadish.envelope.headers).at(-1), 'radish_sent_at');
      const r = { ...fromRadish.envelope, headers: radishHeaders };
      const c = fromCelery.envelope;
      assert.deepEqual(Object.keys(r), Object.keys(c));
      assert.deepEqual(Object.keys(r.headers), Object.keys(c.headers));
      const layout = celeryLayout(version);
      assert.deepEqual(Object.keys(r.headers), Object.keys(retryFixture(layout).headers));
      const headers = (e: Envelope, id: string) => {
        assert.match(String(e.headers.eta), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/, 'eta is ISO-8601 with an offset');
        assert.match(String(e.headers.origin), /^gen\d+@/);
        return JSON.parse(JSON.stringify({ ...e.headers, eta: '<eta>', origin: '<origin>' }).split(id).join('<id>')) as unknown;
      };
      assert.deepEqual(headers(r, tsId), headers(c, pyId));
      assert.deepEqual(headers(r, tsId), {
        lang: 'py', task: 'tasks.retry_handoff', id: '<id>', shadow: null, eta: '<eta>', expires: null, group: null,
        group_index: null, retries: 1, timelimit: [null, null], root_id: '<id>', parent_id: '<id>', argsrepr: '(7,)',
        kwargsrepr: "{'tag': 'x'}", origin: '<origin>', ignore_result: false,
        ...(layout === '5.3' ? { replaced_task_nesting: 0, stamped_headers: null, stamps: {} } : {}),
      });
      // Properties: Celery's. Celery 5.2 leaks two request fields into them (WIRE_FORMAT.md §2), which Radish leaves
      // out; from 5.3 on only `origin` leaks, and Radish writes it there too.
      const leaked = new Set(layout === '5.2' ? ['replaced_task_nesting', 'origin'] : []);
      assert.deepEqual(Object.keys(r.properties).filter((k) => k !== 'expiration'), Object.keys(c.properties).filter((k) => !leaked.has(k)));
      assert.equal(r.properties.correlation_id, tsId);
      assert.deepEqual(r.properties.delivery_info, { exchange: '', routing_key: 'ts' });
      assert.deepEqual([r.properties.priority, r.properties.delivery_mode, r.properties.body_encoding], [c.properties.priority, c.properties.delivery_mode, c.properties.body_encoding]);
      const body = (e: Envelope): unknown => JSON.parse(Buffer.from(e.body, 'base64').toString('utf8'));
      assert.deepEqual(body(r), body(c));
      assert.deepEqual(body(r), [[7], { tag: 'x' }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
      // The ETA is the countdown after the failed attempt: after sending + 3 s, before we found it + 3 s.
      for (const [who, m, w] of [['Radish', fromRadish, ts!], ['Celery', fromCelery, py!]] as const) {
        const eta = Date.parse(String(m.envelope.headers.eta)) / 1000;
        assert.ok(eta >= w.sent_at + 3 - CLOCK_SLACK && eta <= m.foundAt + 3 + CLOCK_SLACK, `${who}'s retry ETA ${eta}: sent ${w.sent_at}, found ${m.foundAt}`);
      }

      // What Python saw: RETRY, then SUCCESS from the Celery worker, which read Radish's message as a retry.
      for (const [who, w, id, m] of [['Radish', ts!, tsId, fromRadish], ['Celery', py!, pyId, fromCelery]] as const) {
        assert.deepEqual(stateSequence(w), ['RETRY', 'SUCCESS'], `retried on ${who}: Python saw ${seen(w)}`);
        const retry = w.polled.find((p) => p.state === 'RETRY')!;
        assert.deepEqual(retry.info, { exc_type: 'RuntimeError', exc_module: 'builtins', exc_message: ['handoff 0'] });
        assert.match(retry.traceback ?? '', /handoff 0/);
        const v = value(w) as Record<string, unknown>;
        assert.deepEqual({ ...v, at: undefined }, {
          by: 'celery', x: 7, tag: 'x', at: undefined, id, retries: 1, parent_id: id, root_id: id, eta: m.envelope.headers.eta,
        }, `the second attempt of the task retried on ${who}`);
        const eta = Date.parse(String(m.envelope.headers.eta)) / 1000;
        assert.ok((v.at as number) >= eta - CLOCK_SLACK, `ran at ${String(v.at)}, not before its ETA ${eta}`);
      }
      assert.deepEqual(publishedView(ts!, { values: false }), publishedView(py!, { values: false }));
    });

    it('a retry keeps the link, link_error, chain, group, shadow and reply_to of the call, as Celery\'s retry does', async () => {
      const tsId = randomUUID();
      const pyId = randomUUID();
      // Callbacks go to a queue nobody consumes: only the messages matter here.
      const sig = (tag: string) => ({ task: 'tasks.stamp', args: [tag], kwargs: {}, options: { queue: 'sink' }, subtask_type: null, immutable: true });
      const options = {
        link: sig('linked'), link_error: sig('errback'), chain: [sig('chained')],
        group_id: `group-${randomUUID()}`, group_index: 1, shadow: 'handoff-alias', reply_to: `caller-${randomUUID()}`,
      };
      const request = { task: 'tasks.retry_handoff', args: [1], options };
      await celerySend(h.server.url, [{ ...request, queue: 'ts', task_id: tsId }, { ...request, queue: 'py', task_id: pyId }]);
      const [fromRadish, fromCelery] = await Promise.all([retriedMessage(tsId), retriedMessage(pyId)]);
      const r = fromRadish.envelope;
      const c = fromCelery.envelope;
      const body = (e: Envelope) => JSON.parse(Buffer.from(e.body, 'base64').toString('utf8')) as [unknown[], unknown, unknown];
      const kept = (e: Envelope) => ({
        embed: body(e)[2], group: e.headers.group, group_index: e.headers.group_index, shadow: e.headers.shadow, reply_to: e.properties.reply_to,
      });
      // Celery's own retry, as a sanity check of the request, then Radish's against it.
      assert.deepEqual(kept(c).reply_to, options.reply_to);
      assert.deepEqual([kept(c).group, kept(c).group_index, kept(c).shadow], [options.group_id, 1, 'handoff-alias']);
      assert.deepEqual(kept(r), kept(c), 'Radish\'s retry message keeps what Celery\'s keeps');
    });
  });

  describe('ETA', () => {
    it('a task with an ETA runs not before it, and waits without holding a slot: a later task runs meanwhile', async () => {
      // More ETA tasks than the Radish worker's prefetch (concurrency 1 x 4), then one to run at once.
      const etas = Array.from({ length: 6 }, (_, i): Omit<CeleryWatchRequest, 'queue'> => ({ task: 'tasks.stamp', args: [`eta${i}`], eta_in: 3 }));
      const requests = [...etas, { task: 'tasks.stamp', args: ['after'] }];
      const watched = await celeryWatch(h.server.url, [
        ...requests.map((r) => ({ ...r, queue: 'ts' })), ...requests.map((r) => ({ ...r, queue: 'py' })),
      ], { wait: 60 });
      const ts = watched.slice(0, requests.length);
      const py = watched.slice(requests.length);
      const order = (ws: CeleryWatched[]) => ws.map((w) => value(w) as { tag: string; at: number }).sort((a, b) => a.at - b.at).map((v) => v.tag);
      console.log(`      6 x stamp(eta in 3 s), then stamp('after'), concurrency 1\n        on Radish: ran ${order(ts).join(', ')}; eta0: ${seen(ts[0]!)}\n        on Celery: ran ${order(py).join(', ')}; eta0: ${seen(py[0]!)}`);
      for (const [who, ws] of [['Radish', ts], ['Celery', py]] as const) {
        const after = ws[ws.length - 1]!;
        const firstEta = Math.min(...ws.slice(0, -1).map((w) => w.eta!));
        assert.ok((value(after) as { at: number }).at < firstEta, `on ${who} the task sent after the ETA tasks ran before their ETA`);
        for (const w of ws.slice(0, -1)) {
          assert.deepEqual(stateSequence(w), ['SUCCESS'], `on ${who} Python saw ${seen(w)}`);
          const v = value(w) as { at: number };
          assert.ok(v.at >= w.eta! - CLOCK_SLACK, `on ${who} an ETA task ran at ${v.at}, before its ETA ${w.eta}`);
          assert.ok(w.date_done !== null && w.date_done >= w.eta! - CLOCK_SLACK, `on ${who} date_done ${w.date_done} before the ETA ${w.eta}`);
        }
        assert.equal(order(ws)[0], 'after');
      }
      assert.deepEqual(ts.map(stateSequence), py.map(stateSequence));
      assert.deepEqual(ts.map((w) => publishedView(w, { values: false })), py.map((w) => publishedView(w, { values: false })));
    });
  });

  describe('expiry', () => {
    async function expectRevokedUnrun(label: string, request: Omit<CeleryWatchRequest, 'queue' | 'args'>): Promise<void> {
      const [ts, py] = await celeryWatch(h.server.url, [
        { ...request, args: ['ts'], queue: 'ts' }, { ...request, args: ['py'], queue: 'py' },
        // A control with an expiry well ahead: it must run.
        { task: 'tasks.mark', args: ['ts-fresh'], queue: 'ts', expires_in: 120 }, { task: 'tasks.mark', args: ['py-fresh'], queue: 'py', expires_in: 120 },
      ], { wait: 60 });
      show(label, ts!, py!);
      for (const [who, w] of [['Radish', ts!], ['Celery', py!]] as const) {
        assert.deepEqual(stateSequence(w), ['REVOKED'], `on ${who} Python saw ${seen(w)}`);
        assert.deepEqual(raised(w), { exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions', exc_message: ['expired'] }, `on ${who} get() did ${JSON.stringify(w.get)}`);
      }
      assert.deepEqual(publishedView(ts!), publishedView(py!));
      assert.deepEqual(await h.redis.hgetall('interop:ran'), { 'ts-fresh': '1', 'py-fresh': '1' }, 'only the unexpired tasks ran');
      // Revoked means handled: neither worker keeps the message.
      await poll(async () => (await h.redis.hlen('unacked')) === 0, 5000, 20);
      assert.equal(await h.redis.hlen('unacked'), 0);
    }

    it('a task that expired before it arrived ends REVOKED without running; get() raises TaskRevokedError', async () => {
      await expectRevokedUnrun('mark(), expires 10 s in the past:', { task: 'tasks.mark', expires_in: -10 });
    });

    it('a task that expires while it waits for its ETA ends REVOKED without running', async () => {
      await expectRevokedUnrun('mark(), eta in 2 s, expires in 1 s:', { task: 'tasks.mark', eta_in: 2, expires_in: 1 });
    });
  });
});
