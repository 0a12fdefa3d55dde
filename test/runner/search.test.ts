/**
 * Search inside tasks and bulk actions, on a real redis-server: 3,000 tasks run through a real Radish worker with
 * events on (some failing with two exception types), recorded by a Monitor into the task history. Every query form
 * returns exactly the ids expected from what was sent; the caps say when they cut a search short; bulk retry,
 * discard and revoke act on exactly the tasks (up to the limit) and touch nothing else. Once more with RabbitMQ as
 * the broker (a vhost of its own) and results on Redis, for the failures.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { Control } from '../../runner/control';
import { Inspector } from '../../runner/inspector';
import { createLogger } from '../../runner/log';
import { Monitor } from '../../runner/monitor/monitor';
import { discardFailures, retryFailures, retryTasks, revokeTasks, isUnfinished, bulkSummary, retryCandidates, revokeCandidates, type BulkOutcome } from '../../runner/monitor/bulk';
import { failedEntryId, parseQuery, searchFailures, searchHistory, searchSummary, type FailedLetter, type FailureSource } from '../../runner/monitor/search';
import { TaskHistory } from '../../runner/monitor/history';
import { Keys } from '../../runner/broker/keys';
import type { CeleryEvent } from '../../runner/protocol/event';
import { decodeTaskMessage } from '../../runner/protocol/message';
import { Worker } from '../../runner/worker/worker';
import { rabbitVhost } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

class TimeoutError extends Error {
  override name = 'TimeoutError';
}
class ValueError extends Error {
  override name = 'ValueError';
}

/** What one sent task was: enough to compute every query's expected ids. */
interface Sent {
  id: string;
  n: number;
  name: string;
  order: string;
  customer: string;
  outcome: 'ok' | 'timeout' | 'value';
}

/** Order n's fate: every 10th from 3 times out, every 10th from 7 is a bad value, the rest succeed. */
function outcomeOf(n: number): Sent['outcome'] {
  return n % 10 === 3 ? 'timeout' : n % 10 === 7 ? 'value' : 'ok';
}

function defineTasks(app: Radish): void {
  app.task('orders.process', (order: string, customer: string) => {
    const n = Number(order.slice('order-'.length));
    if (outcomeOf(n) === 'timeout') throw new TimeoutError(`order ${order} for ${customer} timed out`);
    if (outcomeOf(n) === 'value') throw new ValueError(`order ${order} is not valid`);
    return `done ${order}`;
  });
  app.task('emails.send', (to: string) => `sent to ${to}`);
}

/** Send `count` tasks: orders (kwargs customer c-<n/10 mod 5>, so every fate has every customer), and every 6th an email. */
async function sendAll(app: Radish, count: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  const calls: Promise<void>[] = [];
  for (let n = 0; n < count; n++) {
    const order = `order-${n}`;
    const customer = `c-${Math.floor(n / 10) % 5}`;
    const isEmail = n % 6 === 5;
    calls.push((async () => {
      const r = isEmail ? await app.send('emails.send', [`${order}@example.com`]) : await app.send('orders.process', [order], { customer });
      sent.push({ id: r.id, n, name: isEmail ? 'emails.send' : 'orders.process', order, customer, outcome: isEmail ? 'ok' : outcomeOf(n) });
    })());
    if (calls.length >= 200) await Promise.all(calls.splice(0));
  }
  await Promise.all(calls);
  return sent;
}

const CLI = resolve(__dirname, '../../dist/radish.js');

