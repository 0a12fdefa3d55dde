/**
 * `radish exporter` (runner/monitor/exporter.ts) and the transport's queueStats: per-queue depth and oldest message
 * age on a real redis-server and a real RabbitMQ (a vhost of its own; an own node with the management API for the
 * age), the fleet's events under Flower's names, and the CLI (`radish worker --metrics-port`, `radish exporter`) as
 * a user runs it (dist/radish.js): starts, serves, stops on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { connectBroker } from '../../runner/broker/connect';
import type { Broker, Delivery } from '../../runner/broker/transport';
import { Exporter } from '../../runner/monitor/exporter';
import { QueueMetrics } from '../../runner/metrics/queue-metrics';
import { MetricsServer } from '../../runner/metrics/server';
import { decodeTaskMessage, encodeTaskMessage, type TaskCall } from '../../runner/protocol/message';
import type { TaskFailedError } from '../../runner/protocol/result';
import { rabbitNode, rabbitVhost } from '../support/rabbitmq';
import { freePort } from '../support/redis';
import { until, workerHarness } from '../support/worker-harness';
import { scrape, type Scrape } from './exporter-scrape';

const CLI = resolve(__dirname, '../../dist/radish.js');

/** A task message with the send time given (null: none, as Celery sends). */
function rawMessage(call: Omit<TaskCall, 'id'>): string {
  return encodeTaskMessage({ id: randomUUID(), ...call }, { origin: 'gen1@test', replyTo: '', deliveryTag: randomUUID() });
}

