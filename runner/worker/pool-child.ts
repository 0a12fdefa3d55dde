/**
 * The child side of the process pool (`-P process`), and the messages both sides speak over the IPC channel.
 * A child loads the task module once, then runs one task call at a time with `execute()`, each with its own
 * AbortController (aborted by the soft time limit). It is the bundle itself (dist/radish.js) started with
 * RADISH_POOL_CHILD=1, so the task module's `import 'radish'` gets the same classes as this code.
 *
 * Everything crosses the channel as JSON: outcomes as plain data (an error as its Celery type, message, module
 * and stack), rebuilt by the parent (pool-process.ts).
 */
import * as inspector from 'node:inspector';
import { Radish } from '../app';
import { SoftTimeLimitExceeded, errorMessage } from '../errors';
import { exceptionInfo } from '../protocol/result';
import type { TaskRequest } from '../task';
import { execute, type Outcome } from './execute';
import { findApp, loadModule } from './loader';
import { withinCarried } from '../telemetry/index';

/** Set by the parent in the child's environment; the bundle's entry reads it to run `runPoolChild()`. */
export const POOL_CHILD_ENV = 'RADISH_POOL_CHILD';

/** A thrown value as data: an Error by what `exceptionInfo()` reads of it, anything else as its text. */
export type WireThrown =
  | { type: string; message: string; module: string | null; stack: string | null; args?: unknown[] }
  | { text: string };

/** TaskRequest with its dates as epoch milliseconds (JSON has no Date). */
export type WireRequest = Omit<TaskRequest, 'eta' | 'expires'> & { eta: number | null; expires: number | null };

/** The endings a child reports; revoked and interrupted are the parent's doing, never the child's. */
export type WireOutcome =
  | { kind: 'success'; value: unknown; runtime: number }
  | { kind: 'retry'; when: number; message: string; stack: string | null; exc: WireThrown | null; runtime: number }
  | { kind: 'failure'; error: WireThrown; runtime: number };

export type ParentMessage =
  /** First message: which module to load; `attr` as in `-A path:attr`. */
  | { type: 'init'; module: string; attr: string | null; brokerUrl: string | null; backendUrl?: string | null }
  /** `trace`: the run's trace context, as message headers (see PoolJob.trace). */
  | { type: 'run'; request: WireRequest; trace?: Readonly<Record<string, string>> }
  | { type: 'soft'; id: string; limit: number };

export type ChildMessage =
  | { type: 'ready' }
  /** Debug mode: the child's inspector address; it takes no task until a debugger attaches there. */
  | { type: 'debuggee'; url: string }
  | { type: 'init-error'; error: WireThrown }
  | { type: 'done'; id: string; outcome: WireOutcome };

export function toWireThrown(err: unknown): WireThrown {
  if (!(err instanceof Error)) return { text: String(err) };
  const info = exceptionInfo(err);
  const args = (err as { args?: unknown }).args;
  return { type: info.exc_type, message: err.message, module: info.exc_module, stack: err.stack ?? null, ...(Array.isArray(args) ? { args } : {}) };
}

export function toWireRequest(request: TaskRequest): WireRequest {
  return { ...request, eta: request.eta?.getTime() ?? null, expires: request.expires?.getTime() ?? null };
}

function fromWireRequest(request: WireRequest): TaskRequest {
  return {
    ...request,
    eta: request.eta === null ? null : new Date(request.eta),
    expires: request.expires === null ? null : new Date(request.expires),
  };
}

