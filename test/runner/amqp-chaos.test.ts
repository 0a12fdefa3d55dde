/**
 * Chaos on RabbitMQ: the delivery guarantee ("a task the broker confirmed runs to an end") under SIGKILLed and
 * restarted workers and a RabbitMQ node that is stopped and started again, and SIGKILLed and started again, with
 * two real worker processes (the CLI) on a node of this suite's own (durable queues, persistent messages) and
 * results on a redis-server of its own.
 *
 * Tasks go out in waves (each confirmed by the broker before the wave's event); each wave is followed, at a random
 * moment while it drains, by one event: a worker SIGKILLed and started again at once under the same node name, or the
 * broker stopped (or killed) and started again. Every task must end with its SUCCESS stored and the right value,
 * and the queue must end empty; duplicates (at-least-once) are counted and reported, never failed on.
 *
 * `RADISH_CHAOS_SEED=<n>` replays a schedule.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { chaosResults, taskModule, Workers } from '../support/chaos-workers';
import { checkQueue, rabbitNode } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { delay, poll, prng, until } from '../support/wait';

const TASKS = 2000;
const WORKERS = ['w1@test', 'w2@test'];

describe('chaos on RabbitMQ', function () {
  this.timeout(240_000);
  const rabbit = rabbitNode();
  const h = redisHarness({ client: { maxRetriesPerRequest: null } });

  it('loses no task through SIGKILLed workers, a broker restart and a broker crash; the queue ends empty', async () => {
    const seed = Number(process.env.RADISH_CHAOS_SEED ?? (Date.now() % 2 ** 31));
    const random = prng(seed);
    console.log(`      chaos seed ${seed} (RADISH_CHAOS_SEED=${seed} replays the schedule)`);
    // Four kills (each worker twice) and the two broker events, in a random order.
    const events: string[] = [...WORKERS, ...WORKERS, 'broker-stop', 'broker-kill'];
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    const node = rabbit.node;
    const workers = new Workers(taskModule(), { RADISH_BROKER_URL: node.url, RADISH_RESULT_BACKEND: h.server.url });
    const app = new Radish({ broker: node.url, backend: h.server.url });
    const ids: string[] = [];
    const started = Date.now();
    const log: string[] = [];
    const at = () => ((Date.now() - started) / 1000).toFixed(1) + 's';
    try {
      for (const name of WORKERS) workers.start(name);
      await until(async () => ((await checkQueue(node.url, 'celery'))?.consumers ?? 0) >= WORKERS.length, 'both workers to consume', 60_000, 100);
      // RabbitMQ 3.10 can lose a durable queue declared a moment before a SIGKILL (its metadata still in Mnesia's
      // unflushed log: seen in 5 of 90 kills by the harness's own test). A real queue exists long before a crash.
      await node.syncMetadata();

      const perWave = Math.ceil(TASKS / events.length);
      for (const [wave, event] of events.entries()) {
        const from = wave * perWave;
        const count = Math.min(perWave, TASKS - from);
        // Resolves once the broker has confirmed every message of the wave.
        const sent = await app.sendMany(Array.from({ length: count }, (_, k) => ({ name: 'tasks.chaos', args: [from + k] })));
        ids.push(...sent.map((r) => r.id));
        await delay(random() * 150);
        if (event === 'broker-stop' || event === 'broker-kill') {
          log.push(`${at()} ${event}`);
          if (event === 'broker-stop') await node.stop();
          else await node.kill();
          await delay(random() * 1000);
          await node.start();
        } else {
          log.push(`${at()} kill ${event}`);
          await workers.kill(event);
        }
        await delay(1000 + random() * 1500);
      }
      const chaosEnd = Date.now();

      const { missing, wrong } = await chaosResults(h.redis, ids, chaosEnd + 60_000 - Date.now());
      let queue = await checkQueue(node.url, 'celery');
      await poll(async () => (queue = await checkQueue(node.url, 'celery'))?.messages === 0, 10_000, 250);
      const dlq = await checkQueue(node.url, 'radish.dlq');
      const duplicates = [...workers.runs.values()].reduce((n, runs) => n + Math.max(0, runs - 1), 0);
      console.log(`      chaos: ${ids.length} tasks, 4 worker kills, a broker stop and a broker kill, ${missing.length + wrong.length} lost, `
        + `${duplicates} duplicates, took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log(`      schedule: ${log.join('; ')}`);
      if (workers.crashes.length) console.log(`      workers that exited by themselves (restarted): ${workers.crashes.length}\n${workers.crashes.join('\n---\n')}`);
      if (missing.length) console.log(`      the workers' warnings and errors:\n${workers.warnings.slice(-40).join('\n')}`);

      assert.equal(ids.length, TASKS);
      assert.deepEqual(wrong, [], 'every stored result is a SUCCESS with the right value');
      assert.equal(missing.length, 0, `${missing.length} of ${ids.length} tasks never ended, e.g. ${missing.slice(0, 3).join(', ')}`);
      assert.equal(queue?.messages, 0, 'the queue ends empty');
      assert.equal(dlq?.messages ?? 0, 0, 'nothing dead-lettered');
    } finally {
      await workers.stop();
      await app.close();
    }
  });

  it('a client sending while the broker is killed and restarts: every send resolves once the broker is back, and each message is there', async () => {
    const node = rabbit.node;
    const app = new Radish({ broker: node.url, backend: h.server.url });
    const ids: string[] = [];
    try {
      await app.send('tasks.outage', [0]); // connected, queue declared
      await node.syncMetadata();
      // Twenty sends in flight at a time, so some await their confirm when the node is killed.
      const sending = (async () => {
        for (let i = 0; i < 10; i++) {
          const batch = await Promise.all(Array.from({ length: 20 }, (_, k) => app.send('tasks.outage', [i * 20 + k], {}, { queue: 'outage' })));
          ids.push(...batch.map((r) => r.id));
        }
      })();
      await delay(30);
      await node.kill();
      await delay(300);
      await node.start();
      // Each send is bounded in the transport (an answer that cannot come fails it, and it is sent again): a wait
      // beyond that says how far the sends got.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${ids.length} of 200 sends resolved after 90 s`)), 90_000);
      });
      await Promise.race([sending, late]).finally(() => clearTimeout(timer));
      // Every send resolved: each message is in the queue (a send retried after a lost confirm may be there twice).
      const seen = new Set<string>();
      const connection = await rabbit.connect();
      const ch = await connection.createChannel();
      for (;;) {
        const m = await ch.get('outage', { noAck: true });
        if (!m) break;
        seen.add(String(m.properties.headers?.id));
      }
      await ch.close();
      assert.equal(ids.length, 200);
      assert.deepEqual(ids.filter((id) => !seen.has(id)), [], 'every confirmed send is in the queue');
    } finally {
      await app.close();
    }
  });
});
