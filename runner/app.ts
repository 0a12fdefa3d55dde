/**
 * The user-facing API: define tasks, send them (to TypeScript or Python workers), route them to queues.
 *
 *     import { Radish } from 'radish';
 *     export const app = new Radish({ broker: 'redis://127.0.0.1:6379/0' });
 *     export const add = app.task('tasks.add', (x: number, y: number) => x + y);
 *     const result = await add.delay(2, 3);
 *     console.log(await result.get({ timeout: 10_000 })); // 5
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AsyncResult } from './backend/async-result';
import { RedisResultBackend, type BackendOptions } from './backend/backend';
import { GroupResult } from './backend/group-result';
import { BackendUnsupportedError, type ResultStore } from './backend/result-store';
import { isRpcBackendUrl, RPC_NO_CHORDS, RpcBackend } from './backend/rpc-backend';
import { AmqpBroker } from './broker/amqp/amqp-broker';
import { connectBroker, isAmqpBroker } from './broker/connect';
import { sharedStore, type SharedStore } from './broker/shared-store';
import type { Broker, BrokerOptions } from './broker/transport';
import { DEFAULT_BROKER_URL, redactUrl } from './broker/connection';
import { Utf8Packer } from './broker/utf8-packer';
import { makeSignature, type SignatureOptions } from './protocol/canvas';
import { Canvas, chainSignature, chordSignature, groupSignature, startsChord, type FrozenResult } from './protocol/canvas-apply';
import { celeryLayout, resolveCeleryVersion, type CeleryLayout } from './protocol/celery-version';
import { encodeTaskMessage, type JsonObject, type Sender, type Signature, type TaskCall } from './protocol/message';
import { LamportClock } from './protocol/pidbox';
import { encodeEvent, makeEvent, taskSentFields } from './protocol/event';
import { parseTiming, type Timing } from './schedule';
import { defineTask, type SendOptions, type Task, type TaskContext, type TaskDefinition, type TaskFunction, type TaskOptions } from './task';
import { traceSends } from './telemetry/index';
import type { SendSpans } from './telemetry/types';

/** Where a task goes: a queue name, or a queue and a priority. */
export type RouteTarget = string | { queue: string; priority?: number };

/**
 * Routes by task name, checked in order: exact names, `*` glob patterns (`emails.*`) or regular expressions,
 * like Celery's `task_routes`.
 */
export type Routes = Record<string, RouteTarget> | [string | RegExp, RouteTarget][];

export interface RadishOptions {
  /** Broker URL or options. Default `RADISH_BROKER_URL`, else `redis://127.0.0.1:6379/0`. */
  broker?: string | BrokerOptions;
  /**
   * Result backend URL or options: `redis://...` (Celery's Redis backend), or `rpc://` (Celery's rpc backend: each
   * result is a message to the client that sent the task, on an AMQP broker). Default: the broker's server when it is
   * Redis.
   */
  backend?: string | BackendOptions;
  /** Queue for tasks no route or option places. Default `celery` (Celery's default). */
  defaultQueue?: string;
  /** Task-name routes. */
  routes?: Routes;
  /**
   * Publish a `task-sent` event for every message this app sends (`send`, `sendMany`, `group`, `chord`), as Celery's
   * `task_send_sent_event` does, so Flower and `celery events` see a task from the moment it is sent. Best effort,
   * as in Celery: a task that was sent is never reported as not sent because its event could not be. Default false.
   */
  sendEvents?: boolean;
  /**
   * The Celery version of the workers this app sends to (`'5.6'`, `'5.2.6'`), whose messages its own follow: from
   * Celery 5.3 on they carry `replaced_task_nesting`, `stamped_headers` and `stamps`, a group's members are numbered
   * (`group_index` 0, 1, ...) and a chord's callback names the chord's group (its `group_id` option); before 5.3,
   * 5.2.6's layout. Celery 5.2 workers read either. Default: the `RADISH_CELERY_VERSION` environment variable, else
   * `'5.6'` (as a Radish worker's `celeryVersion`).
   */
  celeryVersion?: string;
}

