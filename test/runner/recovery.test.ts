/**
 * A SIGKILLed worker loses nothing: what it had reserved or was running comes back as soon as its presence record
 * expires (seconds, not kombu's one-hour visibility timeout), and the kombu bookkeeping stays intact meanwhile.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { startRedis, type TestRedis } from '../support/redis';

const CLI = resolve(__dirname, '../../dist/radish.js');
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('recovery from a dead worker', function () {
  this.timeout(90_000);
  let server: TestRedis;
  let redis: Redis;

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  after(async () => { redis.disconnect(); await server.stop(); });

  it("restores a SIGKILLed worker's reserved and running messages within seconds; every task ends", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radish-recovery-'));
    writeFileSync(join(dir, 'tasks.ts'), `
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.slow', async (i: number) => { await new Promise((r) => setTimeout(r, 1000)); return i; });
`);
    const app = new Radish({ broker: server.url });
    app.task('tasks.slow', async (i: number) => i);
    const results = await app.sendMany(Array.from({ length: 12 }, (_, i) => ({ name: 'tasks.slow', args: [i] })));

    const victim = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-c', '2', '--prefetch-multiplier', '3', '-n', 'victim@test', '-l', 'warning'],
      { env: { ...process.env, RADISH_BROKER_URL: server.url }, stdio: 'ignore' });
    while ((await redis.hlen('radish.owners')) < 6) await delay(20);
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => victim.once('exit', r));
    const held = await redis.hlen('unacked');
    assert.ok(held >= 6, `kombu's unacked still records the dead worker's messages (${held})`);

    const lines: string[] = [];
    const rescuer = new Worker(app, { hostname: 'rescuer@test', recoveryInterval: 1, logger: createLogger('info', (l) => lines.push(l)) });
    await rescuer.start();
    try {
      const values = await Promise.all(results.map((r) => r.get({ timeout: 60_000 })));
      assert.deepEqual([...values].sort((a, b) => Number(a) - Number(b)), Array.from({ length: 12 }, (_, i) => i));
      const took = (Date.now() - killedAt) / 1000;
      console.log(`      every task ended ${took.toFixed(1)} s after the kill`);
      assert.ok(took < 30, `recovered within 30 s (took ${took.toFixed(1)} s)`);
      assert.ok(lines.some((l) => /Worker victim@test is gone: restored \d+ message\(s\)/.test(l)), lines.join('\n'));
      while ((await redis.hlen('unacked')) > 0) await delay(20);
      assert.equal(await redis.hlen('radish.owners'), 0);
    } finally {
      await rescuer.stop();
      await app.close();
    }
  });
});
