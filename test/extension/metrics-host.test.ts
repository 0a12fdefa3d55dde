/**
 * Runs test/extension/metrics.suite.ts in a real VS Code host (code-server) on a copy of examples/ts-tasks, against a
 * redis-server of its own in which two Radish workers (run here, each with its own connection, as two processes have)
 * first wrote the metrics history of a known mix of tasks, and sampled a queue left with messages waiting. The suite
 * opens the Metrics view and checks what it shows against that run. Skipped, with the reason, without the host.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { minuteOf } from '../../runner/metrics/history-buckets';
import { SETTLE_MS } from '../../runner/metrics/history-reader';
import { Worker } from '../../runner/worker/worker';
import { startRedis, type TestRedis } from '../support/redis';
import { until } from '../support/wait';
import { copyExample, indent, requireHost, runSuite } from './host-run';

/** What the run below does, as the suite checks it. */
export interface MetricsRun {
  succeeded: number;
  failed: number;
  tasks: string[];
  parked: number;
  /** When (ms) the minutes the workers wrote are whole in the view (it shows minutes that ended, once settled). */
  completeAt: number;
}

describe('the Metrics view in a real VS Code host (code-server)', function () {
  this.timeout(300_000);
  let redis: TestRedis;
  const apps: Radish[] = [];

  before(async function () {
    requireHost(this);
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await redis?.stop();
  });

  it('shows the throughput, failures, runtimes and queue depth two workers wrote, by range and task', async () => {
    const app = (): Radish => {
      const a = new Radish({ broker: redis.url });
      a.task('metrics.add', (x: number, y: number) => x + y);
      a.task('metrics.boom', () => { throw new RangeError('boom'); });
      apps.push(a);
      return a;
    };
    const client = app();
    const workers = [app(), app()].map((a, i) => new Worker(a, {
      hostname: `metrics${i + 1}@host`, concurrency: 2, logger: createLogger('error', () => undefined), metricsHistory: { intervalSec: 0.5 },
    }));
    await Promise.all(workers.map((w) => w.start()));
    const run: MetricsRun = { succeeded: 16, failed: 3, tasks: ['metrics.add', 'metrics.boom'], parked: 4, completeAt: 0 };
    await Promise.all(Array.from({ length: run.parked }, () => client.send('metrics.add', [0, 0], {}, { queue: 'parked' })));
    const results = await Promise.all([
      ...Array.from({ length: run.succeeded }, (_, i) => client.send('metrics.add', [i, i])),
      ...Array.from({ length: run.failed }, () => client.send('metrics.boom')),
    ]);
    await Promise.all(results.map((r) => r.get({ timeout: 10_000 }).catch(() => undefined)));
    const probe = client;
    await until(async () => {
      const keys = await (await probe.requireSharedStore('the test')).redis.keys('radish.metrics.queues.*');
      return keys.length > 0;
    }, 'a queue sample', 10_000);
    // The stop writes what the timer had not yet.
    await Promise.all(workers.map((w) => w.stop()));
    run.completeAt = (minuteOf(Date.now()) + 1) * 60_000 + SETTLE_MS;
    const started = Date.now();
    const { code, output } = await runSuite('metrics', copyExample('ts-tasks'), { REDIS_URL: redis.url, METRICS_RUN: JSON.stringify(run) });
    console.log(indent(output));
    console.log(`      host suite wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(code, 0, 'the host suite passed');
  });
});
