/**
 * A throwaway `redis-server` per test suite, on a free port, that tests can stop, kill and restart; and
 * `redisHarness()`, the mocha hooks most suites want around one: the server, a plain connection to it, an empty
 * database before every test, all closed when the suite ends.
 *
 * When `REDIS_URL` is set the tests use that server instead; it cannot be restarted, so tests that need
 * a restart call `requireOwnServer()` and are skipped with a message saying why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';
import { answers, freePort } from './net';
import { until } from './wait';

export { freePort };

export interface StartRedisOptions {
  /** Turn on AOF persistence (appendfsync always), so a restart keeps the data. Default false. */
  persistence?: boolean;
  /** Extra `redis-server` arguments, e.g. `['--requirepass', 's3cret']`. */
  args?: string[];
  /** Serve TLS only (no plain port), with these PEM files. */
  tls?: { cert: string; key: string; ca: string };
}

export interface TestRedis {
  /** `redis://127.0.0.1:<port>/0` */
  readonly url: string;
  /** The URL of database `db` on this server, e.g. `redis://127.0.0.1:<port>/3`. */
  dbUrl(db: number): string;
  readonly port: number;
  /** True when this harness started the server (so it can stop and restart it). */
  readonly own: boolean;
  /** Graceful stop (SHUTDOWN semantics via SIGTERM). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the server. */
  kill(): Promise<void>;
  /** Start it again on the same port and data directory. */
  start(): Promise<void>;
}

function withDb(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

class OwnRedis implements TestRedis {
  readonly own = true;
  readonly url: string;
  private child: ChildProcess | undefined;
  private readonly dir: string;

  /** @param leading a whole command line used instead of the defaults (a sentinel and its config file). */
  constructor(readonly port: number, private readonly options: StartRedisOptions, private readonly leading: string[] = []) {
    this.url = `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}/0`;
    this.dir = mkdtempSync(join(tmpdir(), 'radish-redis-'));
  }

  dbUrl(db: number): string { return withDb(this.url, db); }

  async start(): Promise<void> {
    if (this.child) return;
    const persistence = this.options.persistence
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
      : ['--appendonly', 'no', '--save', ''];
    const tls = this.options.tls;
    const ports = tls
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key,
        '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no']
      : ['--port', String(this.port)];
    const child = spawn('redis-server', this.leading.length ? this.leading : [
      ...ports, '--bind', '127.0.0.1', '--dir', this.dir,
      '--loglevel', 'warning', ...persistence, ...(this.options.args ?? []),
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    this.child = child;
    child.once('exit', () => { if (this.child === child) this.child = undefined; });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message} (run setup.sh)`)));
    });
    await until(() => answers(this.port), `redis-server on port ${this.port}`, 10_000, 25);
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(sig);
    await exited;
    this.child = undefined;
  }

  stop(): Promise<void> { return this.signal('SIGTERM'); }
  kill(): Promise<void> { return this.signal('SIGKILL'); }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class ExternalRedis implements TestRedis {
  readonly own = false;
  readonly port: number;
  constructor(readonly url: string) { this.port = Number(new URL(url).port || 6379); }
  dbUrl(db: number): string { return withDb(this.url, db); }
  private refuse(): never { throw new Error('REDIS_URL points at a server this harness cannot stop or restart'); }
  stop(): Promise<void> { return Promise.resolve(); }
  kill(): Promise<void> { this.refuse(); }
  start(): Promise<void> { this.refuse(); }
}

const started: OwnRedis[] = [];

/** Start a private redis-server (or use `REDIS_URL` when set and no own server is required). */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const external = process.env.REDIS_URL;
  if (external && !options.persistence && !options.args && !options.tls) return new ExternalRedis(external);
  const server = new OwnRedis(await freePort(), options);
  started.push(server);
  await server.start();
  return server;
}

/** A Redis Sentinel watching `masterPort` as master `name`; returns its port. Stopped with the other servers. */
export async function startSentinel(masterPort: number, name = 'mymaster'): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'radish-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${name} 127.0.0.1 ${masterPort} 1\n`);
  const server = new OwnRedis(port, { args: [] }, [conf, '--sentinel']);
  started.push(server);
  await server.start();
  return server;
}

export interface RedisHarnessOptions extends StartRedisOptions {
  /** Empty the database before every test. Default true; false for a suite whose workers keep state across tests. */
  flush?: boolean;
  /** Options of the plain connection, e.g. `{ maxRetriesPerRequest: null }` to wait through a restart. */
  client?: RedisOptions;
}

export interface RedisHarness {
  readonly server: TestRedis;
  /** A plain connection for setting up and looking at keys. */
  readonly redis: Redis;
  /** Another connection to the server (to database `db`, default the server's), closed with the suite. */
  connect(options?: RedisOptions & { db?: number }): Redis;
  /** Replace the plain connection with a fresh one, e.g. once a restarted server is back. */
  reconnect(): void;
}

/** A connection that stays quiet about refused connections: suites stop servers under it, commands still reject. */
function quietConnection(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, options);
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Inside a `describe`: a server of the suite's own (or `REDIS_URL`'s, see {@link startRedis}) started before its
 * tests, a plain connection to it, an empty database before every test (unless `flush: false`), everything closed
 * after. Mocha runs `after` hooks in the order they are defined: an `after` that needs Redis up goes above this call.
 */
