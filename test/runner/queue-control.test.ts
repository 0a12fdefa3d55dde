/**
 * Queue control on real Radish workers: a queue paused for the fleet is no longer taken from (its messages wait in
 * it, depth exact, other queues go on), a worker started during the pause leaves it out too, and resume runs every
 * message once; the same on RabbitMQ (a vhost of its own, results and the shared store on Redis). Drain-then-stop:
 * a worker finishes what it holds, takes nothing new, and stops; what was sent meanwhile waits for another worker.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { AmqpBroker } from '../../runner/broker/amqp/amqp-broker';
import { PausedQueues } from '../../runner/broker/paused-queues';
import { encodeTaskMessage } from '../../runner/protocol/message';
import { createLogger } from '../../runner/log';
import { activeQueueNames, drainWorker, pausedQueues, pauseQueue, resumeQueue, type DrainProgress } from '../../runner/queue-control';
import { Worker, type WorkerOptions } from '../../runner/worker/worker';
import { rabbitVhost } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { delay, until } from '../support/wait';

/** The built CLI, as a user runs it. */
const CLI = resolve(__dirname, '../../dist/radish.js');

function radish(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** One broker's setup, as the scenarios need it. */
interface Bench {
  readonly app: Radish;
  start(options: WorkerOptions): Promise<Worker>;
  /** Messages waiting in a queue now. */
  depth(queue: string): Promise<number>;
}

/** Which task ids ran, how many times each. */
type Runs = Map<string, number>;

function defineTasks(app: Radish, runs: Runs): void {
  app.task('tasks.rec', { bind: true }, (task) => {
    runs.set(task.request.id, (runs.get(task.request.id) ?? 0) + 1);
    return task.request.queue;
  });
}

/** A bench per test: an app on the broker, workers logged and stopped after. */
function bench(brokerUrl: () => string, backendUrl: () => string | undefined): Bench & { runs: Runs; lines: string[] } {
  let app: Radish | undefined;
  let workers: Worker[] = [];
  const runs: Runs = new Map();
  const lines: string[] = [];
  beforeEach(() => {
    runs.clear();
    lines.length = 0;
    const backend = backendUrl();
    app = new Radish({ broker: brokerUrl(), ...(backend ? { backend } : {}) });
    defineTasks(app, runs);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ cold: true })));
    workers = [];
    await app?.close();
  });
  return {
    runs, lines,
    get app() { return app!; },
    async start(options) {
      const w = new Worker(app!, { logger: createLogger('info', (l) => lines.push(l)), hostname: `w${workers.length + 1}@qc`, ...options });
      workers.push(w);
      await w.start();
      return w;
    },
    async depth(queue) {
      const [d] = await (await app!.broker()).depths([queue]);
      return d?.total ?? 0;
    },
  };
}

/** The pause / resume scenario on two queues of fresh names (a vhost's queues outlive a test). */
function pauseScenario(b: Bench & { runs: Runs }): void {
  it('pause: no new task of the queue starts, its messages wait (depth exact), the other queue runs; a worker started later leaves it out; resume runs each once', async () => {
    const [qa, qb] = [`a-${randomUUID().slice(0, 8)}`, `b-${randomUUID().slice(0, 8)}`];
    await b.start({ queues: [qa, qb], concurrency: 2 });
    await b.start({ queues: [qa, qb], concurrency: 2 });
    const warm = await Promise.all([qa, qb, qa, qb].map((queue) => b.app.send('tasks.rec', [], {}, { queue })));
    for (const r of warm) await r.get({ timeout: 10_000 });

    const paused = await pauseQueue(b.app, qa);
    assert.deepEqual(paused.radish, ['w1@qc', 'w2@qc'], 'both workers confirmed the pause');
    assert.deepEqual(paused.celery, []);
    assert.equal(paused.alreadyPaused, false);
    assert.deepEqual((await pausedQueues(b.app)).map((p) => p.queue), [qa]);

    const waiting = await Promise.all([1, 2, 3, 4, 5].map(() => b.app.send('tasks.rec', [], {}, { queue: qa })));
    const others = await Promise.all([1, 2, 3].map(() => b.app.send('tasks.rec', [], {}, { queue: qb })));
    for (const r of others) assert.equal(await r.get({ timeout: 10_000 }), qb);
    // Longer than a worker's periodic read of the paused queues: nothing changes with it either.
    await delay(1200);
    assert.equal(await b.depth(qa), 5, 'every message sent after the pause waits in the queue');
    for (const r of waiting) assert.equal(b.runs.get(r.id), undefined, `task ${r.id} did not start`);

    const late = await b.start({ queues: [qa, qb] });
    assert.deepEqual(late.pausedQueues, [qa], 'a worker started during the pause knows it');
    assert.equal(await (await b.app.send('tasks.rec', [], {}, { queue: qb })).get({ timeout: 10_000 }), qb);
    await delay(300);
    assert.equal(await b.depth(qa), 5, 'the worker started later did not take from the paused queue');

    const again = await pauseQueue(b.app, qa);
    assert.equal(again.alreadyPaused, true, 'pausing again is no error');

    const resumed = await resumeQueue(b.app, qa);
    assert.equal(resumed.wasPaused, true);
    assert.deepEqual(resumed.radish, ['w1@qc', 'w2@qc', 'w3@qc']);
    for (const r of waiting) assert.equal(await r.get({ timeout: 10_000 }), qa);
    assert.equal(await b.depth(qa), 0);
    assert.deepEqual(await pausedQueues(b.app), []);
    const all = [...warm, ...waiting, ...others];
    for (const r of all) assert.equal(b.runs.get(r.id), 1, `task ${r.id} ran once`);
  });

  it('a pause recorded while a worker missed the broadcast reaches it within a second, and so does its end', async () => {
    const qa = `a-${randomUUID().slice(0, 8)}`;
    const w = await b.start({ queues: [qa] });
    const store = new PausedQueues((await b.app.sharedStore())!);
    await store.set({ queue: qa, since: Math.floor(Date.now() / 1000), cancelled: [] });
    await until(() => w.pausedQueues.includes(qa), 'the worker to read the pause', 3000);
    // The fetch under way when it read it (at most 100 ms) may still take from the queue; a second is plenty.
    await delay(1000);
    const r = await b.app.send('tasks.rec', [], {}, { queue: qa });
    await delay(500);
    assert.equal(await b.depth(qa), 1, 'not taken while paused');
    await store.remove(qa);
    assert.equal(await r.get({ timeout: 5000 }), qa, 'taken once the record is gone');
  });
}