describe('exporter and queueStats on Redis', function () {
  const h = workerHarness();
  const opened: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  it('reads depth and the oldest stamp of each queue, across priority lists, unknown for an unstamped head', async () => {
    const now = Date.now();
    // qa: the oldest at priority 9, two newer at priority 0.
    await h.redis.lpush('qa\x06\x169', rawMessage({ name: 't', queue: 'qa', priority: 9, sentAt: now - 30_000 }));
    await h.redis.lpush('qa', rawMessage({ name: 't', queue: 'qa', sentAt: now - 10_000 }), rawMessage({ name: 't', queue: 'qa', sentAt: now - 5_000 }));
    // qb: its next (oldest) message is Celery's, without a stamp; a stamped one behind it.
    await h.redis.lpush('qb', rawMessage({ name: 't', queue: 'qb', sentAt: null }), rawMessage({ name: 't', queue: 'qb', sentAt: now - 60_000 }));
    // qc: a message that is not JSON at the head: counted, its age unknown.
    await h.redis.lpush('qc', 'not a message');
    const broker = await h.app.broker();
    assert.deepEqual(await broker.queueStats(['qa', 'qb', 'qc', 'qempty']), [
      { queue: 'qa', depth: 3, oldestSentAt: now - 30_000 },
      { queue: 'qb', depth: 2 },
      { queue: 'qc', depth: 1 },
      { queue: 'qempty', depth: 0 },
    ]);

    const exporter = await Exporter.start({ broker: { url: h.server.url }, port: 0, queues: ['qa', 'qb', 'qempty'], events: false });
    opened.push(exporter);
    const s = await scrape(exporter.port);
    const read = Date.now();
    assert.equal(s.value('radish_queue_depth', { queue: 'qa' }), 3);
    const age = s.value('radish_queue_oldest_message_age_seconds', { queue: 'qa' })!;
    assert.ok(age >= 30 && age <= (read - (now - 30_000)) / 1000, `age ${age}`);
    assert.equal(s.value('radish_queue_depth', { queue: 'qb' }), 2);
    assert.equal(s.value('radish_queue_oldest_message_age_seconds', { queue: 'qb' }), undefined, 'unknown, not made up');
    assert.equal(s.value('radish_queue_depth', { queue: 'qempty' }), 0);
    assert.equal(s.value('radish_queue_oldest_message_age_seconds', { queue: 'qempty' }), 0, 'nothing waits: 0, as the history writes it');
    assert.equal(s.all('flower_events_total').length, 0);
  });

  it('reads the stamp a client\'s send writes (its time of sending, in ms)', async () => {
    const before = Date.now();
    const sent = await h.app.send('tasks.nobody', [], {}, { queue: 'stamped' });
    const [raw] = await h.redis.lrange('stamped', 0, -1);
    const stamp = (JSON.parse(raw!) as { headers: { radish_sent_at: number } }).headers.radish_sent_at;
    assert.ok(Number.isInteger(stamp) && stamp >= before && stamp <= Date.now(), `stamp ${stamp}`);
    const [stats] = await (await h.app.broker()).queueStats(['stamped']);
    assert.deepEqual(stats, { queue: 'stamped', depth: 1, oldestSentAt: stamp });
    assert.ok(sent.id);
  });

  it('reads the queues once per scrape, whatever the number of queues and metrics', async () => {
    const broker = await connectBroker({ url: h.server.url });
    opened.push(broker);
    let calls = 0;
    const counting = Object.create(broker) as Broker;
    counting.queueStats = (queues) => {
      calls++;
      return broker.queueStats(queues);
    };
    const registry = new Registry();
    const metrics = new QueueMetrics(registry, counting, () => Promise.resolve(['a', 'b', 'c']));
    const server = await MetricsServer.listen(registry, { port: 0, host: '127.0.0.1', beforeScrape: [() => metrics.refresh()] });
    opened.push(server);
    await scrape(server.port);
    assert.equal(calls, 1);
    const s = await scrape(server.port);
    assert.equal(calls, 2);
    assert.equal(s.all('radish_queue_depth').length, 3);
  });

  it('says the broker is away (radish_queue_stats_up 0) and still answers', async () => {
    const broker = await connectBroker({ url: h.server.url });
    opened.push(broker);
    const failing = Object.create(broker) as Broker;
    failing.queueStats = () => Promise.reject(new Error('down'));
    const registry = new Registry();
    const metrics = new QueueMetrics(registry, failing, () => Promise.resolve(['a']));
    const server = await MetricsServer.listen(registry, { port: 0, beforeScrape: [() => metrics.refresh()] });
    opened.push(server);
    const s = await scrape(server.port);
    assert.equal(s.value('radish_queue_stats_up'), 0);
    assert.equal(s.all('radish_queue_depth').length, 0);
  });

  it('serves the fleet\'s events under Flower\'s names, and every known queue without -Q', async () => {
    h.app.task('tasks.ok', () => 'ok');
    h.app.task('tasks.bad', () => { throw new Error('boom'); });
    const exporter = await Exporter.start({ broker: { url: h.server.url }, port: 0 });
    opened.push(exporter);
    const worker = await h.startWorker({ events: true, metricsHistory: false });
    const oks = await Promise.all([1, 2, 3].map(() => h.app.send('tasks.ok')));
    const bad = await h.app.send('tasks.bad');
    for (const r of oks) await r.get({ timeout: 5000 });
    await assert.rejects(bad.get({ timeout: 5000 }), (e: TaskFailedError) => e.message === 'boom');
    const w = { worker: 'w1@test' };
    let s: Scrape | undefined;
    await until(async () => {
      s = await scrape(exporter.port);
      return s.value('flower_events_total', { ...w, type: 'task-succeeded', task: 'tasks.ok' }) === 3
        && s.value('flower_events_total', { ...w, type: 'task-failed', task: 'tasks.bad' }) === 1;
    }, () => `the events; last scrape:\n${s?.text}`);
    const last = s!;
    assert.equal(last.value('flower_events_total', { ...w, type: 'task-received', task: 'tasks.ok' }), 3);
    assert.equal(last.value('flower_events_total', { ...w, type: 'task-started', task: 'tasks.ok' }), 3);
    assert.equal(last.value('flower_events_total', { ...w, type: 'task-received', task: 'tasks.bad' }), 1);
    assert.equal(last.value('flower_task_runtime_seconds_count', { ...w, task: 'tasks.ok' }), 3);
    assert.equal(last.value('flower_worker_prefetched_tasks', { ...w, task: 'tasks.ok' }), 0);
    assert.equal(last.value('flower_worker_online', w), 1);
    // Without -Q: the broker's queues (the worker declared `celery`), with their depth.
    assert.equal(last.value('radish_queue_depth', { queue: 'celery' }), 0);
    await worker.stop();
    await until(async () => (await scrape(exporter.port)).value('flower_worker_online', w) === 0, 'worker-offline');
    await exporter.close();
    await assert.rejects(fetch(`http://127.0.0.1:${exporter.port}/metrics`));
  });
});