/** Options of a group or chord. */
export interface GroupOptions {
  /** The group's id (a chord's header is a group). Default: a new UUID. */
  groupId?: string;
}

/** A message built to be sent, with the call it encodes (its task-sent event is built from the call). */
export interface Outgoing {
  id: string;
  queue: string;
  priority: number;
  body: string;
  call: TaskCall;
}

export interface SendRequest extends SendOptions {
  name: string;
  args?: unknown[];
  kwargs?: JsonObject;
}

/**
 * Whether applying a canvas needs a backend that runs chords, where Celery's client asks for one: a chord to start
 * (a size to set, a header to save), or a chord among the chain steps a message carries (Celery's `prepare_steps`
 * checks every step of a chain it applies, a group followed by a task included, as that is a chord).
 */
function needsChords(canvas: Canvas): boolean {
  if (startsChord(canvas.effects)) return true;
  return canvas.messages.some((m) => (m.call.embed?.chain ?? []).some((step) => step.subtask_type === 'chord'));
}

function globToRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

/** A periodic task as declared with {@link Radish.schedule}; `radish beat` sends it. */
export interface ScheduleDeclaration {
  /** Task name to send (any task, TypeScript or Python). */
  task: string;
  /** Seconds between runs. Exactly one of `every` and `cron`. */
  every?: number;
  /** 5-field crontab expression, in UTC (`*\/5 * * * *`). Exactly one of `every` and `cron`. */
  cron?: string;
  /** Default []. */
  args?: unknown[];
  /** Default {}. */
  kwargs?: JsonObject;
  /** Send options (queue, priority, expires...); routes apply as for any send. */
  options?: SendOptions;
}

/** A declared schedule with its timing parsed. */
export interface ScheduleEntry extends ScheduleDeclaration {
  readonly name: string;
  readonly timing: Timing;
}

type BoundTaskFunction = (task: TaskContext, ...args: never[]) => unknown;
type DropContext<P extends unknown[]> = P extends [TaskContext, ...infer Rest] ? Rest : never;

export class Radish {
  readonly defaultQueue: string;
  /** The Celery version this app's messages follow ({@link RadishOptions.celeryVersion}, defaults applied). */
  readonly celeryVersion: string;
  /** Its message layout. */
  private readonly layout: CeleryLayout;
  private readonly registry = new Map<string, TaskDefinition>();
  private readonly periodic = new Map<string, ScheduleEntry>();
  private readonly routes: [RegExp, RouteTarget][];
  private readonly sender = { origin: `gen${process.pid}@${hostname()}`, replyTo: randomUUID() };
  /** Lamport clock of this app's task-sent events. */
  private readonly clock = new LamportClock();
  private connecting: Promise<{ broker: Broker; backend: ResultStore }> | undefined;

  constructor(readonly options: RadishOptions = {}) {
    this.defaultQueue = options.defaultQueue ?? 'celery';
    this.celeryVersion = resolveCeleryVersion(options.celeryVersion);
    this.layout = celeryLayout(this.celeryVersion);
    const routes = options.routes ?? {};
    const entries = Array.isArray(routes) ? routes : Object.entries(routes);
    this.routes = entries.map(([pattern, target]) => [typeof pattern === 'string' ? globToRegExp(pattern) : pattern, target]);
  }

  /** Point the app at another broker (and, unless one was set, result backend) before it connects. */
  useBroker(url: string): void {
    if (this.connecting) throw new Error('useBroker() must be called before the app connects');
    const broker = this.options.broker;
    this.options.broker = typeof broker === 'object' ? { ...broker, url } : url;
  }

  /** Broker options after defaults (URL from the option, `RADISH_BROKER_URL`, or the local default). */
  get brokerOptions(): BrokerOptions {
    const b = this.options.broker;
    const fallback = process.env.RADISH_BROKER_URL ?? DEFAULT_BROKER_URL;
    return typeof b === 'string' ? { url: b } : { url: fallback, ...b };
  }

