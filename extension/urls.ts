/**
 * Broker and result backend URLs: which is which, where the extension connects given what the settings and the
 * project name (endpoints.ts reads those), and how a password is put in for a worker. No VS Code here.
 */

/** Where the broker is when nothing names it (the runner's default too). */
export const DEFAULT_BROKER_URL = 'redis://127.0.0.1:6379/0';

/** `amqp://`, `amqps://`, `pyamqp://`: RabbitMQ (the same test as the runner's connectBroker). */
export function isAmqpUrl(url: string): boolean {
  return /^\s*(amqps?|pyamqp|amqp\+ssl):\/\//i.test(url);
}

/** A result backend URL Radish reads: Redis (Celery's `redis://`, `rediss://`, `sentinel://`, `unix://`). */
export function isRedisUrl(url: string): boolean {
  return /^\s*(rediss?|sentinel|unix|redis\+socket):\/\//i.test(url);
}

/**
 * `url` with `password` put in, for a child process (never for display): every URL of a `;`-separated list
 * (kombu's failover lists, Sentinel's). The URL unchanged when there is no password, or it cannot be parsed.
 */
export function withPassword(url: string, password: string | undefined): string {
  if (!password) return url;
  return url.split(';').map((part) => {
    const trimmed = part.trim();
    if (!trimmed) return part;
    try {
      const parsed = new URL(trimmed);
      parsed.password = encodeURIComponent(password);
      return parsed.toString();
    } catch {
      return part;
    }
  }).join(';');
}

/** A URL and where it came from (a setting's name, a project file, the default), for messages. */
export interface Named {
  url: string;
  from: string;
}

export interface Endpoints {
  broker: Named;
  /** The result backend when one is named apart from the broker; undefined: the broker (when it is Redis). */
  backend?: Named;
  /** A result backend the project names that Radish cannot read (`rpc://`, `django-db`...), beside RabbitMQ. */
  unreadableBackend?: Named;
}

/**
 * The endpoints from what the settings and the project name: a setting wins over the project, which wins over the
 * default. The project's result backend counts when it is a Redis apart from the broker; beside RabbitMQ, one that
 * Radish cannot read (`rpc://`, `django-db`) is kept to say why there are no results.
 */
export function decideEndpoints(set: { broker?: Named; backend?: Named }, project: { broker?: Named; backend?: Named }): Endpoints {
  const broker = set.broker ?? project.broker ?? { url: DEFAULT_BROKER_URL, from: 'the default' };
  if (set.backend) return { broker, backend: set.backend };
  const named = project.backend;
  if (!named || named.url === broker.url) return { broker };
  if (isRedisUrl(named.url)) return { broker, backend: named };
  // Beside Redis, results then stay out of reach whatever is said; beside RabbitMQ the error says why there are none.
  return isAmqpUrl(broker.url) ? { broker, unreadableBackend: named } : { broker };
}