describe('exporter and queueStats on RabbitMQ', function () {
  const rabbit = rabbitVhost();

  it('reads depth exactly by passive declare; the oldest age is unknown without the management API', async () => {
    const broker = await connectBroker({ url: rabbit.url, managementUrl: false });
    const stamp = Date.now() - 30_000;
    try {
      await broker.publish('qa', 0, rawMessage({ name: 't', queue: 'qa', sentAt: stamp }));
      await broker.publish('qa', 0, rawMessage({ name: 't', queue: 'qa' }));
      const exporter = await Exporter.start({ broker: { url: rabbit.url, managementUrl: false }, port: 0, queues: ['qa', 'missing'], events: false });
      try {
        const s = await scrape(exporter.port);
        assert.equal(s.value('radish_queue_depth', { queue: 'qa' }), 2);
        assert.equal(s.value('radish_queue_depth', { queue: 'missing' }), 0);
        assert.equal(s.value('radish_queue_oldest_message_age_seconds', { queue: 'qa' }), undefined);
        assert.equal(s.value('radish_queue_stats_up'), 1);
      } finally {
        await exporter.close();
      }
      // The stamp survives the envelope's trip through AMQP to the millisecond (its header, an int64).
      broker.setPrefetch(1);
      const got: Delivery[] = [];
      const deadline = Date.now() + 5000;
      while (got.length === 0 && Date.now() < deadline) got.push(...await broker.waitAndReserve(['qa'], 1, 'w@test'));
      assert.equal(decodeTaskMessage(got[0]!.raw).sentAt, stamp);
      await broker.ack(got[0]!.tag);
    } finally {
      await broker.close();
    }
  });

  describe('with the management API (an own node, statistics every 500 ms)', function () {
    const node = rabbitNode({ management: true, config: ['collect_statistics_interval = 500'] });

    it('reads the oldest age from head_message_timestamp (the AMQP timestamp Radish sets, to the second)', async function () {
      this.timeout(60_000);
      // The API with the node's credentials (its URL has none).
      const managementUrl = node.node.managementUrl!.replace('://', '://guest:guest@');
      const broker = await connectBroker({ url: node.node.url, managementUrl });
      try {
        const oldest = Date.now() - 30_000;
        await broker.publish('qa', 0, rawMessage({ name: 't', queue: 'qa', sentAt: oldest }));
        await broker.publish('qa', 0, rawMessage({ name: 't', queue: 'qa' }));
        await broker.publish('qcelery', 0, rawMessage({ name: 't', queue: 'qcelery', sentAt: null }));
        const exporter = await Exporter.start({ broker: { url: node.node.url, managementUrl }, port: 0, queues: ['qa', 'qcelery'], events: false });
        try {
          let s: Scrape | undefined;
          await until(async () => {
            s = await scrape(exporter.port);
            return s.value('radish_queue_oldest_message_age_seconds', { queue: 'qa' }) !== undefined;
          }, () => `the head message's timestamp; last scrape:\n${s?.text}`, 30_000, 250);
          const read = Date.now();
          const age = s!.value('radish_queue_oldest_message_age_seconds', { queue: 'qa' })!;
          // To the second: the timestamp is the stamp rounded down, so the age is at most a second more.
          assert.ok(age >= 30 && age <= (read - oldest) / 1000 + 1, `age ${age}`);
          assert.equal(s!.value('radish_queue_depth', { queue: 'qa' }), 2);
          assert.equal(s!.value('radish_queue_depth', { queue: 'qcelery' }), 1);
          assert.equal(s!.value('radish_queue_oldest_message_age_seconds', { queue: 'qcelery' }), undefined, 'Celery\'s message has no timestamp');
        } finally {
          await exporter.close();
        }
      } finally {
        await broker.close();
      }
    });
  });
});