  /**
   * Result backend options after defaults: the option, else `RADISH_RESULT_BACKEND`, else the broker when it is
   * Redis. RabbitMQ carries tasks but keeps no results: with it, a backend must be named (Redis, or `rpc://`).
   */
  get backendOptions(): BackendOptions {
    const b = this.options.backend ?? process.env.RADISH_RESULT_BACKEND;
    if (b === undefined) {
      const broker = this.brokerOptions;
      if (isAmqpBroker(broker.url)) {
        throw new Error(`the broker ${redactUrl(broker.url ?? '')} is RabbitMQ, which keeps no results: name a result backend `
          + "(backend: 'redis://127.0.0.1:6379/0', or 'rpc://' for results sent back as messages, in new Radish(), "
          + '--result-backend, or RADISH_RESULT_BACKEND)');
      }
      return { ...broker };
    }
    return typeof b === 'string' ? { url: b } : b;
  }

  /** The result backend's URL when one was named (option or `useBackend`), not followed from the broker. */
  get explicitBackendUrl(): string | undefined {
    const b = this.options.backend;
    return typeof b === 'string' ? b : b?.url;
  }

  /** Point the app at another result backend before it connects (`--result-backend`). */
  useBackend(url: string): void {
    if (this.connecting) throw new Error('useBackend() must be called before the app connects');
    this.options.backend = url;
  }

  /**
   * Define a task. With `{ bind: true }` the function gets the task context first. The function type is inferred
   * whole (not its parameters one by one), so parameters with defaults keep their types.
   */
  task<F extends TaskFunction>(name: string, fn: F): Task<Parameters<F>, ReturnType<F>>;
  task<F extends BoundTaskFunction>(name: string, options: TaskOptions & { bind: true }, fn: F): Task<DropContext<Parameters<F>>, ReturnType<F>>;
  task<F extends TaskFunction>(name: string, options: TaskOptions, fn: F): Task<Parameters<F>, ReturnType<F>>;
  task(name: string, a: TaskOptions | ((...args: never[]) => unknown), b?: (...args: never[]) => unknown): Task {
    const [options, fn] = typeof a === 'function' ? [{}, a] : [a, b];
    if (!fn) throw new TypeError(`task ${name}: expected a function`);
    if (this.registry.has(name)) throw new Error(`task ${name} is defined twice`);
    const def = defineTask(name, fn, options);
    this.registry.set(name, def);
    const task: Task = {
      ...def,
      delay: (...args: unknown[]) => this.send(name, args, {}),
      applyAsync: (args = [], kwargs = {}, opts = {}) => this.send(name, args, kwargs, opts),
    };
    return task;
  }

  /**
   * Declare a periodic task, sent by `radish beat`: `app.schedule('cleanup', { task: 'tasks.cleanup', every: 60 })`.
   * The name keys its last run time in Redis, so keep it stable across deploys. Throws on a bad timing.
   */
  schedule(name: string, declaration: ScheduleDeclaration): ScheduleEntry {
    if (this.periodic.has(name)) throw new Error(`schedule ${name} is declared twice`);
    const entry: ScheduleEntry = { ...declaration, name, timing: parseTiming(declaration) };
    this.periodic.set(name, entry);
    return entry;
  }

  /** Every declared periodic task, in declaration order. */
  get schedules(): readonly ScheduleEntry[] {
    return [...this.periodic.values()];
  }

  /** The registered task of that name, if any. */
  lookup(name: string): TaskDefinition | undefined {
    return this.registry.get(name);
  }

  /** Names of every registered task, sorted. */
  get taskNames(): string[] {
    return [...this.registry.keys()].sort();
  }

  /** Queue and priority for a task: call options, then the task's own, then routes, then the default queue. */
  route(name: string, options: SendOptions = {}): { queue: string; priority: number } {
    const def = this.registry.get(name)?.options ?? {};
    let queue = options.queue ?? def.queue;
    let priority = options.priority ?? def.priority;
    if (queue === undefined) {
      const hit = this.routes.find(([re]) => re.test(name))?.[1];
      if (typeof hit === 'string') queue = hit;
      else if (hit) {
        queue = hit.queue;
        priority ??= hit.priority;
      }
    }
    return { queue: queue ?? this.defaultQueue, priority: priority ?? 0 };
  }

