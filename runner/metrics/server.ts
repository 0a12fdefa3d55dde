/**
 * The HTTP endpoint Prometheus scrapes: GET (or HEAD) /metrics renders a registry in the text exposition format
 * (prom-client's content type), after the scrape's refreshes (queue stats: read once per scrape, not per metric);
 * anything else is 404 (405 for another method on /metrics). Closing stops listening and ends open connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorMessage } from '../errors';

export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one (see {@link MetricsServer.port}). */
  port: number;
  /** Interface to listen on. Default `0.0.0.0` (every interface, as Prometheus scrapes from elsewhere). */
  host?: string;
  /** Run before each scrape renders, together (e.g. {@link QueueMetrics.refresh}). */
  beforeScrape?: (() => Promise<void>)[];
}

export class MetricsServer {
  private readonly server: Server;
  private closing: Promise<void> | undefined;
  private listening = 0;

  private constructor(private readonly registry: Registry, private readonly options: MetricsServerOptions) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** A server listening on the options' port; rejects (saying which port) when it cannot listen. */
  static async listen(registry: Registry, options: MetricsServerOptions): Promise<MetricsServer> {
    const server = new MetricsServer(registry, options);
    const host = options.host ?? '0.0.0.0';
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', (err) => reject(new Error(`metrics: cannot listen on ${host}:${options.port}: ${errorMessage(err)}`)));
      server.server.listen(options.port, host, () => resolve());
    });
    server.listening = (server.server.address() as AddressInfo).port;
    return server;
  }

  /** The port it listens on (the one picked when asked for 0), closed or not. */
  get port(): number {
    return this.listening;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
      return;
    }
    try {
      await Promise.all((this.options.beforeScrape ?? []).map((refresh) => refresh()));
      const body = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics: ${errorMessage(err)}\n`);
    }
  }

  /** Stop listening and end open connections (a scrape's keep-alive). Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }
}
