/**
 * What tools (the CLI, the VS Code extension) need to look at and repair a Radish/Celery deployment: queues and
 * their messages, the dead-letter list (replay, edit, discard), workers, results, and how to call a task again.
 * Built on the broker, its presence records and the result backend: nothing here names a key or sends a command.
 */
import { randomUUID } from 'node:crypto';
import type { Radish } from './app';
import type { DeadLetterRecord, QueueDepth } from './broker/transport';
import { decodeTaskMessage, ProtocolError, type JsonObject, type TaskMessage } from './protocol/message';
import { argsRepr, kwargsRepr } from './protocol/pyrepr';
import type { ResultMeta } from './protocol/result';
import type { TaskRecord } from './monitor/history';
import { parsePythonLiteral } from './protocol/pyliteral';
import { listPresences, type WorkerPresence } from './broker/presence';
import { errorMessage } from './errors';

/** One waiting message, decoded when possible. */
export interface QueuedMessage {
  raw: string;
  priority: number;
  /** The decoded task, or undefined with `error` when it cannot be read. */
  task?: TaskMessage;
  error?: string;
}

/** One dead-letter record with its message decoded when possible. */
export interface DeadLetter {
  /** The record exactly as stored: the handle for replay and discard. */
  stored: string;
  record: DeadLetterRecord;
  task?: TaskMessage;
  error?: string;
}

export interface WorkerInfo {
  hostname: string;
  /** `radish` for Radish workers (with full presence), `celery` for nodes seen only in the pidbox bindings. */
  kind: 'radish' | 'celery';
  presence?: WorkerPresence;
}

/** A task's name, arguments and queue, enough to send it again. */
export interface TaskCallSpec {
  name: string;
  args: unknown[];
  kwargs: JsonObject;
  queue?: string;
  /** Where the arguments came from: the stored result (exact JSON) or the events' Python reprs (read back). */
  source: 'result' | 'events';
}

export interface ReplayOptions {
  /** Replace the positional arguments (validated: must be an array). */
  args?: unknown[];
  /** Replace the keyword arguments (validated: must be an object). */
  kwargs?: JsonObject;
  /**
   * Send it as a new task under this id instead of its own, so the failed attempt stays on record beside the new
   * one (a root task becomes its own root; a canvas member keeps its parent, root and group, so its chord still
   * counts it). Without it the task keeps its id, and whoever waits on that id gets the new outcome.
   */
  taskId?: string;
}

function decode(raw: string): { task?: TaskMessage; error?: string } {
  try {
    return { task: decodeTaskMessage(raw) };
  } catch (err) {
    return { error: err instanceof ProtocolError ? err.reason : String(err) };
  }
}

export class Inspector {
  constructor(private readonly app: Radish) {}

  /** Depths of the declared queues (plus `extra`), one pipelined round-trip for the depths. */
  async queues(extra: readonly string[] = []): Promise<QueueDepth[]> {
    const broker = await this.app.broker();
    const names = [...new Set([this.app.defaultQueue, ...extra, ...(await broker.declaredQueues())])].sort();
    return broker.depths(names);
  }

  /** A page of a queue's waiting messages, in the order they will run. */
  async messages(queue: string, offset = 0, limit = 100): Promise<QueuedMessage[]> {
    const page = await (await this.app.broker()).peek(queue, offset, limit);
    return page.map(({ raw, priority }) => ({ raw, priority, ...decode(raw) }));
  }

  async purge(queue: string): Promise<number> {
    return (await this.app.broker()).purge(queue);
  }

  async deadLetterCount(): Promise<number> {
    return (await this.app.broker()).deadLetterCount();
  }

  /** A page of the dead-letter list, newest first. */
  async deadLetters(offset = 0, limit = 100): Promise<DeadLetter[]> {
    const stored = await (await this.app.broker()).deadLetters(offset, limit);
    return stored.map((s) => {
      let record: DeadLetterRecord;
      try {
        record = JSON.parse(s) as DeadLetterRecord;
      } catch {
        record = { reason: 'unreadable dead-letter record', queue: '', worker: '', time: 0, raw: s };
      }
      return { stored: s, record, ...decode(record.raw) };
    });
  }

