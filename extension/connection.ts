/**
 * The extension's one connection to the broker (Redis or RabbitMQ) and the result backend, through the runner's
 * client API. Reads where they are from the settings or the project (./endpoints.ts) and the passwords from
 * SecretStorage (never from settings, never logged), reconnects when any of them changes, and reports its state for
 * the views: what is wrong, as a problem the views turn into a tree item with the fix, never a modal per poll.
 */
import * as vscode from 'vscode';
import type { Control, Inspector, Radish, WorkerDetails } from '../runner/index';
import type { ProjectBroker } from './discovery/projectBroker';
import { DEFAULT_BROKER_URL, isAmqpUrl, resolveEndpoints, withPassword, type Endpoints } from './endpoints';
import { runner } from './runner';
import { errorMessage } from '../runner/errors';

export type ConnectionState = 'connecting' | 'connected' | 'error';

/**
 * What is wrong when the state is `error`, as the views show it:
 * - `broker`: the broker does not answer or refuses us (`transport` says which kind, for the wording and the fix);
 * - `noBackend`: RabbitMQ keeps no results, and no Redis result backend is named beside it;
 * - `backend`: the result backend does not answer.
 */
export type ConnectionProblem =
  | { kind: 'broker'; transport: 'redis' | 'amqp' }
  | { kind: 'noBackend' }
  | { kind: 'backend' };

/** The secret of the broker's password (its name from when the broker could only be Redis: stored passwords stay). */
const BROKER_PASSWORD = 'radish.redisPassword';
const BACKEND_PASSWORD = 'radish.resultBackendPassword';

/** Whose password: the broker's or the result backend's. */
export type PasswordOf = 'broker' | 'backend';

/** RabbitMQ beside no result backend: thrown instead of connecting, said by the views with its fix. */
export class NoResultBackendError extends Error {
  override readonly name = 'NoResultBackendError';
}

export class Connection implements vscode.Disposable {
  private app: Radish | undefined;
  private opened: Inspector | undefined;
  private opening: Promise<Inspector> | undefined;
  private remote: Control | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  state: ConnectionState = 'connecting';
  /** What is wrong, when state is `error`. */
  error: string | undefined;
  /** What kind of problem it is, when state is `error`. */
  problem: ConnectionProblem | undefined;
  /** Where the last connection went (or goes): the settings' or the project's URLs, until resolved again. */
  private endpoints: Endpoints | undefined;
  /** Counts resets: a connection opened across one is stale. */
  private generation = 0;

  constructor(private readonly secrets: vscode.SecretStorage, private readonly project: ProjectBroker) {}

  /** The broker URL (no password in it unless the settings have one), as last resolved. */
  get url(): string {
    return this.endpoints?.broker.url ?? DEFAULT_BROKER_URL;
  }

  /** The result backend named apart from the broker, if any, as last resolved. */
  get backendUrl(): string | undefined {
    return this.endpoints?.backend?.url;
  }

  /** Whether the broker is RabbitMQ (as last resolved). */
  get isAmqp(): boolean {
    return isAmqpUrl(this.url);
  }

  /** Where the URLs come from and what they are, resolved again from the settings and the project. */
  async resolve(): Promise<Endpoints> {
    const endpoints = await resolveEndpoints(this.project);
    this.endpoints = endpoints;
    return endpoints;
  }

  /** The broker URL with the stored password put in, for child processes (never for display). */
  async urlWithPassword(): Promise<string> {
    return withPassword((await this.resolve()).broker.url, await this.secrets.get(BROKER_PASSWORD));
  }

  /** The result backend's URL with its password, for child processes; undefined when it is the broker. */
  async backendUrlWithPassword(): Promise<string | undefined> {
    const backend = (await this.resolve()).backend;
    return backend && withPassword(backend.url, await this.secrets.get(BACKEND_PASSWORD));
  }

  get displayUrl(): string {
    return runner().redactUrl(this.url);
  }

  get displayBackendUrl(): string | undefined {
    return this.backendUrl && runner().redactUrl(this.backendUrl);
  }

  /** A line for logs and tooltips: where the broker and the results are, and which setting or file says so. */
  describe(): string {
    const e = this.endpoints;
    if (!e) return `broker ${this.displayUrl}`;
    const broker = `broker ${runner().redactUrl(e.broker.url)} (${e.broker.from})`;
    if (e.backend) return `${broker}, results ${runner().redactUrl(e.backend.url)} (${e.backend.from})`;
    return isAmqpUrl(e.broker.url) ? `${broker}, no result backend` : broker;
  }