/** A pause on a worker of two queues busy with a blocking task: what it took still runs, the rest waits. */
function busyPauseScenario(b: Bench & { runs: Runs }): void {
  it('pause on a busy worker of two queues: the messages it has not taken stay in the queue (depth = sent - held) and none runs until resume', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    b.app.task('tasks.block', async () => { await gate; return 'unblocked'; });
    const [qa, qb] = [`a-${randomUUID().slice(0, 8)}`, `b-${randomUUID().slice(0, 8)}`];
    const w = await b.start({ queues: [qa, qb], concurrency: 1 });
    const blocking = await b.app.send('tasks.block', [], {}, { queue: qa });
    await until(() => w.stats.active === 1, 'the blocking task to run');
    const sent = await Promise.all(Array.from({ length: 10 }, () => b.app.send('tasks.rec', [], {}, { queue: qa })));
    await until(async () => w.stats.reserved > 0 && w.stats.reserved + await b.depth(qa) === 10, 'the worker to take its prefetch');

    const paused = await pauseQueue(b.app, qa);
    assert.deepEqual(paused.radish, ['w1@qc']);
    const held = w.stats.reserved;
    assert.equal(await b.depth(qa), 10 - held, 'what the worker had not taken is back in the queue');
    release();
    assert.equal(await blocking.get({ timeout: 10_000 }), 'unblocked');
    await until(() => w.stats.active === 0 && w.stats.reserved === 0, 'what the worker held to run');
    await delay(1200);
    assert.equal(await b.depth(qa), 10 - held, 'nothing more taken during the pause');
    assert.equal(sent.filter((r) => b.runs.has(r.id)).length, held, 'only what the worker held ran during the pause');

    await resumeQueue(b.app, qa);
    for (const r of sent) assert.equal(await r.get({ timeout: 10_000 }), qa);
    for (const r of sent) assert.equal(b.runs.get(r.id), 1, `task ${r.id} ran once`);
  });

  it('a pause confirmed twice at once (the broadcast and the periodic read) is confirmed by neither before the fetch under way ended', async () => {
    const [qa, qb] = [`a-${randomUUID().slice(0, 8)}`, `b-${randomUUID().slice(0, 8)}`];
    const w = await b.start({ queues: [qa, qb] });
    // An idle worker is in a fetch nearly all the time (each waits up to 100 ms): the first call waits for its end.
    let firstDone = false;
    const first = w.setQueuePaused(qa, true).then((changed) => { firstDone = true; return changed; });
    assert.equal(await w.setQueuePaused(qa, true), false, 'the second changes nothing');
    assert.equal(firstDone, true, 'the second resolved only once the first (its fetch ended, its consumer stopped) had');
    assert.equal(await first, true);
  });
}

