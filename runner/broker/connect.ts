/** The one place a broker URL picks its transport: `amqp://` (and `amqps://`, `pyamqp://`) or Redis. */
import { AmqpBroker } from './amqp/amqp-broker';
import { isAmqpUrl } from './amqp/url';
import { DEFAULT_BROKER_URL } from './connection';
import { RedisBroker } from './redis-broker';
import type { Broker, BrokerOptions } from './transport';

export interface BrokerConnectOptions {
  /** Shown in the broker's client list (Redis `CLIENT LIST`, RabbitMQ's connections). */
  name?: string;
  /** Warnings for a human (AMQP: a queue declared with other arguments). Default: stderr. */
  warn?: (message: string) => void;
}

/** Connect to the broker a URL names. Throws RedisUnavailableError / AmqpUnavailableError when it does not answer. */
export function connectBroker(config: BrokerOptions = {}, options: BrokerConnectOptions = {}): Promise<Broker> {
  const url = config.url ?? DEFAULT_BROKER_URL;
  if (isAmqpUrl(url)) return AmqpBroker.connect({ ...config, url }, options);
  return RedisBroker.connect(config, options.name ? { name: options.name } : {});
}

/** Whether a broker URL names RabbitMQ (AMQP) rather than Redis. */
export function isAmqpBroker(url: string | undefined): boolean {
  return isAmqpUrl(url ?? DEFAULT_BROKER_URL);
}