  /**
   * Publish a dead-lettered task again to its original queue, optionally with edited arguments or as a new task
   * (`taskId`), and remove the record, atomically. Under its own id, its stored FAILURE goes first so a caller
   * waiting on that id gets the new outcome; under a new id it goes afterwards, so the task is not listed as failed
   * any more. Returns the id sent; throws when the message cannot be decoded or the record is gone.
   */
  async replay(letter: DeadLetter, options: ReplayOptions = {}): Promise<string> {
    if (!letter.task) throw new Error(`cannot replay: ${letter.error ?? 'the message is not a task'}`);
    checkArguments(options);
    const task = letter.task;
    const queue = letter.record.queue || task.routingKey || this.app.defaultQueue;
    const id = options.taskId ?? task.id;
    const message = options.args === undefined && options.kwargs === undefined && id === task.id
      ? letter.record.raw
      : reencode(task, options.args ?? task.args, options.kwargs ?? task.kwargs, id);
    const backend = await this.app.backend();
    if (id === task.id) await backend.forget(task.id);
    const ok = await (await this.app.broker()).replayDeadLetter(letter.stored, queue, task.priority, message);
    if (!ok) throw new Error(`task ${task.id} is no longer in the dead-letter queue (replayed or discarded meanwhile)`);
    if (id !== task.id) await this.forgetFailure(task.id);
    return id;
  }

  /**
   * Remove a dead-letter record and, once it is removed, the task's stored FAILURE result too: a Radish failure is
   * in both places, and either one left behind would still show as the failed task. Resolves false, touching
   * nothing else, when the record was gone already (replayed or discarded meanwhile).
   */
  async discard(letter: DeadLetter): Promise<boolean> {
    const removed = await (await this.app.broker()).discardDeadLetter(letter.stored);
    const id = letter.task?.id ?? letter.record.task_id;
    if (removed && id) await this.forgetFailure(id);
    return removed;
  }

  async purgeDeadLetters(): Promise<number> {
    return (await this.app.broker()).purgeDeadLetters();
  }

