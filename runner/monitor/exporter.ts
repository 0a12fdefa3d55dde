/**
 * `radish exporter`: a process that only watches a broker and serves, for the whole fleet, what no single worker
 * should: per queue the depth and the age of the oldest waiting message (read once per scrape, see
 * runner/metrics/queue-metrics.ts), and, from the Celery events stream (Radish workers, and Celery workers run
 * with `-E`), the fleet's task and worker metrics under Flower's names (runner/metrics/flower.ts).
 */
import { connectBroker } from '../broker/connect';
import type { Broker, BrokerOptions } from '../broker/transport';
import { EventReceiver } from './receiver';
import type { CeleryEvent } from '../protocol/event';
import { FlowerMetrics } from '../metrics/flower';
import { QueueMetrics } from '../metrics/queue-metrics';
import { MetricsServer } from '../metrics/server';
import { promClient } from '../on-demand/load';

export interface ExporterOptions {
  /** The broker to watch (URL, password, key prefix). */
  broker: BrokerOptions;
  /** TCP port for `/metrics`; 0 picks a free one. */
  port: number;
  /** Interface to listen on. Default `0.0.0.0`. */
  host?: string;
  /**
   * Queues to read. Default: every task queue the broker knows at each scrape (Redis: kombu's bindings; RabbitMQ:
   * the management API's durable queues) and `defaultQueue`.
   */
  queues?: readonly string[];
  /** Added to the broker's queues when `queues` is not given. Default `celery`. */
  defaultQueue?: string;
  /** Listen to the events stream for Flower's metrics. Default true. */
  events?: boolean;
  /** Told of an event that could not be read (the exporter skips it). Default: ignored. */
  onError?: (err: Error) => void;
}

/** A running exporter; {@link Exporter.close} stops it. */
export class Exporter {
  private closing: Promise<void> | undefined;

  private constructor(private readonly broker: Broker, private readonly server: MetricsServer,
    private readonly receiver: EventReceiver | undefined) {}

  /** Connect, listen to events and serve. Rejects, having closed what it opened, when any of it fails. */
  static async start(options: ExporterOptions): Promise<Exporter> {
    const { Registry } = promClient();
    const registry = new Registry();
    const broker = await connectBroker(options.broker, { name: 'radish-exporter' });
    let receiver: EventReceiver | undefined;
    try {
      const fixed = options.queues?.length ? [...options.queues] : undefined;
      const defaultQueue = options.defaultQueue ?? 'celery';
      const queues = fixed ? () => Promise.resolve(fixed)
        : async () => [...new Set([defaultQueue, ...await broker.declaredQueues()])].sort();
      const queueMetrics = new QueueMetrics(registry, broker, queues);
      if (options.events !== false) {
        const flower = new FlowerMetrics(registry);
        receiver = new EventReceiver(options.broker, (event) => feed(flower, event), {
          ...(options.onError ? { onError: options.onError } : {}),
        });
        await receiver.start();
      }
      const server = await MetricsServer.listen(registry, {
        port: options.port, ...(options.host ? { host: options.host } : {}), beforeScrape: [() => queueMetrics.refresh()],
      });
      return new Exporter(broker, server, receiver);
    } catch (err) {
      await receiver?.close().catch(() => undefined);
      await broker.close().catch(() => undefined);
      throw err;
    }
  }

  /** The port it serves on (the one picked when asked for 0). */
  get port(): number {
    return this.server.port;
  }

  /** Stop serving, listening and the broker connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.server.close();
      await this.receiver?.close().catch(() => undefined);
      await this.broker.close().catch(() => undefined);
    })();
    return this.closing;
  }
}

/** One Celery event into Flower's metrics. */
function feed(flower: FlowerMetrics, event: CeleryEvent): void {
  const { type, hostname } = event;
  if (type.startsWith('task-')) {
    if (typeof event.uuid !== 'string') return;
    flower.task({
      type, worker: hostname, uuid: event.uuid, timestamp: event.timestamp,
      name: typeof event.name === 'string' ? event.name : undefined,
      eta: type === 'task-received' ? event.eta !== null && event.eta !== undefined : undefined,
      runtime: typeof event.runtime === 'number' ? event.runtime : undefined,
    });
  } else if (type.startsWith('worker-')) {
    flower.worker(type, hostname, typeof event.active === 'number' ? event.active : undefined);
  }
}