describe('cli: radish worker --metrics-port and radish exporter', function () {
  const h = workerHarness();

  function watch(child: ChildProcess): { waitFor: (pattern: RegExp) => Promise<string>; exited: Promise<number | null> } {
    let seen = '';
    child.stderr?.on('data', (d: Buffer) => { seen += d; });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return {
      exited,
      waitFor: async (pattern) => {
        await until(() => pattern.test(seen), () => `${pattern}; output:\n${seen}`, 15_000, 20);
        return seen;
      },
    };
  }

  it('starts, serves /metrics and stops on SIGTERM, both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radish-metrics-'));
    const tasks = join(dir, 'tasks.ts');
    writeFileSync(tasks, "import { Radish } from 'radish';\nexport const app = new Radish();\napp.task('tasks.add', (x: number, y: number) => x + y);\n");
    const env = { ...process.env, RADISH_BROKER_URL: h.server.url };
    const [workerPort, exporterPort] = [await freePort(), await freePort()];
    const worker = spawn(process.execPath, [CLI, 'worker', '-A', tasks, '-n', 'metrics@test', '--metrics-port', String(workerPort), '-E'], { env });
    const exporter = spawn(process.execPath, [CLI, 'exporter', '--port', String(exporterPort), '-Q', 'celery'], { env });
    const w = watch(worker);
    const e = watch(exporter);
    try {
      await w.waitFor(new RegExp(`Metrics at http://0\\.0\\.0\\.0:${workerPort}/metrics`));
      await e.waitFor(new RegExp(`metrics at http://0\\.0\\.0\\.0:${exporterPort}/metrics`));
      await w.waitFor(/ready\./);
      assert.equal(await h.app.send('tasks.add', [2, 3]).then((r) => r.get({ timeout: 5000 })), 5);
      await until(async () => (await scrape(workerPort)).value('radish_tasks_total', { task: 'tasks.add', outcome: 'succeeded' }) === 1, 'the worker\'s count');
      await until(async () => (await scrape(exporterPort)).value('flower_events_total', { worker: 'metrics@test', type: 'task-succeeded', task: 'tasks.add' }) === 1,
        'the exporter\'s count, from the events');
      assert.equal((await scrape(exporterPort)).value('radish_queue_depth', { queue: 'celery' }), 0);
      worker.kill('SIGTERM');
      exporter.kill('SIGTERM');
      assert.equal(await w.exited, 0);
      assert.equal(await e.exited, 0);
      await assert.rejects(fetch(`http://127.0.0.1:${workerPort}/metrics`));
      await assert.rejects(fetch(`http://127.0.0.1:${exporterPort}/metrics`));
    } finally {
      worker.kill('SIGKILL');
      exporter.kill('SIGKILL');
    }
  });

  it('refuses bad flags with a usage error', async () => {
    const run = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, RADISH_BROKER_URL: h.server.url } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d; });
      child.on('close', (code) => done({ code, stderr }));
    });
    assert.deepEqual(await run(['exporter']), { code: 2, stderr: 'radish: error: exporter needs a port: radish exporter --port 9808\n' });
    const bad = await run(['exporter', '--port', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--port must be an integer from 0 to 65535/);
    const flag = await run(['worker', '-A', 'x.ts', '--metrics-queues']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--metrics-host and --metrics-queues go with --metrics-port N/);
  });
});