export function redisHarness(options: RedisHarnessOptions = {}): RedisHarness {
  const { flush = true, client, ...serverOptions } = options;
  let server: TestRedis | undefined;
  let redis: Redis | undefined;
  const others = new Set<Redis>();
  const started = (): TestRedis => {
    if (!server) throw new Error('redisHarness() starts its server in a before hook: use it in hooks and tests');
    return server;
  };

  before(async () => {
    server = await startRedis(serverOptions);
    redis = quietConnection(server.url, client);
  });
  if (flush) beforeEach(async () => { await h.redis.flushdb(); });
  after(async () => {
    redis?.disconnect();
    for (const other of others) other.disconnect();
    others.clear();
    await server?.stop();
  });

  const h: RedisHarness = {
    get server() { return started(); },
    get redis() {
      if (!redis) throw new Error('redisHarness() connects in a before hook: use it in hooks and tests');
      return redis;
    },
    connect({ db, ...rest } = {}) {
      const s = started();
      const other = quietConnection(db === undefined ? s.url : s.dbUrl(db), rest);
      others.add(other);
      other.once('end', () => others.delete(other));
      return other;
    },
    reconnect() {
      redis?.disconnect();
      redis = quietConnection(started().url, client);
    },
  };
  return h;
}

/** In a mocha hook or test: skip (with the reason printed) unless the harness owns the server. */
export function requireOwnServer(ctx: Mocha.Context, redis: TestRedis): void {
  if (!redis.own) {
    console.log(`      skipped: needs a redis-server of its own to stop and restart (REDIS_URL=${redis.url})`);
    ctx.skip();
  }
}

/** Stop every server this process started (registered as a root hook in register.js). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all(started.splice(0).map((s) => s.dispose()));
}

/** The Redis connections `open` makes (each as it connects), for a test to check what became of them. */
export async function connectionsMadeBy<T>(open: () => Promise<T>): Promise<{ value: T; made: Redis[] }> {
  const made: Redis[] = [];
  const connect = Redis.prototype.connect;
  Redis.prototype.connect = function (this: Redis, ...args: Parameters<Redis['connect']>) {
    made.push(this);
    return connect.apply(this, args);
  };
  try {
    return { value: await open(), made };
  } finally {
    Redis.prototype.connect = connect;
  }
}

/**
 * Whether a connection will try again to reach its server: it is not closed, nor being closed. (One closed while the
 * server is down keeps the status it had, 'reconnecting' or a stale 'ready', until its socket's end is seen.)
 */
export function willReconnect(redis: Redis): boolean {
  return redis.status !== 'end' && !(redis as unknown as { manuallyClosing?: boolean }).manuallyClosing;
}