  private async connections(): Promise<{ broker: Broker; backend: ResultStore }> {
    this.connecting ??= (async () => {
      const backendOptions = this.backendOptions;
      const rpc = isRpcBackendUrl(backendOptions.url);
      if (rpc && !isAmqpBroker(this.brokerOptions.url)) {
        throw new Error(`the rpc:// result backend sends results as messages on RabbitMQ: it needs an amqp:// broker, not `
          + `${redactUrl(this.brokerOptions.url ?? DEFAULT_BROKER_URL)} (use the Redis result backend there)`);
      }
      const broker = await connectBroker(this.brokerOptions);
      try {
        let backend: ResultStore;
        if (rpc) {
          if (!(broker instanceof AmqpBroker)) throw new Error('the rpc:// result backend needs an AMQP broker');
          // On the broker's connection; the reply queue is this app's oid, the reply_to of every task it sends.
          backend = new RpcBackend(broker.connection, {
            replyTo: this.sender.replyTo,
            ...(backendOptions.resultExpires === undefined ? {} : { resultExpires: backendOptions.resultExpires }),
            ...(backendOptions.resultPersistent === undefined ? {} : { resultPersistent: backendOptions.resultPersistent }),
          });
        } else {
          // Results on the broker's own Redis share its connection (and let a worker store and ack in one step).
          const own = sharedStore(broker, {});
          const same = own !== undefined && this.options.backend === undefined && process.env.RADISH_RESULT_BACKEND === undefined;
          backend = same ? new RedisResultBackend(own.redis, backendOptions) : await RedisResultBackend.connect(backendOptions);
        }
        return { broker, backend };
      } catch (err) {
        await broker.close();
        throw err;
      }
    })();
    try {
      return await this.connecting;
    } catch (err) {
      this.connecting = undefined;
      throw err;
    }
  }

  /** The broker connection (opened on first use). */
  async broker(): Promise<Broker> {
    return (await this.connections()).broker;
  }

  /**
   * Where Radish's workers, beat and monitor share records beyond Celery's (see {@link sharedStore}); none with
   * RabbitMQ and the rpc:// backend (there is no Redis).
   */
  async sharedStore(): Promise<SharedStore | undefined> {
    const { broker, backend } = await this.connections();
    return sharedStore(broker, backend);
  }

  /** {@link sharedStore}, for what cannot work without it (beat's lock, the task history). */
  async requireSharedStore(what: string): Promise<SharedStore> {
    const store = await this.sharedStore();
    if (!store) throw new Error(`${what} needs Redis beside the broker (as the broker, or as the result backend)`);
    return store;
  }

  /** The result backend (opened on first use). */
  async backend(): Promise<ResultStore> {
    return (await this.connections()).backend;
  }

  /**
   * Build the message for a call without sending it.
   * @param spans the producer spans of the send it is built for (tracing on): its trace context goes in its headers.
   */
  message(req: SendRequest, spans?: SendSpans): Outgoing {
    const def = this.registry.get(req.name)?.options ?? {};
    const { queue, priority } = this.route(req.name, req);
    const id = req.taskId ?? randomUUID();
    const eta = req.eta ?? (req.countdown !== undefined ? new Date(Date.now() + req.countdown * 1000) : null);
    const expires = typeof req.expires === 'number' ? new Date(Date.now() + req.expires * 1000) : req.expires ?? null;
    const call: TaskCall = {
      id,
      name: req.name,
      args: req.args ?? [],
      kwargs: req.kwargs ?? {},
      queue,
      priority,
      eta,
      expires,
      retries: req.retries,
      timeLimit: req.timeLimit ?? def.timeLimit,
      softTimeLimit: req.softTimeLimit ?? def.softTimeLimit,
      parentId: req.parentId,
      rootId: req.rootId,
      ignoreResult: req.ignoreResult ?? def.ignoreResult,
      stamps: req.stamps,
    };
    if (spans) call.headers = spans.headers(call);
    // Written out, not spread from this.sender: an object spread here cost more than the two UUIDs.
    const sender: Sender = { origin: this.sender.origin, replyTo: this.sender.replyTo, deliveryTag: randomUUID(), layout: this.layout };
    return { id, queue, priority, body: encodeTaskMessage(call, sender), call };
  }