/** Drain-then-stop of one worker holding a running task and two reserved ones. */
function drainScenario(b: Bench): void {
  it('drain-then-stop: the worker finishes what it holds (running and reserved), takes nothing new, and stops; what was sent meanwhile waits for another worker', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const held: Runs = new Map();
    b.app.task('tasks.hold', { bind: true }, async (task) => {
      held.set(task.request.id, (held.get(task.request.id) ?? 0) + 1);
      await gate;
      return 'done';
    });
    const [qc, qo] = [`c-${randomUUID().slice(0, 8)}`, `o-${randomUUID().slice(0, 8)}`];
    const w1 = await b.start({ queues: [qc, qo], concurrency: 1 });
    const first = await Promise.all([1, 2, 3].map(() => b.app.send('tasks.hold', [], {}, { queue: qc })));
    await until(() => w1.stats.active === 1 && w1.stats.reserved === 2, 'one running, two reserved');

    const progress: DrainProgress[] = [];
    const draining = drainWorker(b.app, 'w1@qc', { interval: 0.2, onProgress: (p) => progress.push(p) });
    await until(() => progress.length > 0, 'the first poll');
    assert.deepEqual([progress[0]!.active, progress[0]!.reserved], [1, 2]);
    const meanwhile = await Promise.all([1, 2].map(() => b.app.send('tasks.hold', [], {}, { queue: qc })));
    await delay(300);
    assert.equal(await b.depth(qc), 2, 'sent during the drain: left in the queue');
    release();
    const outcome = await draining;
    assert.deepEqual(outcome.queues, [qc, qo]);
    assert.equal(outcome.drained, true);
    assert.equal(outcome.stopped, true);
    for (const r of first) assert.equal(await r.get({ timeout: 5000 }), 'done');
    assert.equal(await b.depth(qc), 2, 'nothing taken after the drain began');
    for (const r of meanwhile) assert.equal(held.get(r.id), undefined);

    await b.start({ queues: [qc] });
    for (const r of meanwhile) assert.equal(await r.get({ timeout: 5000 }), 'done');
    for (const r of [...first, ...meanwhile]) assert.equal(held.get(r.id), 1, `task ${r.id} ran once`);
  });
}

describe('queue control on Radish workers (Redis)', function () {
  this.timeout(60_000);
  const redis = redisHarness();
  const b = bench(() => redis.server.url, () => undefined);

  pauseScenario(b);
  busyPauseScenario(b);
  drainScenario(b);

  it('the periodic read of the paused queues does not pile up while Redis does not answer', async () => {
    await b.start({ queues: ['qs'] });
    const hkeys = async (): Promise<number> => {
      const info = await redis.redis.info('commandstats');
      return Number(/cmdstat_hkeys:calls=(\d+)/.exec(info)?.[1] ?? 0);
    };
    const before = await hkeys();
    // Redis holds every client's commands for 3.5 s: a read a second without a guard queues three or four.
    await redis.redis.call('CLIENT', 'PAUSE', '3500', 'ALL');
    await delay(3800);
    const during = (await hkeys()) - before;
    assert.ok(during <= 2, `one read under way at a time (and perhaps the next, after): ${during} reads`);
  });

  it('activeQueueNames: the queue names of an active_queues reply, whatever else it holds', () => {
    assert.deepEqual(activeQueueNames([{ name: 'a', exchange: {} }, { name: 2 }, 'b', null, { name: 'c' }]), ['a', 'c']);
    assert.deepEqual(activeQueueNames({ name: 'a' }), []);
    assert.deepEqual(activeQueueNames(undefined), []);
  });

  it('refuses a pause without a queue name', async () => {
    await assert.rejects(pauseQueue(b.app, ''), /queue name/);
  });

  it('a damaged pause record still pauses the queue (since unknown), and resume removes it', async () => {
    const store = (await b.app.sharedStore())!;
    await store.redis.hset(store.keys.pausedQueues, 'qx', 'not json');
    assert.deepEqual(await pausedQueues(b.app), [{ queue: 'qx', since: 0, cancelled: [] }]);
    const w = await b.start({ queues: ['qx'] });
    assert.deepEqual(w.pausedQueues, ['qx']);
    assert.equal((await resumeQueue(b.app, 'qx')).wasPaused, true);
    assert.deepEqual(w.pausedQueues, []);
  });

  it('the CLI: control pause_queue, inspect queues shows it, resume_queue, drain; usage errors', async () => {
    const w = await b.start({ queues: ['q1'] });
    const env = { RADISH_BROKER_URL: redis.server.url };
    const paused = await radish(['control', 'pause_queue', 'q1'], env);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /^Queue q1 paused: its messages wait in it\.$/m);
    assert.match(paused.stdout, /Radish workers no longer taking from it: w1@qc$/m);
    assert.match(paused.stdout, /A Celery worker started from now on consumes it/);
    assert.deepEqual(w.pausedQueues, ['q1']);
    const listed = JSON.parse((await radish(['inspect', 'queues', '-Q', 'q1', '--json'], env)).stdout) as { paused: string[] };
    assert.deepEqual(listed.paused, ['q1']);
    const resumed = await radish(['control', 'resume_queue', 'q1', '--json'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(JSON.parse(resumed.stdout), { queue: 'q1', wasPaused: true, radish: ['w1@qc'], radishUnconfirmed: [], celery: [] });
    assert.deepEqual(w.pausedQueues, []);

    const noNode = await radish(['control', 'drain'], env);
    assert.equal(noNode.code, 2);
    assert.match(noNode.stderr, /usage: radish control drain -d NODE/);
    const noQueue = await radish(['control', 'pause_queue'], env);
    assert.equal(noQueue.code, 2);
    assert.match(noQueue.stderr, /usage: radish control pause_queue QUEUE/);

    const misplaced = await radish(['control', 'pause_queue', 'q1', '--drain-timeout', '5'], env);
    assert.equal(misplaced.code, 2);
    assert.match(misplaced.stderr, /--drain-timeout is for control drain only/);
    // -t is the reply wait there as for every control command; the drain's own deadline is --drain-timeout.
    const drained = await radish(['control', 'drain', '-d', 'w1@qc', '-t', '3', '--drain-timeout', '30'], env);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /^w1@qc: 0 running, 0 reserved, 0 scheduled/m);
    assert.match(drained.stdout, /Cancelled its queues \(q1\); w1@qc finished what it held, and stopped\.$/m);
  });

  it('drain of a node that does not answer fails with a clear error', async () => {
    await assert.rejects(drainWorker(b.app, 'nobody@nowhere', { replyTimeout: 0.5 }), /nobody@nowhere did not answer/);
  });
});

