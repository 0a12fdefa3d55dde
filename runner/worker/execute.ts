/** Run one decoded task message against its definition: bind the arguments, call, classify the outcome. */
import { bindArguments } from '../params';
import type { TaskMessage } from '../protocol/message';
import { autoRetry, makeRetry, Retry, type TaskContext, type TaskDefinition, type TaskRequest } from '../task';

/** How one task call ended. Runtime in seconds. */
export type Outcome =
  | { kind: 'success'; value: unknown; runtime: number }
  | { kind: 'retry'; retry: Retry; runtime: number }
  /** `abandoned`: the async pool gave up on it (hard time limit) though its code may still be running. */
  | { kind: 'failure'; error: unknown; runtime: number; abandoned?: boolean }
  /** Terminated on request (revoke with terminate). */
  | { kind: 'revoked'; signal: NodeJS.Signals; runtime: number }
  /** The pool was closed cold under it: nothing is stored, the worker gives the message back. */
  | { kind: 'interrupted'; runtime: number };

export function requestOf(msg: TaskMessage, queue: string, hostname: string): TaskRequest {
  return {
    id: msg.id,
    task: msg.name,
    args: msg.args,
    kwargs: msg.kwargs,
    retries: msg.retries,
    queue,
    priority: msg.priority,
    eta: msg.eta,
    expires: msg.expires,
    parentId: msg.parentId,
    rootId: msg.rootId,
    groupId: msg.groupId,
    hostname,
    redelivered: msg.redelivered,
    properties: msg.envelope.properties,
  };
}

/** Call the task function. Never throws: every result, retry or error comes back as an Outcome. */
export async function execute(def: TaskDefinition, request: TaskRequest, signal: AbortSignal): Promise<Outcome> {
  const started = performance.now();
  try {
    const positional = bindArguments(def.name, def.params, request.args, request.kwargs);
    let value: unknown;
    if (def.options.bind) {
      const context: TaskContext = {
        name: def.name,
        request,
        signal,
        retry(options) {
          throw makeRetry(def, request, options);
        },
      };
      value = await (def.fn as (ctx: TaskContext, ...args: unknown[]) => unknown)(context, ...positional);
    } else {
      value = await (def.fn as (...args: unknown[]) => unknown)(...positional);
    }
    return { kind: 'success', value: value === undefined ? null : value, runtime: secondsSince(started) };
  } catch (err) {
    if (err instanceof Retry) return { kind: 'retry', retry: err, runtime: secondsSince(started) };
    const retry = autoRetry(def, request, err);
    if (retry instanceof Retry) return { kind: 'retry', retry, runtime: secondsSince(started) };
    return { kind: 'failure', error: retry ?? err, runtime: secondsSince(started) };
  }
}

/** Seconds since `started` (a performance.now() reading); no closure per call. */
function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}
