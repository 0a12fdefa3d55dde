/**
 * A Redis outage: the worker says so once (not per reconnection attempt), rides it out, and loses nothing: a task
 * that finished while Redis was down has its result stored and its message acked once Redis is back.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { connectionsMadeBy, requireOwnServer, willReconnect } from '../support/redis';
import { delay, until, workerHarness } from '../support/worker-harness';

describe('Redis outage', function () {
  this.timeout(60_000);
  const h = workerHarness({ persistence: true });

  it('a result finished during the outage is stored when Redis is back; the loss is logged once', async function () {
    requireOwnServer(this, h.server);
    let finished = false;
    h.app.task('tasks.through', async (n: number) => { await delay(600); finished = true; return n * 2; });
    h.app.task('tasks.after', (n: number) => n + 1);
    const worker = await h.startWorker();
    const r = await h.app.send('tasks.through', [21]);
    await until(() => worker.stats.active === 1, 'the task to start');
    await h.server.stop();
    await until(() => finished, 'the task to finish while Redis is down');
    await delay(2500); // several reconnection attempts
    await h.server.start();
    assert.equal(await r.get({ timeout: 15_000 }), 42);
    await until(async () => (await h.redis.hlen('unacked')) === 0, 'the ack sent after the outage');
    const after = await h.app.send('tasks.after', [1]);
    assert.equal(await after.get({ timeout: 10_000 }), 2, 'still consuming after the outage');
    const lost = h.lines.filter((l) => l.includes('Connection to broker lost'));
    const back = h.lines.filter((l) => /Connected to .* again/.test(l));
    assert.equal(lost.length, 1, h.lines.join('\n'));
    assert.equal(back.length, 1, h.lines.join('\n'));
    assert.equal(h.lines.filter((l) => l.includes('ERROR')).length, 0, `no error per retry:\n${h.lines.join('\n')}`);
  });

  it('an app closed while Redis is down closes at once and leaves no connection reconnecting for ever', async function () {
    requireOwnServer(this, h.server);
    // The results on another db: the backend has a connection of its own, besides the broker's.
    const app = new Radish({ broker: h.server.url, backend: h.server.url.replace(/\/\d+$/, '') + '/1' });
    const { made } = await connectionsMadeBy(async () => {
      await app.backend();
      await app.broker();
    });
    assert.ok(made.length >= 2, `${made.length} connections`);
    await h.server.stop();
    try {
      const started = Date.now();
      await app.close();
      assert.ok(Date.now() - started < 1500, `close() took ${Date.now() - started} ms`);
      const left = made.filter(willReconnect).map((r) => r.options.connectionName);
      assert.deepEqual(left, [], 'connections still reconnecting');
    } finally {
      await h.server.start();
    }
  });
});
