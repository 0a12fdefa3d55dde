/**
 * Chaos: the delivery guarantee ("a task accepted by Redis runs to an end, whatever happens to workers, Redis or
 * the input") under SIGKILLed and restarted workers and a Redis restart, with two real worker processes (the CLI)
 * on a redis-server that persists every write (AOF, appendfsync always).
 *
 * Tasks go out in waves; each wave is followed, at a random moment while it drains, by one event: a worker is
 * SIGKILLed and started again at once under the same node name (as a supervisor does), or Redis is stopped and
 * started again. The verdict does not depend on the random moments: every task must end with its SUCCESS stored
 * and the right value, and the broker's bookkeeping must be empty at the end. Duplicates (at-least-once) are
 * counted from the workers' "succeeded" log lines and reported, never failed on.
 *
 * `RADISH_CHAOS_SEED=<n>` replays a schedule.
 */
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { delay, poll, prng, until } from '../support/wait';
import { chaosResults, taskModule, Workers } from '../support/chaos-workers';
import { redisHarness } from '../support/redis';

const TASKS = 3000;
const KILLS = 5;
/** One wave of tasks per event (the kills and the Redis restart). */
const WAVES = KILLS + 1;
const WORKERS = ['w1@test', 'w2@test'];
const QUEUE_KEYS = ['celery', 'celery\x06\x163', 'celery\x06\x166', 'celery\x06\x169'];

describe('chaos', function () {
  this.timeout(180_000);
  // Always a server of its own (it is restarted); commands on the plain connection wait for it and retry.
  const h = redisHarness({ persistence: true, client: { maxRetriesPerRequest: null } });

  it('loses no task through SIGKILLed workers and a Redis restart; the broker ends clean', async () => {
    const seed = Number(process.env.RADISH_CHAOS_SEED ?? (Date.now() % 2 ** 31));
    const random = prng(seed);
    console.log(`      chaos seed ${seed} (RADISH_CHAOS_SEED=${seed} replays the schedule)`);

    // The schedule: which event follows each wave, and when.
    // Both workers are killed (at least twice each), in a random order; Redis restarts after a random wave.
    const events = [...Array.from({ length: KILLS - 1 }, (_, k) => WORKERS[k % 2]!), WORKERS[Math.floor(random() * 2)]!];
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    events.splice(Math.floor(random() * WAVES), 0, 'redis');

    const workers = new Workers(taskModule(), { RADISH_BROKER_URL: h.server.url });
    const app = new Radish({ broker: h.server.url });
    const ids: string[] = [];
    const started = Date.now();
    const log: string[] = [];
    const at = () => ((Date.now() - started) / 1000).toFixed(1) + 's';
    try {
      for (const name of WORKERS) workers.start(name);
      await until(async () => (await h.redis.keys('radish.worker.*')).length >= WORKERS.length, 'both workers to announce themselves', 60_000, 50);

      const perWave = Math.ceil(TASKS / WAVES);
      for (let wave = 0; wave < WAVES; wave++) {
        const from = wave * perWave;
        const count = Math.min(perWave, TASKS - from);
        const sent = await app.sendMany(Array.from({ length: count }, (_, k) => ({ name: 'tasks.chaos', args: [from + k] })));
        ids.push(...sent.map((r) => r.id));
        // A random moment while the wave drains: once the victim (any worker, for a Redis restart) holds some of
        // it (a worker just restarted needs a second to boot), then 0-60 ms later.
        const event = events[wave]!;
        const holding = async () => Object.values(await h.redis.hgetall('radish.owners')).filter((w) => event === 'redis' || w === event).length;
        await poll(async () => (await holding()) > 0, 5000, 5);
        await delay(random() * 60);
        if (event === 'redis') {
          log.push(`${at()} Redis restart (workers holding ${await holding()})`);
          await h.server.stop();
          await delay(random() * 1000);
          await h.server.start();
        } else {
          log.push(`${at()} kill ${event} (holding ${await holding()})`);
          await workers.kill(event);
        }
        await delay(1000 + random() * 1500);
      }
      const chaosEnd = Date.now();

      // Every task must end. A dead worker's messages come back once its presence expires (15 s) and a live
      // worker's recovery runs (every 5 s): wait that long after the last event, and some more.
      const { missing, wrong } = await chaosResults(h.redis, ids, chaosEnd + 45_000 - Date.now());
      const took = (Date.now() - started) / 1000;

      // The end state, once stragglers (a message acked by nobody because its worker died between storing the
      // result and acking) have been recovered and run again.
      const endState = async () => {
        const pipe = h.redis.multi().hlen('unacked').zcard('unacked_index').hlen('radish.owners').llen('radish.dlq');
        for (const k of QUEUE_KEYS) pipe.llen(k);
        const r = ((await pipe.exec()) ?? []).map(([, n]) => Number(n));
        return { unacked: r[0]!, unackedIndex: r[1]!, owners: r[2]!, dlq: r[3]!, queued: r.slice(4).reduce((a, b) => a + b, 0) };
      };
      let end = await endState();
      await poll(async () => {
        end = await endState();
        return !(end.unacked || end.unackedIndex || end.owners || end.queued);
      }, Math.max(5000, chaosEnd + 30_000 - Date.now()), 250);

      const duplicates = [...workers.runs.values()].reduce((n, runs) => n + Math.max(0, runs - 1), 0);
      const lost = missing.length + wrong.length;
      console.log(`      chaos: ${ids.length} tasks, ${KILLS} kills, 1 Redis restart, ${lost} lost, ${duplicates} duplicates, took ${took.toFixed(1)} s`);
      console.log(`      schedule: ${log.join('; ')}`);
      if (workers.crashes.length) console.log(`      workers that exited by themselves (restarted): ${workers.crashes.length}\n${workers.crashes.join('\n---\n')}`);

      if (missing.length) {
        console.log(`      ${await whereAre(h.redis, missing, workers.runs)}`);
        console.log(`      the workers' warnings and errors:\n${workers.warnings.join('\n')}`);
      }
      assert.equal(ids.length, TASKS);
      assert.deepEqual(wrong, [], 'every stored result is a SUCCESS with the right value');
      assert.equal(missing.length, 0, `${missing.length} of ${ids.length} tasks never ended (no result stored), e.g. ${missing.slice(0, 3).join(', ')}`);
      assert.deepEqual(end, { unacked: 0, unackedIndex: 0, owners: 0, dlq: 0, queued: 0 }, 'the broker ends clean');
    } finally {
      await workers.stop();
      await app.close();
    }
  });

  // The chaos above restarts Redis at a random moment; this pins the narrowest window of it. An idle worker waits
  // in BRPOP; a message arrives and Redis stops in the same event-loop turn: the pop is in the AOF, the reply
  // never leaves Redis, and the client resends BRPOP to the new server. Here the turn is made certain by sending
  // SHUTDOWN right behind the LPUSH; a SIGTERM that lands in that turn does the same.
  it('loses no message Redis hands to a waiting worker just as it stops', async () => {
    const app = new Radish({ broker: h.server.url });
    app.task('tasks.chaos', async (i: number) => i * 3 + 1);
    const worker = new Worker(app, { hostname: 'waiting@test', logger: createLogger('critical') });
    await worker.start();
    const ids: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        await delay(300); // the worker is waiting for messages again
        const msg = app.message({ name: 'tasks.chaos', args: [i] });
        ids.push(msg.id);
        const admin = new Redis(h.server.url, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
        admin.on('error', () => undefined);
        await new Promise((r) => admin.once('ready', r));
        await admin.pipeline().lpush('celery', msg.body).shutdown().exec().catch(() => undefined);
        admin.disconnect();
        await h.server.stop(); // waits until it has exited
        await h.server.start();
      }
      let ended = 0;
      await poll(async () => (ended = await h.redis.exists(...ids.map((id) => `celery-task-meta-${id}`))) === ids.length, 25_000, 100);
      const where = { queued: await h.redis.llen('celery'), unacked: await h.redis.hlen('unacked'), dlq: await h.redis.llen('radish.dlq') };
      console.log(`      handed over as Redis stopped: ${ids.length} messages, ${ids.length - ended} lost (${JSON.stringify(where)})`);
      assert.equal(ended, ids.length, `${ids.length - ended} of ${ids.length} messages were popped by BRPOP as Redis stopped and vanished: ` +
        `not queued, not unacked, never run (${JSON.stringify(where)})`);
    } finally {
      await worker.stop();
      await app.close();
    }
  });
});