/** Run the built CLI: its exit code and output. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const ids = (xs: readonly { id: string }[]): string[] => xs.map((x) => x.id).sort();

describe('search inside tasks and bulk actions (real Redis, a real worker, 3,000 tasks)', function () {
  this.timeout(120_000);
  const COUNT = 3000;
  const redis = redisHarness({ flush: false });
  let app: Radish;
  let monitor: Monitor;
  let worker: Worker | undefined;
  let inspector: Inspector;
  let sent: Sent[];

  const startWorker = async (on = app): Promise<Worker> => {
    worker = new Worker(on, { logger: createLogger('error', () => undefined), hostname: 'search@test', events: true, concurrency: 100 });
    await worker.start();
    return worker;
  };

  before(async () => {
    app = new Radish({ broker: redis.server.url });
    defineTasks(app);
    monitor = Monitor.forApp(app);
    await monitor.start();
    inspector = new Inspector(app);
    const first = await startWorker();
    sent = await sendAll(app, COUNT);
    const finished = async () => (await searchHistory(monitor.history, parseQuery('state:SUCCESS,FAILURE'), { limit: 0, countAll: true })).matched;
    await until(async () => (await finished()) === COUNT, `all ${COUNT} tasks to finish in the history`, 60_000, 100);
    await first.stop();
    worker = undefined;
  });
  after(async () => {
    await worker?.stop({ cold: true });
    await monitor?.close();
    await app?.close();
  });

  const expect = (pick: (s: Sent) => boolean): string[] => ids(sent.filter(pick));
  const search = async (text: string, limit = COUNT) => searchHistory(monitor.history, parseQuery(text), { limit, countAll: true });

  it('parses the query language: fields, aliases, quotes, several states, unknown prefixes as bare words', () => {
    const q = parseQuery('args:order-42 exception:"timed out" state:failure,retry http://x Emails');
    assert.deepEqual(q.args, ['order-42']);
    assert.deepEqual(q.exc, ['timed out']);
    assert.deepEqual(q.state, [['FAILURE', 'RETRY']]);
    assert.deepEqual(q.any, ['http://x', 'emails']);
    assert.equal(q.text, 'args:order-42 exception:"timed out" state:failure,retry http://x Emails');
  });

  it('args:, kwargs:, result:, exc:, name:, state:, id: and bare words each return exactly the expected ids', async () => {
    const cases: [string, (s: Sent) => boolean][] = [
      ['args:order-42', (s) => s.order.includes('order-42')],
      ['ARGS:ORDER-42', (s) => s.order.includes('order-42')],
      ['kwargs:c-3', (s) => s.name === 'orders.process' && s.customer === 'c-3'],
      ['result:"done order-1"', (s) => s.outcome === 'ok' && s.name === 'orders.process' && s.order.startsWith('order-1')],
      ['exc:Timeout', (s) => s.outcome === 'timeout'],
      ['exc:ValueError', (s) => s.outcome === 'value'],
      ['exc:"timed out" kwargs:c-2', (s) => s.outcome === 'timeout' && s.customer === 'c-2'],
      ['name:emails', (s) => s.name === 'emails.send'],
      ['name:orders state:SUCCESS', (s) => s.name === 'orders.process' && s.outcome === 'ok'],
      ['state:FAILURE', (s) => s.outcome !== 'ok'],
      ['example.com', (s) => s.name === 'emails.send'],
      ['order-2999', (s) => s.order === 'order-2999'],
      ['state:FAILURE args:order-1 exc:valid', (s) => s.outcome === 'value' && s.order.startsWith('order-1')],
      ['args:nothing-like-this', () => false],
    ];
    for (const [text, pick] of cases) {
      const found = await search(text);
      const expected = expect(pick);
      if (!text.includes('nothing')) assert.ok(expected.length > 0, `${text} is a query that finds something`);
      assert.deepEqual(ids(found.items), expected, text);
      assert.equal(found.matched, expected.length, text);
      assert.equal(found.cutShort, undefined, text);
    }
    const one = sent.find((s) => s.n === 1234)!;
    assert.deepEqual(ids((await search(`id:${one.id.slice(0, 13)}`)).items), [one.id]);
    assert.deepEqual(ids((await search(one.id)).items), [one.id], 'a bare id');
  });

  it('the cheap name/state/id path and the scan agree, newest first', async () => {
    const q = parseQuery('name:orders state:FAILURE');
    const cheap = await searchHistory(monitor.history, q, { limit: 50 });
    const scanned = await searchHistory(monitor.history, q, { limit: 50, countAll: true });
    assert.deepEqual(cheap.items.map((r) => r.id), scanned.items.map((r) => r.id));
    const times = scanned.items.map((r) => r.updated);
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
  });

  it('caps the matches returned and the tasks looked at, and says so', async () => {
    const q = parseQuery('exc:Timeout');
    const all = expect((s) => s.outcome === 'timeout');
    const first = await searchHistory(monitor.history, q, { limit: 10 });
    assert.equal(first.items.length, 10);
    assert.equal(first.matched, 11, 'stops at one more than it returns');
    assert.equal(first.cutShort, 'limit');
    assert.equal(searchSummary(first, q), 'first 10 matches of "exc:Timeout"');
    assert.ok(first.items.every((r) => all.includes(r.id)));

    const counted = await searchHistory(monitor.history, q, { limit: 10, countAll: true });
    assert.equal(counted.matched, all.length);

    const newest = await monitor.history.recent({ limit: 500 });
    const near = await searchHistory(monitor.history, q, { limit: 1000, examine: 500 });
    assert.equal(near.examined, 500);
    assert.equal(near.cutShort, 'examine');
    assert.equal(searchSummary(near, q), 'searched the last 500 tasks');
    assert.deepEqual(ids(near.items), ids(newest.filter((r) => all.includes(r.id))), 'exactly the matches among the newest 500');
  });

  it('searches the failures (dead letters with their stored FAILURE) with the same terms', async () => {
    const timeouts = await searchFailures(inspector, parseQuery('exc:Timeout'), { limit: COUNT, countAll: true });
    assert.deepEqual(timeouts.items.map((e) => failedEntryId(e)!).sort(), expect((s) => s.outcome === 'timeout'));
    assert.ok(timeouts.items.every((e) => e.kind === 'letter' && e.meta?.status === 'FAILURE'), 'one row per failure, holding both');
    const some = await searchFailures(inspector, parseQuery('args:order-42 kwargs:c-2'), { limit: COUNT, countAll: true });
    assert.deepEqual(some.items.map((e) => failedEntryId(e)!).sort(), expect((s) => s.outcome !== 'ok' && s.order.includes('order-42') && s.customer === 'c-2'));
    const capped = await searchFailures(inspector, parseQuery('state:FAILURE'), { limit: 5 });
    assert.equal(capped.items.length, 5);
    assert.equal(capped.cutShort, 'limit');
  });

  it('bulk retry of failures: exactly the limit, as new tasks with the same arguments; the rest untouched', async () => {
    const q = parseQuery('exc:Timeout');
    const before = await searchFailures(inspector, q, { limit: COUNT, countAll: true });
    const letters = await inspector.deadLetterCount();
    const timeouts = expect((s) => s.outcome === 'timeout');
    const progress: number[] = [];
    const outcome = await retryFailures(inspector, before.items, { limit: 100, onProgress: (n) => progress.push(n) });
    assert.equal(outcome.done, 100);
    assert.equal(outcome.attempted, 100);
    assert.equal(outcome.skippedForLimit, timeouts.length - 100);
    assert.deepEqual(outcome.refused, []);
    assert.equal(progress.at(-1), 100);
    assert.equal(bulkSummary('Retried', outcome, before.matched), `Retried 100 of ${timeouts.length} matching; run again for the rest.`);
    assert.equal(await inspector.deadLetterCount(), letters - 100, 'their dead letters went, no other');
    const retried = new Set(outcome.sent.map(([was]) => was));
    assert.deepEqual([...retried].sort(), before.items.slice(0, 100).map((e) => failedEntryId(e)!).sort());
    for (const was of retried) assert.equal((await inspector.result(was))?.status ?? null, null, 'their stored FAILURE went too');
    const after = await searchFailures(inspector, q, { limit: COUNT, countAll: true });
    assert.deepEqual(after.items.map((e) => failedEntryId(e)!).sort(), timeouts.filter((id) => !retried.has(id)));
    // The new tasks wait in the queue (no worker runs): the same task and arguments, under the new ids.
    const waiting = await inspector.messages('celery', 0, 1000);
    assert.equal(waiting.length, 100);
    const byNew = new Map(outcome.sent.map(([was, now]) => [now, was]));
    for (const m of waiting) {
      const task = decodeTaskMessage(m.raw);
      const was = sent.find((s) => s.id === byNew.get(task.id))!;
      assert.ok(was, `${task.id} is one of the retries`);
      assert.deepEqual(task.args, [was.order]);
      assert.deepEqual(task.kwargs, { customer: was.customer });
    }
    await inspector.purge('celery');
  });

  it('bulk discard of failures removes exactly those, dead letters and stored results, and nothing else', async () => {
    const q = parseQuery('exc:ValueError kwargs:c-1');
    const found = await searchFailures(inspector, q, { limit: COUNT, countAll: true });
    const expected = expect((s) => s.outcome === 'value' && s.customer === 'c-1');
    assert.ok(expected.length > 10);
    assert.equal(found.matched, expected.length);
    const letters = await inspector.deadLetterCount();
    const outcome = await discardFailures(inspector, found.items, { limit: 1000 });
    assert.equal(outcome.done, expected.length);
    assert.equal(outcome.gone, 0);
    assert.equal(await inspector.deadLetterCount(), letters - expected.length);
    for (const id of expected) assert.equal(await inspector.result(id), null);
    assert.equal((await searchFailures(inspector, q, { countAll: true })).matched, 0);
    const others = await searchFailures(inspector, parseQuery('exc:ValueError'), { limit: COUNT, countAll: true });
    assert.deepEqual(others.items.map((e) => failedEntryId(e)!).sort(), expect((s) => s.outcome === 'value' && s.customer !== 'c-1'));
    // Discarding them again finds them gone, and says so.
    const again = await discardFailures(inspector, found.items);
    assert.equal(again.done, 0);
    assert.equal(again.gone, expected.length);
  });

  it('a bulk action stops between tasks when cancelled, and says how far it got', async () => {
    const q = parseQuery('exc:Timeout');
    const found = await searchFailures(inspector, q, { limit: COUNT, countAll: true });
    assert.ok(found.matched > 20);
    const letters = await inspector.deadLetterCount();
    const abort = new AbortController();
    const outcome = await discardFailures(inspector, found.items, { signal: abort.signal, onProgress: (n) => { if (n === 10) abort.abort(); } });
    assert.equal(outcome.cancelled, true);
    assert.equal(outcome.attempted, 10);
    assert.equal(outcome.done, 10);
    assert.equal(await inspector.deadLetterCount(), letters - 10);
    assert.equal(bulkSummary('Discarded', outcome, found.matched), `Discarded 10 of ${found.matched} matching; cancelled; ${found.matched - 10} left as they were.`);
  });

  it('radish dlq list|retry|discard --match: the same search and bulk actions from the command line', async () => {
    const url = redis.server.url;
    const c2 = expect((s) => s.outcome === 'value' && s.customer === 'c-2');
    assert.ok(c2.length > 2);
    const listed = await cli(['dlq', 'list', '--match', 'exc:ValueError kwargs:c-2', '--limit', '1000', '--json', '--broker', url]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { id: string }[]).map((e) => e.id).sort(), c2);
    const text = await cli(['dlq', 'list', '--match', 'exc:ValueError kwargs:c-2', '--limit', '2', '--broker', url]);
    assert.match(text.stdout, new RegExp(`${c2.length} failed task\\(s\\) match "exc:ValueError kwargs:c-2" \\(first 2 matches of`));
    assert.equal(text.stdout.split('\n').filter((l) => l.startsWith('orders.process[')).length, 2);

    const refused = await cli(['dlq', 'discard', '--match', 'kwargs:c-2 exc:ValueError', '--broker', url]);
    assert.equal(refused.code, 2, 'a bulk discard needs -f');
    assert.match(refused.stderr, /add -f/);
    const discarded = await cli(['dlq', 'discard', '--match', 'kwargs:c-2 exc:ValueError', '-f', '--broker', url]);
    assert.equal(discarded.stdout.trim(), `Discarded ${c2.length} of ${c2.length} matching.`);
    for (const id of c2) assert.equal(await inspector.result(id), null);

    const c4 = expect((s) => s.outcome === 'value' && s.customer === 'c-4');
    assert.ok(c4.length > 3);
    const retried = await cli(['dlq', 'retry', '--match', 'exc:ValueError kwargs:c-4', '--limit', '3', '--broker', url]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, new RegExp(`^Retried 3 of ${c4.length} matching; run again for the rest\\.`));
    assert.equal((await inspector.messages('celery', 0, 100)).length, 3);
    assert.equal((await searchFailures(inspector, parseQuery('exc:ValueError kwargs:c-4'), { countAll: true })).matched, c4.length - 3);
    await inspector.purge('celery');
  });

  it('bulk retry of history tasks sends each again (same name, arguments) under a new id', async () => {
    const found = await search('name:emails args:order-1');
    const expected = expect((s) => s.name === 'emails.send' && s.order.startsWith('order-1'));
    assert.deepEqual(ids(found.items), expected);
    const outcome = await retryTasks(app, inspector, found.items, { limit: 50 });
    assert.equal(outcome.done, Math.min(50, expected.length));
    assert.equal(outcome.skippedForLimit, Math.max(0, expected.length - 50));
    const waiting = (await inspector.messages('celery', 0, 1000)).map((m) => decodeTaskMessage(m.raw));
    assert.equal(waiting.length, outcome.done);
    const byNew = new Map(outcome.sent);
    assert.equal(byNew.size, outcome.done);
    for (const task of waiting) {
      const was = sent.find((s) => s.id === outcome.sent.find(([, now]) => now === task.id)?.[0]);
      assert.ok(was, `${task.id} is one of the retries`);
      assert.equal(task.name, 'emails.send');
      assert.deepEqual(task.args, [`${was.order}@example.com`]);
    }
    await inspector.purge('celery');
  });

  it('a bulk retry run twice with a limit retries the rest the second time: only failed tasks, never one twice', async () => {
    // Events on, so the copies enter the history newest first and match the filter, as they do in the window.
    const sender = new Radish({ broker: redis.server.url, sendEvents: true });
    try {
      const q = parseQuery('name:orders args:order-2');
      const failedOnes = expect((s) => s.name === 'orders.process' && s.order.startsWith('order-2') && s.outcome !== 'ok');
      assert.ok(failedOnes.length > 80, `enough failures to run twice (${failedOnes.length})`);
      const retried = new Set<string>();
      const runOnce = async (): Promise<string[]> => {
        const started = Date.now() / 1000;
        const found = await search('name:orders args:order-2');
        const chosen = retryCandidates(found.items, q, { done: (id) => retried.has(id), before: started });
        const outcome = await retryTasks(sender, inspector, chosen, { limit: 40 });
        assert.equal(outcome.done, 40);
        const copies = outcome.sent.map(([, now]) => now);
        await until(async () => (await monitor.history.load(copies)).length === copies.length, 'the copies in the history', 20_000, 50);
        for (const [was] of outcome.sent) retried.add(was);
        return outcome.sent.map(([was]) => was);
      };
      const firstRun = await runOnce();
      const secondRun = await runOnce();
      assert.equal(new Set([...firstRun, ...secondRun]).size, 80, 'the second run acted on others');
      for (const id of [...firstRun, ...secondRun]) assert.ok(failedOnes.includes(id), `${id} is a failed task of the filter`);
    } finally {
      await inspector.purge('celery');
      await sender.close();
    }
  });

  it('bulk revoke: the unfinished tasks that match are dropped by the worker that takes them; the others run', async () => {
    const sender = new Radish({ broker: redis.server.url, sendEvents: true });
    try {
      const doomed = await Promise.all(Array.from({ length: 300 }, (_, i) => sender.send('emails.send', [`revoke-me-${i}@example.com`])));
      const kept = await Promise.all(Array.from({ length: 20 }, (_, i) => sender.send('emails.send', [`keep-me-${i}@example.com`])));
      const q = parseQuery('args:revoke-me state:SENT');
      await until(async () => (await searchHistory(monitor.history, q, { countAll: true })).matched === 300, 'the task-sent events', 20_000, 50);
      const found = await searchHistory(monitor.history, q, { limit: 1000, countAll: true });
      assert.deepEqual(ids(found.items), ids(doomed));
      const control = await Control.forApp(app);
      let outcome: BulkOutcome;
      let again: BulkOutcome;
      try {
        outcome = await revokeTasks(control, revokeCandidates(found.items, { done: () => false }).map((r) => r.id), { limit: 250 });
        // Run again: the revoked tasks are still SENT in the history (no worker took them yet), and are left out.
        const revokedIds = new Set(await control.revoked.load());
        const rest = revokeCandidates((await searchHistory(monitor.history, q, { limit: 1000, countAll: true })).items, { done: (id) => revokedIds.has(id) });
        assert.deepEqual(ids(rest), ids(found.items.slice(250)));
        again = await revokeTasks(control, rest.map((r) => r.id), { limit: 250 });
      } finally {
        await control.close();
      }
      assert.equal(outcome.done, 250);
      assert.equal(outcome.skippedForLimit, 50);
      assert.equal(again.done, 50);
      const revoked = new Set(found.items.map((r) => r.id));
      // A worker of its own app, as a worker started after the revoke elsewhere would be.
      defineTasks(sender);
      await startWorker(sender);
      const all = [...doomed, ...kept];
      await until(async () => (await monitor.history.load(all.map((r) => r.id))).every((r) => !isUnfinished(r)), 'the 320 tasks to end', 30_000, 100);
      for (const record of await monitor.history.load(all.map((r) => r.id))) {
        assert.equal(record.state, revoked.has(record.id) ? 'REVOKED' : 'SUCCESS', record.id);
      }
    } finally {
      await worker?.stop({ cold: true });
      worker = undefined;
      await sender.close();
    }
  });
});

describe('search and bulk actions on failures with RabbitMQ as the broker (results on Redis)', function () {
  this.timeout(60_000);
  const rabbit = rabbitVhost();
  const redis = redisHarness();

  it('finds the failures by exception and arguments, retries and discards exactly those', async () => {
    const app = new Radish({ broker: rabbit.url, backend: redis.server.url });
    defineTasks(app);
    const worker = new Worker(app, { logger: createLogger('error', () => undefined), hostname: 'search@amqp', concurrency: 20 });
    try {
      await worker.start();
      const sent = await sendAll(app, 120);
      const failing = sent.filter((s) => s.outcome !== 'ok');
      const inspector = new Inspector(app);
      await until(async () => (await inspector.deadLetterCount()) === failing.length, 'the failures to be dead-lettered', 30_000, 100);
      await worker.stop();
      const timeouts = await searchFailures(inspector, parseQuery('exc:Timeout'), { limit: 1000, countAll: true });
      assert.deepEqual(timeouts.items.map((e) => failedEntryId(e)!).sort(), ids(sent.filter((s) => s.outcome === 'timeout')));
      const retried = await retryFailures(inspector, timeouts.items, { limit: 5 });
      assert.equal(retried.done, 5);
      const values = await searchFailures(inspector, parseQuery('exc:ValueError'), { limit: 1000, countAll: true });
      const discarded = await discardFailures(inspector, values.items);
      assert.equal(discarded.done, sent.filter((s) => s.outcome === 'value').length);
      const left = await searchFailures(inspector, parseQuery(''), { limit: 1000, countAll: true });
      const retriedIds = new Set(retried.sent.map(([was]) => was));
      assert.deepEqual(left.items.map((e) => failedEntryId(e)!).sort(), ids(sent.filter((s) => s.outcome === 'timeout' && !retriedIds.has(s.id))));
      assert.equal(await inspector.deadLetterCount(), left.matched);
    } finally {
      await worker.stop({ cold: true });
      await app.close();
    }
  });
});

describe('a search reads a live list once: tasks that enter or move meanwhile are neither repeated nor lost', function () {
  this.timeout(30_000);
  const redis = redisHarness();

  const sentEvent = (id: string, n: number, timestamp: number): CeleryEvent => ({
    type: 'task-sent', uuid: id, hostname: 'gen1@test', timestamp, utcoffset: 0, pid: 1, clock: 0, name: 'orders.process', args: `('live-${n}',)`, kwargs: '{}',
  });

  it('history: new tasks pushed in and an old task moved to the top between chunks give no duplicate and no miss', async () => {
    const base = new TaskHistory(redis.redis, new Keys('live:'));
    const first = Array.from({ length: 1200 }, (_, n) => `first-${n}`);
    await base.record(first.map((id, n) => sentEvent(id, n, 1000 + n)));
    let hooked = false;
    // What a worker writing events does while a search reads: after the first records are loaded, 300 newer tasks
    // arrive and the oldest task gets a new event (it jumps to the top).
    const history = Object.assign(Object.create(base) as TaskHistory, {
      load: async (ids: readonly string[]) => {
        const loaded = await base.load(ids);
        if (!hooked) {
          hooked = true;
          await base.record(Array.from({ length: 300 }, (_, n) => sentEvent(`late-${n}`, 5000 + n, 5000 + n)));
          await base.record([{ type: 'task-received', uuid: 'first-0', hostname: 'w@test', timestamp: 9000, utcoffset: 0, pid: 1, clock: 0, name: 'orders.process' }]);
        }
        return loaded;
      },
    });
    const found = await searchHistory(history, parseQuery('args:live'), { limit: 10_000, countAll: true });
    const seen = found.items.map((r) => r.id);
    assert.equal(new Set(seen).size, seen.length, 'no task listed twice');
    assert.equal(found.matched, seen.length);
    assert.deepEqual(seen.filter((id) => id.startsWith('first-')).sort(), [...first].sort(), 'every task there when the search began');
    // What a view's poll reads instead of searching again: the tasks changed since a time, newest first.
    const changed = await base.changedSince(5200, 1000);
    assert.deepEqual(changed.ids, ['first-0', ...Array.from({ length: 99 }, (_, i) => `late-${299 - i}`)]);
    assert.equal(changed.newest, 9000);
    assert.deepEqual(await base.changedSince(9000, 10), { ids: [] });
  });

  it('failures: letters pushed in between pages give no duplicate', async () => {
    const letter = (n: number): FailedLetter => ({
      stored: `{"n":${n}}`, record: { reason: `failed: live-${n}`, queue: 'celery', worker: 'w', time: n, raw: '' },
    });
    const list = Array.from({ length: 1200 }, (_, n) => letter(n)).reverse();
    const source: FailureSource = {
      deadLetterCount: async () => list.length,
      deadLetters: async (offset, limit) => {
        const page = list.slice(offset, offset + limit);
        list.unshift(...Array.from({ length: 100 }, (_, n) => letter(10_000 + list.length + n)));
        return page;
      },
      failedResults: async () => [],
    };
    const found = await searchFailures(source, parseQuery('live'), { limit: 10_000, countAll: true });
    const stored = found.items.map((e) => (e.kind === 'letter' ? e.letter.stored : ''));
    assert.equal(new Set(stored).size, stored.length, 'no letter listed twice');
    assert.equal(found.matched, stored.length);
    assert.ok(stored.length >= 1200, `every letter there when the search began (${stored.length})`);
  });
});
