/**
 * A worker started again under the name of a process that died (SIGKILL, OOM: what a supervisor does) puts back
 * everything that process held in its start-up step, not 15-35 s later through the stray check. The reserve script
 * scores `unacked_index` in whole seconds rounded up, so what the dead process reserved in its last second is
 * scored after any moment of that second: here the restart's start-up runs in that same second (the clock reads
 * the entries' score less 1 ms while it starts), which is no longer left to luck.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

const CLI = resolve(__dirname, '../../dist/radish.js');

/** Owners of unacked messages (Radish's `radish.owners`: tag -> worker name), for one worker. */
async function tagsOf(redis: ReturnType<typeof redisHarness>['redis'], worker: string): Promise<string[]> {
  return Object.entries(await redis.hgetall('radish.owners')).filter(([, w]) => w === worker).map(([tag]) => tag);
}

describe('restart under the same name', function () {
  this.timeout(60_000);
  const h = redisHarness();

  it("puts back, in its start-up step, all a dead process of its name held, even what it reserved in the restart's second; a live peer's stay", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radish-restart-'));
    writeFileSync(join(dir, 'tasks.ts'), `
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.hold', async () => { await new Promise(() => undefined); });
`);
    const app = new Radish({ broker: h.server.url });
    app.task('tasks.hold', async (i: number) => i);
    let release = (): void => undefined;
    const released = new Promise<void>((r) => { release = r; });
    app.task('tasks.block', async (i: number) => { await released; return i; });

    // A live peer holding messages of its own (one running, one waiting for its slot).
    const peer = new Worker(app, { hostname: 'peer@test', queues: ['peer'], concurrency: 1, prefetchMultiplier: 2, recoveryInterval: 0, logger: createLogger('critical') });
    await peer.start();
    const clock = Date.now;
    let frozen: number | undefined;
    let phoenix: Worker | undefined;
    try {
      await app.sendMany([0, 1].map((i) => ({ name: 'tasks.block', args: [i], queue: 'peer' })));
      await until(async () => (await tagsOf(h.redis, 'peer@test')).length === 2, 'the peer to hold two messages');
      const peerTags = (await tagsOf(h.redis, 'peer@test')).sort();
      const peerEntries = await h.redis.hmget('unacked', ...peerTags);

      // The process that dies: a real worker (the CLI) holding four messages (two running for ever, two waiting).
      const results = await app.sendMany<number>([0, 1, 2, 3].map((i) => ({ name: 'tasks.hold', args: [i] })));
      const victim = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-c', '2', '--prefetch-multiplier', '2', '-n', 'phoenix@test', '-l', 'warning'],
        { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: 'ignore' });
      await until(async () => (await tagsOf(h.redis, 'phoenix@test')).length === 4, 'the victim to hold four messages', 30_000, 20);
      victim.kill('SIGKILL');
      await new Promise((r) => victim.once('exit', r));
      const dead = await tagsOf(h.redis, 'phoenix@test');
      assert.equal(dead.length, 4);
      const scores = (await h.redis.zmscore('unacked_index', ...dead)).map(Number);

      // Started again within the second of the dead process's last reserve: its clock reads the latest score less 1 ms.
      // The stray check is off (recoveryInterval 0), so only the start-up step can put anything back.
      const lines: string[] = [];
      frozen = Math.max(...scores) * 1000 - 1;
      Date.now = () => frozen ?? clock();
      phoenix = new Worker(app, { hostname: 'phoenix@test', recoveryInterval: 0, logger: createLogger('info', (l) => lines.push(l)) });
      await phoenix.start();
      frozen = undefined;

      const restored = lines.map((l) => /Restored (\d+) message\(s\) left by an earlier process of phoenix@test /.exec(l)).find((m) => m !== null);
      assert.equal(Number(restored?.[1] ?? 0), 4, `the start-up step restored all four messages of the dead process; log:\n${lines.join('\n')}`);
      const values = await Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
      assert.deepEqual(values, [0, 1, 2, 3]);

      // The live peer's messages were not touched: still its own, their kombu entries as they were, none queued again.
      assert.deepEqual((await tagsOf(h.redis, 'peer@test')).sort(), peerTags);
      assert.deepEqual(await h.redis.hmget('unacked', ...peerTags), peerEntries);
      assert.equal(await h.redis.llen('peer'), 0);
    } finally {
      Date.now = clock;
      release();
      await phoenix?.stop();
      await peer.stop();
      await app.close();
    }
  });
});
