/**
 * A SIGKILLed worker loses nothing: what it had reserved or was running comes back as soon as its presence record
 * expires (seconds, not kombu's one-hour visibility timeout), and the kombu bookkeeping stays intact meanwhile.
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

describe('recovery from a dead worker', function () {
  this.timeout(90_000);
  const h = redisHarness();

  it("restores a SIGKILLed worker's reserved and running messages within seconds; every task ends", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radish-recovery-'));
    writeFileSync(join(dir, 'tasks.ts'), `
import { Radish } from 'radish';
export const app = new Radish();
app.task('tasks.slow', async (i: number) => { await new Promise((r) => setTimeout(r, 1000)); return i; });
`);
    const app = new Radish({ broker: h.server.url });
    app.task('tasks.slow', async (i: number) => i);
    const results = await app.sendMany(Array.from({ length: 12 }, (_, i) => ({ name: 'tasks.slow', args: [i] })));

    const victim = spawn(process.execPath, [CLI, 'worker', '-A', join(dir, 'tasks.ts'), '-c', '2', '--prefetch-multiplier', '3', '-n', 'victim@test', '-l', 'warning'],
      { env: { ...process.env, RADISH_BROKER_URL: h.server.url }, stdio: 'ignore' });
    await until(async () => (await h.redis.hlen('radish.owners')) >= 6, 'the victim to hold six messages', 30_000, 20);
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => victim.once('exit', r));
    const held = await h.redis.hlen('unacked');
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
      await until(async () => (await h.redis.hlen('unacked')) === 0, 'nothing left unacked', 10_000, 20);
      assert.equal(await h.redis.hlen('radish.owners'), 0);
    } finally {
      await rescuer.stop();
      await app.close();
    }
  });
});
