/**
 * The optional OpenTelemetry API, and whether tracing is on. `@opentelemetry/api` is an optional peer dependency:
 * Radish never bundles it and never requires it at load time. It is required on first use, at run time, from the
 * application's own location first (the task module the worker loaded, the process's main module, the working
 * directory), then from Radish's: so the copy Radish uses is the application's own whenever there is one. Any copy
 * of API 1.x would do for the provider itself (the API keeps its registrations in one globalThis entry that every
 * compatible copy reads), but a copy older than the one that registered the provider is refused by that registry;
 * the application's own copy never is.
 *
 * Tracing is on while a tracer provider is registered (`trace.setGlobalTracerProvider`, or an SDK's `register()`);
 * it is checked on each use, without allocating, so a provider registered after Radish loaded is picked up, and
 * without one (or without the package) nothing is injected, allocated or sent.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as OtelApi from '@opentelemetry/api';
import { VERSION } from '../version';

/** The API module's shape (types only: nothing of it is loaded unless it is installed). */
export type Api = typeof OtelApi;

/** The API and Radish's tracer, while tracing is on. */
export interface Tracing {
  readonly api: Api;
  readonly tracer: OtelApi.Tracer;
}

/** The globalThis key of OpenTelemetry API 1.x's registry (the API's own `Symbol.for('opentelemetry.js.api.1')`). */
const GLOBAL_REGISTRY = Symbol.for('opentelemetry.js.api.1');

/** Where to resolve the API from before the defaults (task modules' paths), most recent first. */
const bases: string[] = [];
/** undefined: not tried yet; null: not installed anywhere we looked. */
let loaded: Api | null | undefined;
/** The API's no-op provider (what an empty proxy delegates to), of the copy loaded. */
let noop: OtelApi.TracerProvider | undefined;
/** Radish's tracer, and the provider it came from (a provider registered later gets a tracer of its own). */
let cached: { provider: OtelApi.TracerProvider; tracing: Tracing } | undefined;

/**
 * Resolve `@opentelemetry/api` from this file's location too (a task module's), before the defaults. Called by the
 * worker's loader for the module it loads; an earlier failed attempt is forgotten, so the next use tries again.
 */
export function resolveApiFrom(path: string): void {
  if (bases.includes(path)) return;
  bases.unshift(path);
  if (loaded === null) loaded = undefined;
}

function load(): Api | null {
  const candidates = [...bases, require.main?.filename, join(process.cwd(), 'package.json'), __filename];
  for (const base of candidates) {
    if (!base) continue;
    try {
      // createRequire, not require: a bundler must not see (and bundle) the optional peer dependency.
      const api = createRequire(base)('@opentelemetry/api') as Api;
      if (typeof api.trace?.getTracerProvider === 'function') return api;
    } catch {
      // Not installed where this base resolves from: try the next.
    }
  }
  return null;
}

/** The API, if it is installed (loaded on first call). */
export function otelApi(): Api | undefined {
  if (loaded === undefined) {
    loaded = load();
    if (loaded) noop = new loaded.ProxyTracerProvider().getDelegate();
  }
  return loaded ?? undefined;
}

/**
 * The API and Radish's tracer when a tracer provider is registered; undefined otherwise (no API, or no provider),
 * which every caller takes as "tracing is off, do nothing". Allocates nothing when off.
 */
export function tracing(): Tracing | undefined {
  // Where every copy of API 1.x keeps its registrations: nothing under `trace` means no provider, whichever copy
  // would be asked (a few ns, where asking the API is ~100 ns a message), and the API need not even be loaded.
  if ((globalThis as { [GLOBAL_REGISTRY]?: { trace?: unknown } })[GLOBAL_REGISTRY]?.trace === undefined) return undefined;
  const api = loaded === undefined ? otelApi() : loaded;
  if (!api) return undefined;
  const provider = api.trace.getTracerProvider();
  // A provider registered through this copy sits behind its proxy; one registered through another copy is that
  // copy's proxy (not an instance of this copy's class), which is a registration all the same.
  const delegate = provider instanceof api.ProxyTracerProvider ? provider.getDelegate() : provider;
  if (delegate === noop) return undefined;
  if (cached?.provider !== delegate) cached = { provider: delegate, tracing: { api, tracer: provider.getTracer('radish', VERSION) } };
  return cached.tracing;
}
