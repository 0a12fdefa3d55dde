/**
 * `celery inspect` against a Radish worker: active, reserved, scheduled, registered, stats, query_task and
 * active_queues answered as Celery answers them (5.6's `redelivered: false`, the worker's default celeryVersion;
 * test/runner/control-compat.test.ts has 5.2's), asked through Radish's Control and through Python's own
 * `celery inspect` CLI (Debian's Celery 5.2.6).
 */
import assert from 'node:assert/strict';
import { Control } from '../../runner/control';
import type { Worker } from '../../runner/worker/worker';
import { celeryCli, requireCelery } from '../support/celery';
import { until, workerHarness } from '../support/worker-harness';

const NODE = 'w1@test';


type Info = Record<string, unknown> & { delivery_info: Record<string, unknown> };

describe('inspect commands on a Radish worker', function () {
  this.timeout(60_000);
  const h = workerHarness();
  let control: Control | undefined;

  afterEach(async () => {
    await control?.close();
    control = undefined;
  });

  /**
   * A worker of concurrency 1 holding one running task, one waiting for the slot and one waiting for its ETA.
   * Resolves with their ids.
   */
  async function holdThree(): Promise<{ worker: Worker; running: string; waiting: string; later: string; eta: Date }> {
    h.app.task('tasks.block', { bind: true }, (task) =>
      new Promise((done) => task.signal.addEventListener('abort', () => done(null))));
    h.app.task('tasks.add', { rateLimit: '10/s' }, (a: number, b: number) => a + b);
    const worker = await h.startWorker({ concurrency: 1, softTimeLimit: 30 });
    const running = (await h.app.send('tasks.block', ['hold'], {}, { taskId: 'inspect-running' })).id;
    await until(() => worker.stats.active === 1, 'the blocking task to start');
    const waiting = (await h.app.send('tasks.add', [1, 2], { }, { taskId: 'inspect-waiting' })).id;
    const eta = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
    const later = (await h.app.send('tasks.add', [3], { b: 4 }, { taskId: 'inspect-later', eta, priority: 5 })).id;
    await until(() => worker.stats.reserved === 1 && worker.stats.scheduled === 1, 'the reserved and the ETA task');
    control = await Control.forApp(h.app);
    return { worker, running, waiting, later, eta };
  }

  it('active: the running task as Celery\'s Request.info(), with its start time and pid', async () => {
    const before = Date.now() / 1000;
    const { running } = await holdThree();
    const replies = await control!.inspect<Info[]>('active', { safe: null });
    assert.deepEqual(Object.keys(replies), [NODE]);
    const [info, ...more] = replies[NODE]!;
    assert.equal(more.length, 0, 'only the running task is active');
    const { time_start: started, ...rest } = info!;
    assert.deepEqual(rest, {
      id: running, name: 'tasks.block', args: ['hold'], kwargs: {}, type: 'tasks.block', hostname: NODE,
      acknowledged: false, delivery_info: { exchange: '', routing_key: 'celery', priority: 0, redelivered: false },
      worker_pid: process.pid,
    });
    assert.equal(typeof started, 'number');
    assert.ok((started as number) >= before - 1 && (started as number) <= Date.now() / 1000, `time_start ${String(started)}`);
    // Key order as Celery's (what `celery inspect active -j` prints).
    assert.deepEqual(Object.keys(info!), ['id', 'name', 'args', 'kwargs', 'type', 'hostname', 'time_start', 'acknowledged', 'delivery_info', 'worker_pid']);
  });

  it('reserved: the task waiting for the slot, not started, not acknowledged, no pid', async () => {
    const { waiting } = await holdThree();
    const replies = await control!.inspect<Info[]>('reserved');
    assert.deepEqual(replies, {
      [NODE]: [{
        id: waiting, name: 'tasks.add', args: [1, 2], kwargs: {}, type: 'tasks.add', hostname: NODE, time_start: null,
        acknowledged: false, delivery_info: { exchange: '', routing_key: 'celery', priority: 0, redelivered: false },
        worker_pid: null,
      }],
    });
  });

  it('scheduled: the ETA task with its eta in Python\'s isoformat and the timer priority', async () => {
    const { later, eta } = await holdThree();
    const replies = await control!.inspect('scheduled');
    assert.deepEqual(replies, {
      [NODE]: [{
        eta: eta.toISOString().replace('.000Z', '+00:00'),
        priority: 6,
        request: {
          id: later, name: 'tasks.add', args: [3], kwargs: { b: 4 }, type: 'tasks.add', hostname: NODE, time_start: null,
          acknowledged: false, delivery_info: { exchange: '', routing_key: 'celery', priority: 5, redelivered: false },
          worker_pid: null,
        },
      }],
    });
  });

  it('query_task: each asked id with its state; ids not held are absent', async () => {
    const { running, waiting, later } = await holdThree();
    const replies = await control!.inspect<Record<string, [string, Info]>>('query_task', { ids: [running, waiting, later, 'not-here'] });
    const found = replies[NODE]!;
    assert.deepEqual(Object.keys(found).sort(), [running, waiting, later].sort());
    assert.equal(found[running]![0], 'active');
    assert.equal(found[waiting]![0], 'reserved');
    assert.equal(found[later]![0], 'scheduled');
    assert.equal(found[running]![1].id, running);
    assert.equal(found[later]![1].name, 'tasks.add');
    assert.deepEqual(await control!.inspect('query_task', { ids: ['nothing'] }), { [NODE]: {} });
  });

  it('registered: sorted task names, with the default attributes (rate_limit) Celery appends when set', async () => {
    await holdThree();
    assert.deepEqual(await control!.inspect('registered', { taskinfoitems: [] }), {
      [NODE]: ['tasks.add [rate_limit=10/s]', 'tasks.block'],
    });
    assert.deepEqual(await control!.inspect('registered', { taskinfoitems: ['name', 'rate_limit', 'nonsense'] }), {
      [NODE]: ['tasks.add [name=tasks.add rate_limit=10/s]', 'tasks.block [name=tasks.block]'],
    });
  });

  it('stats: the keys Flower reads (total, pid, uptime, pool, broker, prefetch_count, rusage), no password', async () => {
    const { worker } = await holdThree();
    // One more start of tasks.add: the waiting one runs once the blocking one is revoked with terminate.
    await worker.revoke(['inspect-running'], { terminate: true });
    // A terminated task is not counted as processed; the one that ran after it is.
    await until(() => worker.stats.processed === 1 && worker.stats.active === 0, 'the waiting task to run');
    const replies = await control!.inspect<Record<string, unknown>>('stats');
    const stats = replies[NODE]!;
    assert.deepEqual(Object.keys(stats), ['total', 'pid', 'clock', 'uptime', 'pool', 'broker', 'prefetch_count', 'rusage']);
    assert.deepEqual(stats.total, { 'tasks.block': 1, 'tasks.add': 1 });
    assert.equal(stats.pid, process.pid);
    assert.match(stats.clock as string, /^\d+$/);
    assert.ok(Number(stats.clock) > 0);
    assert.ok(typeof stats.uptime === 'number' && stats.uptime >= 0 && stats.uptime < 60);
    assert.equal(stats.prefetch_count, 4);
    const pool = stats.pool as Record<string, unknown>;
    assert.equal(pool['max-concurrency'], 1);
    assert.deepEqual(pool.processes, [process.pid]);
    assert.deepEqual(pool.timeouts, [30, 0]);
    const broker = stats.broker as Record<string, unknown>;
    const url = new URL(h.server.url);
    assert.equal(broker.hostname, url.hostname);
    assert.equal(broker.port, Number(url.port));
    assert.equal(broker.virtual_host, '0');
    assert.equal(broker.transport, 'redis');
    assert.equal(broker.ssl, false);
    assert.deepEqual(broker.transport_options, { visibility_timeout: 3600 });
    assert.ok(!('password' in broker));
    const rusage = stats.rusage as Record<string, number>;
    for (const key of ['utime', 'stime', 'maxrss', 'minflt', 'majflt', 'inblock', 'oublock', 'nvcsw', 'nivcsw']) {
      assert.equal(typeof rusage[key], 'number', `rusage.${key}`);
    }
    assert.ok(rusage.utime! > 0 && rusage.maxrss! > 10_000, 'seconds of CPU and kilobytes of RSS');
  });

  it('active_queues: the consumed queues as kombu\'s Queue.as_dict()', async () => {
    h.app.task('tasks.noop', () => null);
    await h.startWorker({ queues: ['celery', 'high'] });
    control = await Control.forApp(h.app);
    const replies = await control.inspect<Record<string, unknown>[]>('active_queues');
    const queues = replies[NODE]!;
    assert.deepEqual(queues.map((q) => q.name), ['celery', 'high']);
    assert.deepEqual(queues[1], {
      name: 'high',
      exchange: {
        name: 'high', type: 'direct', arguments: null, durable: true, passive: false, auto_delete: false, delivery_mode: null,
        no_declare: false,
      },
      routing_key: 'high', queue_arguments: null, binding_arguments: null, consumer_arguments: null, durable: true,
      exclusive: false, auto_delete: false, no_ack: false, alias: null, bindings: [], no_declare: null, expires: null,
      message_ttl: null, max_length: null, max_length_bytes: null, max_priority: null,
    });
  });

  describe('with Python\'s `celery inspect` (Celery 5.2.6)', function () {
    before(function () {
      requireCelery(this);
    });

    /** Run `celery inspect <method>` on the Radish worker and echo what it printed. */
    async function inspect(method: string, ...extra: string[]) {
      const out = await celeryCli(h.server.url, ['inspect', method, '-d', NODE, '-t', '5', ...extra]);
      console.log(`      celery inspect ${[method, ...extra].join(' ')} printed:\n${out.stdout.trimEnd().replace(/^/gm, '        | ')}`);
      assert.equal(out.code, 0, out.stderr);
      return out.stdout;
    }

    it('`celery inspect active` lists the running task; `-j` gives the same reply as Control', async () => {
      const { running } = await holdThree();
      const text = await inspect('active');
      assert.match(text, new RegExp(`->\\s+${NODE}: OK`));
      assert.match(text, new RegExp(`'id': '${running}'`));
      assert.match(text, /'name': 'tasks.block'/);
      assert.match(text, /1 node online/);
      const json = JSON.parse(await inspect('active', '-j')) as Record<string, Info[]>;
      assert.equal(json[NODE]?.[0]?.id, running);
      assert.equal(json[NODE]?.[0]?.worker_pid, process.pid);
    });

    it('`celery inspect registered` lists the task names', async () => {
      await holdThree();
      const text = await inspect('registered');
      assert.match(text, new RegExp(`->\\s+${NODE}: OK`));
      assert.match(text, /\* tasks\.add \[rate_limit=10\/s\]/);
      assert.match(text, /\* tasks\.block/);
    });

    it('`celery inspect stats` prints the stats dict', async () => {
      await holdThree();
      const text = await inspect('stats');
      assert.match(text, new RegExp(`->\\s+${NODE}: OK`));
      assert.match(text, /"prefetch_count": 4/);
      assert.match(text, /"max-concurrency": 1/);
      assert.match(text, /"tasks\.block": 1/);
      assert.match(text, new RegExp(`"pid": ${process.pid}`));
      assert.match(text, /"transport": "redis"/);
    });
  });
});
