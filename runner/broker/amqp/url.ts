/**
 * AMQP broker URLs as Celery (kombu) takes them: `amqp://user:pass@host:5672/vhost`, `amqps://` for TLS,
 * `pyamqp://` as an alias, and several hosts for a cluster as kombu writes failover URLs,
 * `amqp://u:p@h1:5672//;amqp://u:p@h2:5672//`. The virtual host is the path without its first slash, URL-decoded;
 * an empty path or `//` is the default vhost `/`.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { redactUrl, tlsFromQuery } from '../connection';

/** One host of the list, ready for amqplib's connect. */
export interface AmqpEndpoint {
  protocol: 'amqp' | 'amqps';
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  /** TLS options for `amqps://` (query `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`, `ssl_cert_reqs=none`). */
  tls?: TlsOptions;
  /** The URL with its password hidden, for logs. */
  display: string;
}

const SCHEMES = /^(amqps?|pyamqp|amqp\+ssl):\/\//i;

/** Whether a broker URL names an AMQP broker (one of the URLs of a list is enough to tell). */
export function isAmqpUrl(url: string): boolean {
  return SCHEMES.test(url.trim());
}

/**
 * The hosts of an AMQP URL (or `;`-separated list), in order. Credentials and vhost missing from a later URL are
 * taken from the first, as kombu's failover does. `password` overrides the URLs' (kept in a secret store).
 */
export function amqpEndpoints(url: string, options: { password?: string; tls?: TlsOptions } = {}): AmqpEndpoint[] {
  const parts = url.split(';').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('empty AMQP URL');
  const out: AmqpEndpoint[] = [];
  for (const part of parts) {
    const scheme = SCHEMES.exec(part)?.[1]?.toLowerCase();
    if (!scheme) throw new Error(`not an AMQP URL: ${JSON.stringify(redactUrl(part))} (use amqp:// or amqps://)`);
    let parsed: URL;
    try {
      parsed = new URL(part.replace(SCHEMES, 'http://'));
    } catch {
      throw new Error(`invalid AMQP URL ${JSON.stringify(redactUrl(part))}`);
    }
    const first = out[0];
    const secure = scheme === 'amqps' || scheme === 'amqp+ssl' || Boolean(options.tls);
    const path = parsed.pathname;
    const vhost = path === '' || path === '/' ? first?.vhost ?? '/' : decodeURIComponent(path.slice(1));
    const endpoint: AmqpEndpoint = {
      protocol: secure ? 'amqps' : 'amqp',
      hostname: parsed.hostname || '127.0.0.1',
      port: parsed.port ? Number(parsed.port) : secure ? 5671 : 5672,
      username: parsed.username ? decodeURIComponent(parsed.username) : first?.username ?? 'guest',
      password: options.password ?? (parsed.password ? decodeURIComponent(parsed.password) : first?.password ?? 'guest'),
      vhost,
      display: redactUrl(part),
    };
    if (secure) endpoint.tls = tlsFromQuery(parsed.searchParams, options.tls);
    out.push(endpoint);
  }
  return out;
}

/** The management API's base URL for an endpoint: the same host on port 15672 (15671 with TLS), its credentials. */
export function managementUrlOf(endpoint: AmqpEndpoint): string {
  const scheme = endpoint.protocol === 'amqps' ? 'https' : 'http';
  const port = endpoint.protocol === 'amqps' ? 15671 : 15672;
  const host = endpoint.hostname.includes(':') ? `[${endpoint.hostname}]` : endpoint.hostname;
  return `${scheme}://${encodeURIComponent(endpoint.username)}:${encodeURIComponent(endpoint.password)}@${host}:${port}`;
}