  async setPassword(password: string | undefined, of: PasswordOf = 'broker'): Promise<void> {
    const key = of === 'broker' ? BROKER_PASSWORD : BACKEND_PASSWORD;
    if (password) await this.secrets.store(key, password);
    else await this.secrets.delete(key);
    await this.reset();
  }

  private setState(state: ConnectionState, error?: string, problem?: ConnectionProblem): void {
    // Told again by every view that fails in the same refresh: only a change is announced.
    if (state === this.state && error === this.error && JSON.stringify(problem) === JSON.stringify(this.problem)) return;
    this.state = state;
    this.error = error;
    this.problem = problem;
    void vscode.commands.executeCommand('setContext', 'radish.connection', state);
    // Which welcome content the Queues view shows: the fix for this problem.
    void vscode.commands.executeCommand('setContext', 'radish.problem', problemKey(problem));
    this.changed.fire();
  }

  /** The inspector on a live connection; rejects with a readable message when the broker or backend cannot be reached. */
  async inspector(): Promise<Inspector> {
    if (this.opened) return this.opened;
    const opening = this.opening ??= this.open();
    try {
      return await opening;
    } finally {
      if (this.opening === opening) this.opening = undefined;
    }
  }

  /** The client app (for sending tasks) on the same connection. */
  async client(): Promise<Radish> {
    await this.inspector();
    return this.app!;
  }

  /** Remote control (pidbox) on the same connection: inspect and steer Radish and Celery workers. */
  async control(): Promise<Control> {
    const app = await this.client();
    this.remote ??= await runner().Control.forApp(app);
    return this.remote;
  }

