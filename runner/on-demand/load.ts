/**
 * Dependencies a Radish process may never use, loaded on first use: the AMQP client (only with a RabbitMQ broker or
 * backend), Prometheus' client (only with a metrics endpoint or the exporter) and the TypeScript transpiler (only
 * while task modules written in TypeScript load). In the built runner each is a file of its own beside it
 * (dist/vendor/*.js, see esbuild.mjs), so a process that does not use one neither parses nor holds it: a Redis
 * worker's idle memory is smaller by what they would take. From the sources (tests), they are the modules beside
 * this one.
 *
 * Everything else imports these packages' types only; the build fails on any other import of them, which would
 * load them eagerly again.
 */
import type * as Amqplib from './amqplib';
import type * as PromClient from './prom-client';
import type * as Sucrase from './sucrase';

export type { Amqplib, PromClient, Sucrase };

export function amqplib(): typeof Amqplib {
  return require('./amqplib') as typeof Amqplib;
}

export function promClient(): typeof PromClient {
  return require('./prom-client') as typeof PromClient;
}

export function sucrase(): typeof Sucrase {
  return require('./sucrase') as typeof Sucrase;
}
