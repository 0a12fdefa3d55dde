/** Redis URLs as Celery writes them, on real servers: password, db, TLS, Sentinel, and an unreachable one. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Radish } from '../../runner/app';
import { connect, redactUrl, redisOptions, RedisUnavailableError } from '../../runner/broker/connection';
import { Worker } from '../../runner/worker/worker';
import { createLogger } from '../../runner/log';
import { freePort, startRedis, startSentinel } from '../support/redis';

/** One round trip through a worker: proves publish, reserve, result store and subscription all work. */
async function roundTrip(url: string, extra: Partial<ConstructorParameters<typeof Radish>[0]> = {}): Promise<unknown> {
  const app = new Radish({ broker: url, ...extra });
  app.task('tasks.add', (x: number, y: number) => x + y);
  const worker = new Worker(app, { logger: createLogger('error', () => undefined) });
  try {
    await worker.start();
    return await (await app.send('tasks.add', [20, 22])).get({ timeout: 5000 });
  } finally {
    await worker.stop();
    await app.close();
  }
}

describe('connections', function () {
  it('parses Celery-style URLs', () => {
    assert.deepEqual(redisOptions({ url: 'redis://:p%40ss@example.com:6380/3' }),
      { password: 'p@ss', username: undefined, host: 'example.com', port: 6380, db: 3 });
    assert.equal(redisOptions({ url: 'redis://h:1/0', password: 'from-secret-store' }).password, 'from-secret-store');
    assert.deepEqual(redisOptions({ url: 'rediss://h/0?ssl_cert_reqs=none' }).tls, { rejectUnauthorized: false });
    const sentinel = redisOptions({ url: 'sentinel://:pw@s1:26379;sentinel://s2:26380/2?master_name=main' });
    assert.deepEqual([sentinel.sentinels, sentinel.name, sentinel.db, sentinel.password],
      [[{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], 'main', 2, 'pw']);
    assert.throws(() => redisOptions({ url: 'amqp://guest@localhost//' }), /unsupported Redis URL scheme/);
    assert.throws(() => redisOptions({ url: 'sentinel://s1:26379' }), /needs a master name/);
    assert.equal(redactUrl('redis://user:secret@h:1/0'), 'redis://user:***@h:1/0');
  });

  it('fails fast with one clear error when Redis is unreachable, and never shows the password', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(connect({ url: `redis://:hunter2@127.0.0.1:${port}/0`, connectTimeoutMs: 1500 }), (err: Error) =>
      err instanceof RedisUnavailableError && /ECONNREFUSED/.test(err.message) && !err.message.includes('hunter2') && err.message.includes('***'));
    assert.ok(Date.now() - started < 3000);
  });

  it('uses a password and a database number from the URL', async () => {
    const server = await startRedis({ args: ['--requirepass', 's3cret'] });
    try {
      assert.equal(await roundTrip(`redis://:s3cret@127.0.0.1:${server.port}/3`), 42);
      const peek = new Redis({ port: server.port, password: 's3cret', db: 3 });
      assert.ok((await peek.keys('celery-task-meta-*')).length === 1, 'result landed in db 3');
      peek.disconnect();
      await assert.rejects(connect({ url: `redis://:wrong@127.0.0.1:${server.port}/0`, connectTimeoutMs: 1500 }),
        (err: Error) => err instanceof RedisUnavailableError && /WRONGPASS|invalid password/i.test(err.message) && !err.message.includes('wrong@'));
    } finally {
      await server.stop();
    }
  });

  it('speaks TLS with rediss://', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radish-tls-'));
    const f = (n: string) => join(dir, n);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=radish-test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
    ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1',
      '-extfile', f('san.ext'), '-out', f('server.crt'));
    const server = await startRedis({ tls: { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') } }).catch((err: Error) => err);
    if (server instanceof Error) throw server;
    try {
      assert.equal(await roundTrip(`rediss://127.0.0.1:${server.port}/0?ssl_ca_certs=${f('ca.crt')}`), 42);
      assert.equal(await roundTrip(`rediss://127.0.0.1:${server.port}/0?ssl_cert_reqs=none`), 42);
      await assert.rejects(connect({ url: `redis://127.0.0.1:${server.port}/0`, connectTimeoutMs: 1000 }), RedisUnavailableError,
        'plain text to a TLS port fails');
    } finally {
      await server.stop();
    }
  });

  it('finds the master through Sentinel', async () => {
    const master = await startRedis({ args: [] });
    const sentinel = await startSentinel(master.port, 'radishmaster');
    try {
      assert.equal(await roundTrip(`sentinel://127.0.0.1:${sentinel.port}/0?master_name=radishmaster`), 42);
    } finally {
      await sentinel.stop();
      await master.stop();
    }
  });
});
