/**
 * Past one machine: a three-node RabbitMQ cluster (nodes of this suite's own, on free ports) with the task queue a
 * quorum queue, two Radish workers and a client given every node's URL (kombu's failover list). The node they are
 * connected to is stopped mid-run: they connect to another node, the quorum queue elects a new leader, and every
 * task the cluster confirmed runs to an end.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { rabbitCluster } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { delay, poll } from '../support/wait';

const TASKS = 600;

describe('a RabbitMQ cluster with a quorum queue', function () {
  this.timeout(180_000);
  const rabbit = rabbitCluster(3);
  const redis = redisHarness();

  it('loses no task when the node the workers and the client use is stopped mid-run', async () => {
    const { cluster } = rabbit;
    const failover = cluster.urls.join(';');
    const broker = { url: failover, queueType: 'quorum' as const };
    const lines: string[] = [];
    const apps: Radish[] = [];
    const workers: Worker[] = [];
    const runs = new Map<number, number>();
    const makeApp = () => {
      const app = new Radish({ broker, backend: redis.server.url });
      app.task('tasks.square', async (i: number) => {
        runs.set(i, (runs.get(i) ?? 0) + 1);
        await delay(2);
        return i * i;
      });
      apps.push(app);
      return app;
    };
    try {
      for (const name of ['c1@test', 'c2@test']) {
        const w = new Worker(makeApp(), { hostname: name, concurrency: 8, logger: createLogger('info', (l) => lines.push(`${name} ${l}`)) });
        workers.push(w);
        await w.start();
      }
      const client = makeApp();
      const first = await client.sendMany(Array.from({ length: TASKS / 2 }, (_, i) => ({ name: 'tasks.square', args: [i] })));
      // Everyone is on the first node of the list: stop it while the first half drains.
      await delay(150);
      await cluster.stopNode(0);
      const second = await client.sendMany(Array.from({ length: TASKS / 2 }, (_, i) => ({ name: 'tasks.square', args: [TASKS / 2 + i] })));
      const results = [...first, ...second];
      const backend = await client.backend();
      let done = 0;
      await poll(async () => {
        done = (await backend.getMany(results.map((r) => r.id))).filter((m) => m?.status === 'SUCCESS').length;
        return done === results.length;
      }, 60_000, 250);
      const metas = await backend.getMany(results.map((r) => r.id));
      const wrong = metas.map((m, i) => (m?.status === 'SUCCESS' && m.result === i * i ? undefined : `${i}: ${m?.status ?? 'none'}`)).filter(Boolean);
      const duplicates = [...runs.values()].reduce((n, r) => n + Math.max(0, r - 1), 0);
      console.log(`      cluster: ${results.length} tasks, node 1 of 3 stopped mid-run, ${wrong.length} not done, ${duplicates} ran twice`);
      assert.ok(lines.some((l) => /Connection to broker lost/.test(l)), 'the workers saw their node go');
      assert.deepEqual(wrong, [], lines.filter((l) => /WARNING|ERROR/.test(l)).slice(-20).join('\n'));
    } finally {
      await Promise.all(workers.map((w) => w.stop({ cold: true })));
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});