  /** Publish built messages (one LPUSH per list), then their task-sent events when `sendEvents` is on. */
  private async publish(broker: Broker, messages: readonly Outgoing[]): Promise<void> {
    if (messages.length === 1) await broker.publish(messages[0]!.queue, messages[0]!.priority, messages[0]!.body);
    else await broker.publishMany(messages.map((m) => ({ queue: m.queue, priority: m.priority, message: m.body })));
    if (!this.options.sendEvents) return;
    // One event per message, as Celery's client sends them; each clock value is taken in message order.
    await Promise.all(messages.map((m) => this.publishTaskSent(broker, m.call).catch(() => undefined)));
  }

  /**
   * Publish `task-sent` for a call just sent, as a Python client with `task_send_sent_event` does (one event, not
   * batched, on `task.sent`). Best-effort like all events: callers ignore its rejection.
   */
  private async publishTaskSent(broker: Broker, call: TaskCall): Promise<void> {
    const event = makeEvent('task-sent', { hostname: this.sender.origin, pid: process.pid }, { clock: this.clock.forward() }, taskSentFields(call));
    await broker.fanout.publishEvent('task.sent', encodeEvent(event));
  }

  /** Send any task by name (a TypeScript or a Python one) and get a handle on its result. */
  async send<R = unknown>(name: string, args: unknown[] = [], kwargs: JsonObject = {}, options: SendOptions = {}): Promise<AsyncResult<R>> {
    const { broker, backend } = await this.connections();
    // Undefined unless an OpenTelemetry tracer provider is registered: then the message carries its span's context.
    const spans = traceSends(this);
    try {
      const msg = this.message({ ...options, name, args, kwargs }, spans);
      if (!msg.call.ignoreResult) await backend.beforeSend();
      await this.publish(broker, [msg]);
      spans?.end();
      return new AsyncResult<R>(msg.id, backend);
    } catch (err) {
      spans?.end(err);
      throw err;
    }
  }

  /**
   * Send many calls in one pipelined round-trip (a bulk enqueue). Every message is built before anything is sent:
   * a request that cannot be encoded rejects the call and sends nothing.
   */
  sendMany<R = unknown>(requests: readonly SendRequest[]): Promise<AsyncResult<R>[]> {
    const spans = traceSends(this);
    return spans ? spans.track(this.sendBatch<R>(requests, spans)) : this.sendBatch<R>(requests);
  }

  private async sendBatch<R>(requests: readonly SendRequest[], spans?: SendSpans): Promise<AsyncResult<R>[]> {
    const { broker, backend } = await this.connections();
    if (this.options.sendEvents) {
      // The task-sent events are built from the message text, so keep it.
      const messages = requests.map((r) => this.message(r, spans));
      if (messages.some((m) => !m.call.ignoreResult)) await backend.beforeSend();
      if (messages.length > 0) await this.publish(broker, messages);
      return messages.map((m) => new AsyncResult<R>(m.id, backend));
    }
    // Each message's bytes are packed as soon as it is built, so its strings die young instead of being copied by
    // every young-generation collection until the batch is sent (that copying was a fifth of a bulk send's CPU).
    const packer = new Utf8Packer();
    const items: { queue: string; priority: number; message: Buffer }[] = [];
    const results: AsyncResult<R>[] = [];
    let wanted = false;
    for (const r of requests) {
      const m = this.message(r, spans);
      items.push({ queue: m.queue, priority: m.priority, message: packer.add(m.body) });
      results.push(new AsyncResult<R>(m.id, backend));
      wanted ||= !m.call.ignoreResult;
    }
    if (wanted) await backend.beforeSend();
    if (items.length > 0) await broker.publishMany(items);
    return results;
  }

