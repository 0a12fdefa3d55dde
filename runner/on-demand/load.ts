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

/** The transpiler, while it is loaded. */
let transpiler: typeof Sucrase | undefined;

export function sucrase(): typeof Sucrase {
  return (transpiler ??= require('./sucrase') as typeof Sucrase);
}

/**
 * Let go of the transpiler once the task modules are loaded: a worker runs for hours and transpiles nothing more,
 * so its code and source are left for the collector. A TypeScript module required later loads it again. Only the
 * built runner's own file is let go: from the sources, the package's modules stay where Node put them.
 */
export function releaseSucrase(): void {
  if (!transpiler) return;
  const file = transpiler.filename;
  transpiler = undefined;
  const loaded = require.cache[file];
  if (!loaded || !/[\\/]vendor[\\/]sucrase\.js$/.test(file)) return;
  delete require.cache[file];
  const at = module.children.indexOf(loaded);
  if (at >= 0) module.children.splice(at, 1);
}
