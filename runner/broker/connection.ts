/**
 * Redis connections from Celery-style URLs: `redis://[:password@]host[:port][/db]`, `rediss://` (TLS),
 * `unix:///path/to.sock`, and Sentinel as kombu writes it:
 * `sentinel://[:password@]host:26379[;sentinel://host2:26379][/db]?master_name=mymaster`.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import Redis, { type RedisOptions } from 'ioredis';
import { errorMessage } from '../errors';

export const DEFAULT_BROKER_URL = 'redis://127.0.0.1:6379/0';

export interface ConnectionConfig {
  /** Celery-style URL. Default `redis://127.0.0.1:6379/0`. */
  url?: string;
  /** Password that overrides the URL's (e.g. kept in a secret store rather than in the URL). */
  password?: string;
  /** Sentinel master name, when the URL does not say `?master_name=`. */
  sentinelMaster?: string;
  /** Extra TLS options (CA, client certificate) for `rediss://`. */
  tls?: TlsOptions;
  /** How long the first connection may take before it counts as unreachable. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Hold commands while the connection is down and send them once it is back (default true: a worker rides out an
   * outage). False makes every command fail at once instead, which suits an interactive tool (the extension).
   */
  offlineQueue?: boolean;
}

/** Redis could not be reached; the message names the URL (password hidden) and the cause. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** The URL with any password replaced by `***`, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@;]*:)[^@/;]*@/g, '$1***@');
}

function dbFromPath(pathname: string, url: string): number {
  const raw = pathname.replace(/^\//, '');
  if (raw === '') return 0;
  const db = Number(raw);
  if (!Number.isInteger(db) || db < 0) throw new Error(`invalid database number ${JSON.stringify(raw)} in ${redactUrl(url)}`);
  return db;
}

/** TLS options from kombu's URL query (`ssl_cert_reqs`, `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`), Redis's and AMQP's alike. */
export function tlsFromQuery(params: URLSearchParams, extra: TlsOptions | undefined): TlsOptions {
  const tls: TlsOptions = { ...extra };
  const reqs = params.get('ssl_cert_reqs');
  if (reqs && /^(none|CERT_NONE)$/i.test(reqs)) tls.rejectUnauthorized = false;
  const ca = params.get('ssl_ca_certs');
  if (ca) tls.ca = readFileSync(ca);
  const cert = params.get('ssl_certfile');
  if (cert) tls.cert = readFileSync(cert);
  const key = params.get('ssl_keyfile');
  if (key) tls.key = readFileSync(key);
  return tls;
}

/** Translate a Celery-style URL into ioredis options (no connection is made). */
export function redisOptions(config: ConnectionConfig = {}): RedisOptions {
  const url = config.url ?? DEFAULT_BROKER_URL;
  if (url.startsWith('sentinel://')) return sentinelOptions(url, config);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid Redis URL ${JSON.stringify(redactUrl(url))}`);
  }
  const params = parsed.searchParams;
  const password = config.password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined);
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const common: RedisOptions = { password, username: username || undefined };
  switch (parsed.protocol) {
    case 'redis:':
    case 'rediss:':
      return {
        ...common,
        host: parsed.hostname || '127.0.0.1',
        port: parsed.port ? Number(parsed.port) : 6379,
        db: dbFromPath(parsed.pathname, url),
        ...(parsed.protocol === 'rediss:' || config.tls ? { tls: tlsFromQuery(params, config.tls) } : {}),
      };
    case 'unix:':
    case 'redis+socket:':
      return { ...common, path: parsed.pathname, db: Number(params.get('db') ?? params.get('virtual_host') ?? 0) };
    default:
      throw new Error(`unsupported Redis URL scheme ${JSON.stringify(parsed.protocol)} in ${redactUrl(url)} (use redis://, rediss://, unix:// or sentinel://)`);
  }
}

function sentinelOptions(url: string, config: ConnectionConfig): RedisOptions {
  const parts = url.split(';').map((p) => p.trim()).filter(Boolean);
  const sentinels: { host: string; port: number }[] = [];
  let password: string | undefined;
  let db = 0;
  let params = new URLSearchParams();
  for (const part of parts) {
    const parsed = new URL(part.replace(/^sentinel:/, 'redis:'));
    sentinels.push({ host: parsed.hostname, port: parsed.port ? Number(parsed.port) : 26379 });
    if (parsed.password) password = decodeURIComponent(parsed.password);
    if (parsed.pathname && parsed.pathname !== '/') db = dbFromPath(parsed.pathname, url);
    if ([...parsed.searchParams].length) params = parsed.searchParams;
  }
  const name = config.sentinelMaster ?? params.get('master_name') ?? undefined;
  if (!name) throw new Error(`Sentinel URL ${redactUrl(url)} needs a master name (?master_name=mymaster or the sentinelMaster option)`);
  return {
    sentinels,
    name,
    db,
    password: config.password ?? password,
    sentinelPassword: params.get('sentinel_password') ?? undefined,
    ...(config.tls ? { tls: config.tls, enableTLSForSentinelMode: true } : {}),
  };
}

export interface ConnectOptions {
  /** Shown in errors and in `CLIENT LIST` (e.g. `radish-worker`). */
  name?: string;
  /** Batch commands issued in the same tick into one write. Default true. */
  autoPipelining?: boolean;
  /** Called on every connection error after the first successful connect (the caller decides what to log). */
  onError?: (err: Error) => void;
  /** Called once the connection is ready again after an outage. */
  onReconnect?: () => void;
}

/**
 * Open a connection and wait until it is ready. Fails with RedisUnavailableError when the first connection
 * cannot be made in time; after that it reconnects for ever with capped exponential backoff, and commands
 * issued meanwhile wait in the offline queue.
 */
export async function connect(config: ConnectionConfig, options: ConnectOptions = {}): Promise<Redis> {
  const url = config.url ?? DEFAULT_BROKER_URL;
  const base = redisOptions(config);
  const timeout = config.connectTimeoutMs ?? 5000;
  const redis = new Redis({
    ...base,
    connectionName: options.name,
    enableAutoPipelining: options.autoPipelining ?? true,
    maxRetriesPerRequest: config.offlineQueue === false ? 0 : null,
    enableOfflineQueue: config.offlineQueue !== false,
    lazyConnect: true,
    connectTimeout: timeout,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 6), 5000),
  });
  let connected = false;
  let failFirst: ((err: Error) => void) | undefined;
  redis.on('error', (err: Error) => {
    if (connected) options.onError?.(err);
    else failFirst?.(err);
  });
  redis.on('ready', () => {
    if (connected) options.onReconnect?.();
  });
  try {
    // The first connection fails on its first error: the user gets a clear message at once, not after retries.
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => {
        failFirst = reject;
        setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout).unref();
      }),
    ]);
  } catch (err) {
    redis.disconnect();
    throw new RedisUnavailableError(`cannot connect to Redis at ${redactUrl(url)}: ${errorMessage(err)}`);
  }
  connected = true;
  return redis;
}