  /**
   * A signature: a task call to make later, as a group member, a chord's header member or callback, or a link
   * (Celery's `app.signature(name, args, kwargs, **options)`). Any task by name, TypeScript or Python.
   * Throws on an empty name.
   */
  signature(name: string, args: unknown[] = [], kwargs: JsonObject = {}, options: SignatureOptions = {}): Signature {
    return makeSignature(name, args, kwargs, options);
  }

  /** Apply signatures as this app's own calls (no parent, their own roots), routed by this app, as Celery's client does. */
  private canvas(spans?: SendSpans): Canvas {
    return new Canvas({
      origin: this.sender.origin, replyTo: this.sender.replyTo, route: (name) => this.route(name), layout: this.layout, current: null,
      extraHeaders: spans?.headers,
    });
  }

  /** {@link performEffects}, with the producer spans of its messages ended once they are published (or not). */
  private perform(canvas: Canvas, spans: SendSpans | undefined): Promise<{ broker: Broker; backend: ResultStore }> {
    return spans ? spans.track(this.performEffects(canvas)) : this.performEffects(canvas);
  }

  /** Perform what applying signatures asked for: chord sizes and saved groups, then the messages. */
  private async performEffects(canvas: Canvas): Promise<{ broker: Broker; backend: ResultStore }> {
    const connections = await this.connections();
    // As Celery's client: a chord on a backend that cannot run one is refused before anything is sent.
    if (!connections.backend.supportsChords && needsChords(canvas)) throw new BackendUnsupportedError(RPC_NO_CHORDS);
    if (canvas.messages.some((m) => !m.call.ignoreResult)) await connections.backend.beforeSend();
    for (const effect of canvas.effects) {
      if (effect.kind === 'chord-size') await connections.backend.groups.setChordSize(effect.groupId, effect.size);
      else if (effect.kind === 'save-group') await connections.backend.groups.saveGroupTuple(effect.groupId, effect.result);
    }
    const messages = canvas.messages;
    if (messages.length > 0) await this.publish(connections.broker, messages);
    return connections;
  }

  /**
   * Send a group: every signature at once, each message naming the group (Celery's `group([...]).apply_async()`),
   * numbered in order as Celery 5.3+ numbers them (not with `celeryVersion` 5.2, as 5.2 does not). A member may be
   * a chain, a group (flattened into this one) or a chord, as in Celery. Resolves once all are sent, with a handle
   * whose `get()` gathers their results in order. Rejects, sending nothing, when a signature cannot be sent.
   */
  async group<R = unknown>(signatures: readonly Signature[], options: GroupOptions = {}): Promise<GroupResult<R>> {
    const spans = traceSends(this);
    const canvas = this.canvas(spans);
    const frozen = canvas.applyWhole(groupSignature([...signatures]), [], {}, { task_id: options.groupId ?? randomUUID() });
    const { backend } = await this.perform(canvas, spans);
    return new GroupResult<R>(frozen.id, (frozen.members ?? []).map((m) => m.id), backend);
  }

  /**
   * Send a chord: the header's signatures at once, as a group; the worker (Radish or Celery) whose header member
   * ends last sends `callback` with the header's results, in header order, as its first argument (unless the
   * callback is immutable). If a member fails or is revoked, the callback is not run: it is stored as FAILURE with
   * Celery's `ChordError` and its `linkError` signatures are applied with its id. With an empty header the callback
   * is sent at once with `[]`, as Celery does. Resolves with a handle on the callback's result, whose `parent` is the
   * header group. Rejects, sending nothing, when a signature cannot be sent.
   */
  async chord<R = unknown>(header: readonly Signature[], callback: Signature, options: GroupOptions = {}): Promise<AsyncResult<R>> {
    const groupId = options.groupId ?? randomUUID();
    const spans = traceSends(this);
    const canvas = this.canvas(spans);
    const frozen = canvas.applyWhole(chordSignature(groupSignature([...header], { task_id: groupId }), this.routed(callback)));
    const { backend } = await this.perform(canvas, spans);
    const members = frozen.parent?.members ?? [];
    return new AsyncResult<R>(frozen.id, backend, new GroupResult(groupId, members.map((m) => m.id), backend));
  }

