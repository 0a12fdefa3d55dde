/**
 * A worker's metrics endpoint (`radish worker --metrics-port N`): its {@link WorkerMetrics} on an HTTP server, and,
 * when asked (`--metrics-queues`), the queue-level metrics of the queues it consumes. Queue metrics are off by
 * default on a worker: every worker of a fleet would read the same queues at each scrape; `radish exporter` reads
 * them once for the fleet.
 */
import type { Broker } from '../broker/transport';
import type { Logger } from '../log';
import { QueueMetrics } from '../metrics/queue-metrics';
import { MetricsServer } from '../metrics/server';
import { WorkerMetrics, type MeteredWorker } from './metrics';

/** Where a worker serves its metrics (compiled from {@link WorkerOptions}'s `metricsPort`, `metricsHost`, `metricsQueues`). */
export interface WorkerMetricsConfig {
  readonly port: number;
  readonly host: string;
  /** Serve the depth and oldest age of the worker's queues too. */
  readonly queues: boolean;
}

/** A running endpoint; `close()` stops counting and listening (idempotent). */
export interface WorkerMetricsEndpoint {
  readonly port: number;
  readonly metrics: WorkerMetrics;
  close(): Promise<void>;
}

/** Start counting the worker's events and serving them. Rejects (nothing left running) when the port is taken. */
export async function startWorkerMetrics(worker: MeteredWorker & { readonly queues: readonly string[] }, broker: Broker,
  config: WorkerMetricsConfig, logger: Logger): Promise<WorkerMetricsEndpoint> {
  const metrics = new WorkerMetrics(worker);
  const queueMetrics = config.queues ? new QueueMetrics(metrics.registry, broker, () => Promise.resolve(worker.queues)) : undefined;
  const server = await MetricsServer.listen(metrics.registry, {
    port: config.port, host: config.host, beforeScrape: queueMetrics ? [() => queueMetrics.refresh()] : [],
  });
  metrics.attach();
  logger.log('info', `Metrics at http://${config.host}:${server.port}/metrics${config.queues ? ' (with queue depths)' : ''}`);
  let closing: Promise<void> | undefined;
  return {
    port: server.port,
    metrics,
    close: () => {
      closing ??= (async () => {
        metrics.close();
        await server.close();
      })();
      return closing;
    },
  };
}