describe('queue control on Radish workers (RabbitMQ, results on Redis)', function () {
  this.timeout(60_000);
  const rabbit = rabbitVhost();
  const redis = redisHarness();
  const b = bench(() => rabbit.url, () => redis.server.url);

  pauseScenario(b);
  busyPauseScenario(b);
  drainScenario(b);

  it('the broker gives back what a cancelled queue delivered and no reserve took, even when the next reserve (without it) came first', async () => {
    const [qa, qb] = [`a-${randomUUID().slice(0, 8)}`, `b-${randomUUID().slice(0, 8)}`];
    const broker = await AmqpBroker.connect({ url: rabbit.url }, { warn: () => undefined });
    try {
      broker.setPrefetch(10);
      for (let i = 0; i < 10; i++) {
        await broker.publish(qa, 0, encodeTaskMessage({ id: `m${i}`, name: 'tasks.rec', args: [], kwargs: {}, queue: qa, priority: 0, eta: null, expires: null },
          { origin: 'test@qc', replyTo: 'r', deliveryTag: 't' }));
      }
      const got = [];
      const deadline = Date.now() + 5000;
      while (got.length === 0 && Date.now() < deadline) got.push(...await broker.waitAndReserve([qa, qb], 1, 'w@qc'));
      assert.equal(got.length, 1);
      await until(async () => (await broker.depths([qa]))[0]!.total === 0, 'RabbitMQ to deliver the other nine');
      // The worker's next fetch, without the paused queue, runs before its stopTaking reaches stopConsuming.
      const [next] = await Promise.all([broker.reserve([qb], 5, 'w@qc'), broker.stopConsuming(qa)]);
      assert.deepEqual(next.map((d) => d.queue), [], 'nothing of the cancelled queue handed out');
      assert.equal((await broker.depths([qa]))[0]!.total, 9, 'the nine not taken are back in the queue');
      // And a reserve for a list without a queue whose entries are still buffered gives those back too.
      await broker.reserve([qa, qb], 0, 'w@qc');
      await until(async () => (await broker.depths([qa]))[0]!.total === 0, 'RabbitMQ to deliver the nine again');
      assert.deepEqual(await broker.reserve([qb], 5, 'w@qc'), []);
      assert.equal((await broker.depths([qa]))[0]!.total, 9, 'given back by take');
    } finally {
      await broker.close();
    }
  });

  it('without a shared store (RabbitMQ with the rpc:// backend) a pause is refused, saying what it needs', async () => {
    const rpc = new Radish({ broker: rabbit.url, backend: 'rpc://' });
    try {
      await assert.rejects(pauseQueue(rpc, 'qa'), /pausing a queue needs Redis to record it for every worker/);
      assert.deepEqual(await pausedQueues(rpc), []);
    } finally {
      await rpc.close();
    }
  });
});