  /**
   * Every worker on the broker, Radish's and Celery's. Celery workers are found by their mailboxes, which RabbitMQ
   * lists through its management API only: without it they are found by a ping instead (a second more).
   */
  async workers(): Promise<WorkerDetails[]> {
    const [inspector, control, app] = [await this.inspector(), await this.control(), await this.client()];
    const listed = await runner().describeWorkers(inspector, control);
    const broker = await app.broker();
    if (!this.isAmqp || (await broker.unackedCount()) !== null) return listed;
    const answered = Object.keys(await control.ping({ timeout: 1 })).filter((node) => !listed.some((w) => w.hostname === node));
    if (answered.length === 0) return listed;
    // describeWorkers asks an inspector for the nodes; this one also names those that answered the ping.
    const pinged: Inspector = Object.create(inspector) as Inspector;
    pinged.workers = async () => answered.map((hostname) => ({ hostname, kind: 'celery' as const }));
    const found = await runner().describeWorkers(pinged, control);
    return [...listed, ...found].sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  private async open(): Promise<Inspector> {
    // While the broker stays down, each refresh tries again: the views keep saying what is wrong meanwhile instead of
    // flickering through "connecting" at every poll.
    if (this.state !== 'error') this.setState('connecting');
    // A reset (a setting changed) while this opens makes what it opens stale: it is dropped, and opened again.
    const generation = this.generation;
    const endpoints = await this.resolve();
    if (generation !== this.generation) return this.inspector();
    const amqp = isAmqpUrl(endpoints.broker.url);
    if (amqp && !endpoints.backend) {
      const err = new NoResultBackendError(noBackendMessage(endpoints));
      this.setState('error', err.message, { kind: 'noBackend' });
      throw err;
    }
    const [password, backendPassword] = [await this.secrets.get(BROKER_PASSWORD), await this.secrets.get(BACKEND_PASSWORD)];
    // Interactive use: fail at once while a server is down instead of queueing commands behind a reconnect.
    const quick = { connectTimeoutMs: 3000, offlineQueue: false } as const;
    const management = managementUrl(endpoints.broker.url, password);
    // Tasks sent from the window announce themselves (task-sent), so the Tasks view lists them before a worker takes them.
    const app = new (runner().Radish)({
      broker: { url: endpoints.broker.url, password, ...quick, ...(management === undefined ? {} : { managementUrl: management }) },
      ...(endpoints.backend ? { backend: { url: endpoints.backend.url, password: backendPassword, ...quick } } : {}),
      sendEvents: true,
    });
    try {
      const inspector = new (runner().Inspector)(app);
      // Both ends answer: the broker (the dead-letter count) and the result backend (its connection opens with it).
      await inspector.deadLetterCount();
      if (generation !== this.generation) {
        await app.close().catch(() => undefined);
        return this.inspector();
      }
      this.app = app;
      this.opened = inspector;
      this.setState('connected');
      return inspector;
    } catch (err) {
      await app.close().catch(() => undefined);
      if (generation !== this.generation) return this.inspector();
      this.setState('error', errorMessage(err), problemOf(err, endpoints));
      throw err;
    }
  }

  /** Drop the connection (after a settings change); the next `inspector()` reconnects. */
  async reset(): Promise<void> {
    this.generation++;
    this.opening = undefined;
    await this.drop();
    this.setState('connecting');
  }

  private async drop(): Promise<void> {
    const app = this.app;
    const remote = this.remote;
    this.app = undefined;
    this.opened = undefined;
    this.remote = undefined;
    await remote?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
  }

  /** Which connection an operation starts on: give it to {@link failed} with the operation's error. */
  get session(): number {
    return this.generation;
  }

  /**
   * Call after an operation failed: a lost connection is reported once and rebuilt on the next refresh. Resolves
   * false, doing nothing, when the operation ran on a connection a reset has dropped since (`session`, from
   * {@link session} when it started): it failed because that connection was closed under it, and dropping the new
   * one for it would break what runs on that one (a task being sent, the task events being followed).
   */
  async failed(err: unknown, session?: number): Promise<boolean> {
    if (session !== undefined && session !== this.generation) return false;
    await this.drop();
    this.setState('error', errorMessage(err), this.endpoints ? problemOf(err, this.endpoints) : undefined);
    return true;
  }

  dispose(): void {
    void this.remote?.close();
    void this.app?.close();
    this.changed.dispose();
  }
}

/** Why there is no result backend beside RabbitMQ, and what to set. */
function noBackendMessage(endpoints: Endpoints): string {
  const unreadable = endpoints.unreadableBackend;
  const why = unreadable
    ? `the project keeps its results in ${runner().redactUrl(unreadable.url)} (${unreadable.from}), which Radish cannot read`
    : 'RabbitMQ carries the tasks but keeps no results';
  return `${why}: set radish.resultBackendUrl to a Redis (e.g. redis://127.0.0.1:6379/0) for results, failures, `
    + 'the task history and the workers\' presence';
}

/** Which end an error is about: RabbitMQ's own error, or Redis at the backend's URL, or else the broker. */
function problemOf(err: unknown, endpoints: Endpoints): ConnectionProblem {
  if (err instanceof NoResultBackendError) return { kind: 'noBackend' };
  const amqp = isAmqpUrl(endpoints.broker.url);
  const name = err instanceof Error ? err.name : '';
  const message = errorMessage(err);
  if (name === 'AmqpUnavailableError') return { kind: 'broker', transport: 'amqp' };
  const backend = endpoints.backend && runner().redactUrl(endpoints.backend.url);
  if (backend && message.includes(`at ${backend}:`)) return { kind: 'backend' };
  if (name === 'RedisUnavailableError' && amqp) return { kind: 'backend' };
  return { kind: 'broker', transport: amqp ? 'amqp' : 'redis' };
}

/** The context key's value for a problem (the welcome content's `when`). */
function problemKey(problem: ConnectionProblem | undefined): string {
  if (!problem) return '';
  return problem.kind === 'broker' ? (problem.transport === 'amqp' ? 'rabbitmq' : 'redis') : problem.kind;
}

/**
 * `radish.rabbitmq.managementUrl` as the broker takes it: undefined (the broker's host on port 15672 with its
 * credentials), false (`off`: not used), or the URL, given the broker's user and password when it names none.
 */
function managementUrl(brokerUrl: string, password: string | undefined): string | false | undefined {
  if (!isAmqpUrl(brokerUrl)) return undefined;
  const setting = vscode.workspace.getConfiguration('radish').get<string>('rabbitmq.managementUrl')?.trim();
  if (!setting) return undefined;
  if (/^(off|false|none)$/i.test(setting)) return false;
  try {
    const url = new URL(setting);
    if (!url.username) {
      const broker = new URL(brokerUrl.split(';')[0]!.trim().replace(/^[a-z+]+:/i, 'http:'));
      url.username = broker.username || 'guest';
      url.password = password ? encodeURIComponent(password) : broker.password || (broker.username ? '' : 'guest');
    }
    return url.toString();
  } catch {
    return setting;
  }
}
