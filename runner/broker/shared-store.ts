/**
 * The Redis where Radish workers keep what they share beyond Celery's protocol: presence (node names in use, what
 * each holds), revoked ids that outlive restarts, beat's last runs, the task history. It is the broker when the
 * broker is Redis; with RabbitMQ, the Redis result backend (the usual pairing). Without either (RabbitMQ with the
 * rpc backend) there is none, and those records live in each process only, as Celery keeps them.
 */
import type Redis from 'ioredis';
import { Keys } from './keys';
import { RedisBroker } from './redis-broker';
import type { Broker } from './transport';

export interface SharedStore {
  redis: Redis;
  keys: Keys;
}

export function sharedStore(broker: Broker, backend: { readonly redis?: Redis | undefined }): SharedStore | undefined {
  if (broker instanceof RedisBroker) return { redis: broker.redis, keys: broker.keys };
  if (backend.redis) return { redis: backend.redis, keys: new Keys('', backend.redis.options.db ?? 0) };
  return undefined;
}