/** Where the messages of tasks that never ended are: still queued, unacked (and whose), or nowhere at all. */
async function whereAre(redis: Redis, missing: string[], runs: Map<string, number>): Promise<string> {
  const wanted = new Set(missing);
  const idOf = (raw: string): string | undefined => {
    try {
      const m = JSON.parse(raw) as { headers?: { id?: string } } | [{ headers?: { id?: string } }];
      return Array.isArray(m) ? m[0]?.headers?.id : m.headers?.id;
    } catch {
      return undefined;
    }
  };
  let queued = 0;
  for (const k of QUEUE_KEYS) for (const raw of await redis.lrange(k, 0, -1)) if (wanted.has(idOf(raw) ?? '')) queued++;
  const owners = await redis.hgetall('radish.owners');
  const unacked = await redis.hgetall('unacked');
  const byOwner = new Map<string, number>();
  let inUnacked = 0;
  for (const [tag, entry] of Object.entries(unacked)) {
    if (!wanted.has(idOf(entry) ?? '')) continue;
    inUnacked++;
    const owner = owners[tag] ?? '(no owner)';
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + 1);
  }
  const ran = missing.filter((id) => runs.has(id)).length;
  const owned = [...byOwner].map(([w, n]) => `${w}: ${n}`).join(', ');
  return `never ended: ${missing.length}; still queued: ${queued}; unacked: ${inUnacked} (${owned || 'none'}); ` +
    `neither: ${missing.length - queued - inUnacked}; logged as succeeded all the same: ${ran}`;
}
