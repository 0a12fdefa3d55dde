/**
 * Waiting for results (`AsyncResult.get`, the result backend's subscription) on a real redis-server, through a TCP
 * proxy that can hold what the client's subscriber connection sends: Redis orders commands per connection only, so
 * a SUBSCRIBE can run after a GET sent later on another connection, and the tests make that happen on purpose.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Radish } from '../../runner/app';
import { encodeResult } from '../../runner/protocol/result';
import { redisHarness } from '../support/redis';
import { delay } from '../support/wait';

/**
 * A TCP proxy to Redis that, while `hold` is on, keeps back what the connection named `radish-results` (the result
 * backend's subscriber) sends, and forwards it when `release()` is called. Other connections pass at once.
 */
class HoldingProxy {
  hold = false;
  private readonly held: { upstream: Socket; data: Buffer }[] = [];
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  port = 0;

  constructor(private readonly redisPort: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.redisPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      let subscriber = false;
      client.on('data', (data: Buffer) => {
        // ioredis names the connection (CLIENT SETNAME) in its first bytes, before anything else is sent.
        subscriber ||= data.includes('radish-results');
        if (subscriber && this.hold) this.held.push({ upstream, data });
        else upstream.write(data);
      });
      upstream.on('data', (data: Buffer) => client.write(data));
      const close = () => { client.destroy(); upstream.destroy(); };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  release(): void {
    this.hold = false;
    for (const { upstream, data } of this.held.splice(0)) upstream.write(data);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('waiting for results', function () {
  const h = redisHarness();
  let proxy: HoldingProxy;
  let app: Radish;

  beforeEach(async () => {
    proxy = new HoldingProxy(h.server.port);
    await proxy.start();
    // Configured as the VS Code extension's connection is (it sends tasks and waits for their results).
    app = new Radish({ broker: { url: `redis://127.0.0.1:${proxy.port}/0`, offlineQueue: false, connectTimeoutMs: 3000 } });
  });
  afterEach(async () => {
    await app.close();
    await proxy.stop();
  });

  /** Store a SUCCESS as a worker does: SETEX, then PUBLISH on the key's channel. */
  async function storeSuccess(id: string, value: unknown): Promise<void> {
    const json = encodeResult({ taskId: id, state: 'SUCCESS', result: value });
    await h.redis.setex(`celery-task-meta-${id}`, 3600, json);
    await h.redis.publish(`celery-task-meta-${id}`, json);
  }

  it('two waits on one result both get it when it is stored while the subscription is on its way', async () => {
    // The subscriber connection exists (an earlier wait made it), as in a window that has waited for a task before.
    await storeSuccess('earlier', 1);
    assert.equal(await (await app.asyncResult('earlier')).get({ timeout: 2000 }), 1);

    // The extension's enqueue waits for the result in the background (to announce it) while its caller waits too.
    // The second wait joins the first one's SUBSCRIBE, which has not reached Redis yet when the result is stored.
    proxy.hold = true;
    const id = 'b1f2c3d4-0000-4000-8000-000000000001';
    const first = (await app.asyncResult(id)).get({ timeout: 3000 });
    const second = (await app.asyncResult(id)).get({ timeout: 3000 });
    await delay(100);
    await storeSuccess(id, 42);
    proxy.release();
    const [a, b] = await Promise.allSettled([first, second]);
    assert.deepEqual(a, { status: 'fulfilled', value: 42 }, 'the wait that subscribed');
    assert.deepEqual(b, { status: 'fulfilled', value: 42 }, 'the wait that joined its subscription');
  });

  it('many waits on one result, joining at different moments of the subscription, all get it', async () => {
    await storeSuccess('earlier', 1);
    assert.equal(await (await app.asyncResult('earlier')).get({ timeout: 2000 }), 1);
    proxy.hold = true;
    const id = 'b1f2c3d4-0000-4000-8000-000000000002';
    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      waits.push((await app.asyncResult(id)).get({ timeout: 3000 }));
      await delay(20);
    }
    await storeSuccess(id, 'done');
    proxy.release();
    waits.push((await app.asyncResult(id)).get({ timeout: 3000 }));
    const settled = await Promise.allSettled(waits);
    assert.deepEqual(settled.map((s) => s.status), waits.map(() => 'fulfilled'), JSON.stringify(settled));
  });

  it('a wait times out after its timeout even while its subscription is held up', async function () {
    this.timeout(5000);
    await storeSuccess('earlier', 1);
    assert.equal(await (await app.asyncResult('earlier')).get({ timeout: 2000 }), 1);
    proxy.hold = true;
    const started = Date.now();
    await assert.rejects((await app.asyncResult('never-stored')).get({ timeout: 300 }), { name: 'TimeoutError' });
    assert.ok(Date.now() - started < 2000, `gave up after ${Date.now() - started} ms`);
    proxy.release();
  });
});