  /** Radish workers (from their presence records) and Celery nodes (from kombu's pidbox bindings). */
  async workers(): Promise<WorkerInfo[]> {
    const broker = await this.app.broker();
    const store = await this.app.sharedStore();
    const found = new Map<string, WorkerInfo>();
    for (const presence of store ? await listPresences(store.redis, store.keys) : []) {
      found.set(presence.hostname, { hostname: presence.hostname, kind: 'radish', presence });
    }
    for (const node of await broker.pidboxNodes()) {
      if (!found.has(node)) found.set(node, { hostname: node, kind: 'celery' });
    }
    return [...found.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  /**
   * FAILURE results in the result backend (e.g. of Celery workers, whose failures never reach the dead-letter
   * list), newest first. Scans at most `scanBudget` keys, so a huge keyspace costs a bounded refresh.
   */
  async failedResults(limit = 200, scanBudget = 20_000): Promise<ResultMeta[]> {
    return (await this.app.backend()).failures(limit, scanBudget);
  }

  /**
   * Send a failed task again from its stored result (it needs Celery's `result_extended`, which keeps the name and
   * arguments), under the same id or as a new task (`taskId`), optionally with new arguments. The stored FAILURE is
   * removed either way (before sending under the same id), so the task is not listed as failed any more. Returns
   * the id sent.
   */
  async retryResult(meta: ResultMeta, options: ReplayOptions = {}): Promise<string> {
    if (!meta.name) throw new Error(`task ${meta.task_id} cannot be retried: its result has no task name (the worker needs result_extended)`);
    checkArguments(options);
    const id = options.taskId ?? meta.task_id;
    const backend = await this.app.backend();
    if (id === meta.task_id) await backend.forget(meta.task_id);
    await this.app.send(meta.name, options.args ?? meta.args ?? [], options.kwargs ?? meta.kwargs ?? {}, {
      taskId: id, queue: meta.queue || undefined,
    });
    if (id !== meta.task_id) await this.forgetFailure(meta.task_id);
    return id;
  }

  /** Remove a stored result. */
  async forgetResult(taskId: string): Promise<void> {
    await (await this.app.backend()).forget(taskId);
  }

  /**
   * Remove a task's stored result if it is a FAILURE; any other outcome (a retry under the same id that has
   * succeeded meanwhile, say) stays. Resolves true when a FAILURE was removed.
   */
  async forgetFailure(taskId: string): Promise<boolean> {
    const backend = await this.app.backend();
    const stored = await backend.get(taskId).catch(() => null);
    if (stored?.status !== 'FAILURE') return false;
    await backend.forget(taskId);
    return true;
  }

  /**
   * How to call a task seen in the history again: its name, JSON arguments and queue. The arguments come from the
   * stored result when the worker keeps them (`result_extended`: full JSON), else from the Python reprs its events
   * carried, read back as JSON; throws with the reason when neither can give them (a repr cut at 1024
   * characters, a value JSON cannot hold).
   */
  async callOf(record: TaskRecord): Promise<TaskCallSpec> {
    if (!record.name) throw new Error(`task ${record.id} has no known name (no task-received or task-sent event was seen)`);
    const meta = await this.result(record.id).catch(() => null);
    const queue = meta?.queue || record.queue || record.routingKey || undefined;
    if (meta?.args !== undefined && meta.kwargs !== undefined) {
      return { name: record.name, args: meta.args, kwargs: meta.kwargs, queue, source: 'result' };
    }
    if (record.args === undefined) throw new Error(`the arguments of ${record.name}[${record.id}] were never seen (no task-received or task-sent event)`);
    let args: unknown;
    let kwargs: unknown;
    try {
      args = parsePythonLiteral(record.args);
      kwargs = parsePythonLiteral(record.kwargs ?? '{}');
    } catch (err) {
      throw new Error(`the arguments of ${record.name}[${record.id}] cannot be read back as JSON: ${errorMessage(err)}`);
    }
    if (!Array.isArray(args) || typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) {
      throw new Error(`the arguments of ${record.name}[${record.id}] are not an args tuple and a kwargs dict: ${record.args} ${record.kwargs ?? ''}`);
    }
    return { name: record.name, args, kwargs: kwargs as JsonObject, queue, source: 'events' };
  }

  /** The stored result of a task, or null while PENDING. */
  async result(taskId: string): Promise<ResultMeta | null> {
    return (await this.app.backend()).get(taskId);
  }
}

function checkArguments(options: ReplayOptions): void {
  if (options.args !== undefined && !Array.isArray(options.args)) throw new TypeError('args must be a JSON array');
  if (options.kwargs !== undefined && (typeof options.kwargs !== 'object' || options.kwargs === null || Array.isArray(options.kwargs))) {
    throw new TypeError('kwargs must be a JSON object');
  }
}

/**
 * The same task message with new arguments (and their Python reprs) under task id `id`, ready to publish. A new id
 * is also the message's correlation id, and the root id of a task that was its own root.
 */
function reencode(task: TaskMessage, args: unknown[], kwargs: JsonObject, id: string): string {
  const envelope = structuredClone(task.envelope);
  envelope.body = Buffer.from(JSON.stringify([args, kwargs, task.embed]), 'utf8').toString('base64');
  envelope.headers.argsrepr = argsRepr(args);
  envelope.headers.kwargsrepr = kwargsRepr(kwargs);
  if (id !== task.id) {
    envelope.headers.id = id;
    if (envelope.headers.root_id === task.id) envelope.headers.root_id = id;
    envelope.properties.correlation_id = id;
  }
  envelope.properties.body_encoding = 'base64';
  envelope.properties.delivery_tag = randomUUID();
  return JSON.stringify(envelope);
}