function toWireOutcome(outcome: Outcome): WireOutcome {
  switch (outcome.kind) {
    case 'success':
      try {
        JSON.stringify(outcome.value);
      } catch (err) {
        // The same failure the worker reports when it cannot store a value (a BigInt, a cycle).
        const error = new TypeError(`result is not JSON serializable: ${errorMessage(err)}`);
        return { kind: 'failure', error: toWireThrown(error), runtime: outcome.runtime };
      }
      return outcome;
    case 'retry': {
      const { retry } = outcome;
      return {
        kind: 'retry', when: retry.when.getTime(), message: retry.message, stack: retry.stack ?? null,
        exc: retry.exc === undefined ? null : toWireThrown(retry.exc), runtime: outcome.runtime,
      };
    }
    case 'failure':
      return { kind: 'failure', error: toWireThrown(outcome.error), runtime: outcome.runtime };
    default:
      // execute() never ends this way; say so rather than report a success.
      return { kind: 'failure', error: toWireThrown(new Error(`pool process got a ${outcome.kind} outcome`)), runtime: outcome.runtime };
  }
}

function isApp(v: unknown): v is Radish {
  return v instanceof Radish;
}

/**
 * Serve the parent: load the module named by its `init` message, answer `ready` (or `init-error`), then run each
 * `run` message and answer `done`. Exits when the channel closes: the pool closed it, or the parent died.
 */
export function runPoolChild(): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('runPoolChild() runs in a process forked by the process pool (it has no IPC channel)');
  // Processes a task starts (a `radish` CLI, say) must not become pool children themselves.
  delete process.env[POOL_CHILD_ENV];
  // Parent gone (or closing the pool): nothing left to report to. A busy child gets here once its task yields.
  process.on('disconnect', () => process.exit(0));
  // Ctrl+C in a terminal signals the whole process group: the parent decides (warm, then cold shutdown), as
  // billiard's children ignore SIGINT too. SIGTERM keeps its default: terminate uses it.
  process.on('SIGINT', () => undefined);

  let app: Radish | undefined;
  let running: { id: string; controller: AbortController } | undefined;

  const reply = (msg: ChildMessage) => {
    if (process.connected) send(msg);
  };

  async function init(msg: Extract<ParentMessage, { type: 'init' }>): Promise<void> {
    try {
      const loaded = findApp(await loadModule(msg.module), isApp, msg.attr ?? undefined);
      if (msg.brokerUrl) loaded.useBroker(msg.brokerUrl);
      if (msg.backendUrl) loaded.useBackend(msg.backendUrl);
      app = loaded;
      const url = inspector.url();
      if (url && process.connected) {
        // Debug mode (started with --inspect): say where to attach, and once that has been sent, wait for the
        // debugger, so that its breakpoints are set before the first task runs.
        process.send!({ type: 'debuggee', url } satisfies ChildMessage, () => {
          inspector.waitForDebugger();
          reply({ type: 'ready' });
        });
        return;
      }
      reply({ type: 'ready' });
    } catch (err) {
      reply({ type: 'init-error', error: toWireThrown(err) });
    }
  }

  async function run(wire: WireRequest, trace?: Readonly<Record<string, string>>): Promise<void> {
    const request = fromWireRequest(wire);
    const started = performance.now();
    const def = app?.lookup(request.task);
    let outcome: Outcome;
    if (!def) {
      const error = Object.assign(new Error(`Task of kind '${request.task}' is not registered in the pool process`), { name: 'NotRegistered', excModule: 'celery.exceptions' });
      outcome = { kind: 'failure', error, runtime: (performance.now() - started) / 1000 };
    } else if (running) {
      // The parent gives a child one task at a time; a second one is its bug, reported rather than run.
      outcome = { kind: 'failure', error: new Error(`pool process ${process.pid} is already running ${running.id}`), runtime: 0 };
    } else {
      const controller = new AbortController();
      running = { id: request.id, controller };
      try {
        outcome = await withinCarried(trace, () => execute(def, request, controller.signal));
      } finally {
        running = undefined;
      }
    }
    reply({ type: 'done', id: request.id, outcome: toWireOutcome(outcome) });
  }

  process.on('message', (raw: unknown) => {
    const msg = raw as ParentMessage;
    switch (msg.type) {
      case 'init':
        void init(msg);
        break;
      case 'run':
        void run(msg.request, msg.trace);
        break;
      case 'soft':
        if (running?.id === msg.id) running.controller.abort(new SoftTimeLimitExceeded(msg.limit));
        break;
    }
  });
}