  /**
   * Send a chain: each signature runs with the previous one's result prepended to its args (unless immutable), on
   * whichever worker serves its queue. A step may itself be a group (the next step then gets the list of its
   * results, as a chord), a chord or a chain, as in Celery. Resolves with a handle on the last step's result.
   */
  async chain<R = unknown>(signatures: readonly Signature[]): Promise<AsyncResult<R>> {
    return this.apply(chainSignature([...signatures])) as Promise<AsyncResult<R>>;
  }

  /**
   * Send any signature (a task, or a chain, group or chord built with `chain()`, `group()`, `chord()`, nested as
   * deep as needed), as Celery's `sig.apply_async()`. Resolves with its result: a `GroupResult` for a group, else
   * the `AsyncResult` of what runs last.
   */
  async apply<R = unknown>(signature: Signature): Promise<AsyncResult<R> | GroupResult<R>> {
    const spans = traceSends(this);
    const canvas = this.canvas(spans);
    const frozen = canvas.applyWhole(this.routed(signature));
    const { backend } = await this.perform(canvas, spans);
    const ids = (r: FrozenResult): string[] => r.members?.map((m) => m.id) ?? [];
    if (frozen.members) return new GroupResult<R>(frozen.id, ids(frozen), backend);
    return new AsyncResult<R>(frozen.id, backend, frozen.parent?.members ? new GroupResult(frozen.parent.id, ids(frozen.parent), backend) : undefined);
  }

  /**
   * A signature whose tasks this app routes away from the default queue, with that queue in their options, nested
   * ones included: another worker (a Python one too) may be the one sending them, and it does not know these routes.
   */
  private routed(sig: Signature): Signature {
    const options: JsonObject = { ...(typeof sig.options === 'object' && sig.options !== null ? sig.options : {}) };
    const all = (v: unknown): unknown => (Array.isArray(v) ? v.map(all) : typeof v === 'object' && v !== null && 'task' in v ? this.routed(v as Signature) : v);
    for (const key of ['link', 'link_error']) if (options[key] !== undefined) options[key] = all(options[key]);
    if (sig.subtask_type) {
      const kwargs: JsonObject = { ...sig.kwargs };
      for (const key of ['tasks', 'header', 'body']) if (kwargs[key] !== undefined) kwargs[key] = all(kwargs[key]);
      return { ...sig, kwargs, options };
    }
    if (options.queue === undefined && options.routing_key === undefined) {
      const routed = this.route(sig.task);
      if (routed.queue !== this.defaultQueue) options.queue = routed.queue;
      if (options.priority === undefined && routed.priority !== 0) options.priority = routed.priority;
    }
    return { ...sig, options };
  }

  /**
   * A group saved with `GroupResult.save()` (here or by Python's `GroupResult.save()`), or null when none is saved
   * under that id (Celery's `GroupResult.restore`). Rejects on a saved group Radish cannot read (a nested one).
   */
  async restoreGroup<R = unknown>(groupId: string): Promise<GroupResult<R> | null> {
    const backend = await this.backend();
    const ids = await backend.groups.restoreGroup(groupId);
    return ids === null ? null : new GroupResult<R>(groupId, ids, backend);
  }

  /** A handle on the result of a task sent by anyone. */
  async asyncResult<R = unknown>(taskId: string): Promise<AsyncResult<R>> {
    return new AsyncResult<R>(taskId, await this.backend());
  }

  /** Close the app's connections; idempotent. */
  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = undefined;
    if (!connecting) return;
    const { broker, backend } = await connecting.catch(() => ({ broker: undefined, backend: undefined }));
    await backend?.close();
    await broker?.close();
  }
}
