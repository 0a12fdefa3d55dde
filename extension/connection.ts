/**
 * The extension's one connection to Redis, through the runner's client API. Reads `radish.redisUrl` and the
 * password from SecretStorage (never from settings, never logged), reconnects when either changes, and reports
 * its state for the views (a tree item that says what is wrong, never a modal per poll).
 */
import * as vscode from 'vscode';
import type { Control, Inspector, Radish } from '../runner/index';
import { runner } from './runner';
import { errorMessage } from '../runner/errors';

export type ConnectionState = 'connecting' | 'connected' | 'error';

const PASSWORD_KEY = 'radish.redisPassword';

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

  constructor(private readonly secrets: vscode.SecretStorage) {}

  get url(): string {
    return vscode.workspace.getConfiguration('radish').get<string>('redisUrl') || 'redis://127.0.0.1:6379/0';
  }

  /** The URL with the stored password put in, for child processes (never for display). */
  async urlWithPassword(): Promise<string> {
    const password = await this.secrets.get(PASSWORD_KEY);
    if (!password) return this.url;
    const url = new URL(this.url);
    url.password = encodeURIComponent(password);
    return url.toString();
  }

  get displayUrl(): string {
    return runner().redactUrl(this.url);
  }

  async setPassword(password: string | undefined): Promise<void> {
    if (password) await this.secrets.store(PASSWORD_KEY, password);
    else await this.secrets.delete(PASSWORD_KEY);
    await this.reset();
  }

  private setState(state: ConnectionState, error?: string): void {
    // Told again by every view that fails in the same refresh: only a change is announced.
    if (state === this.state && error === this.error) return;
    this.state = state;
    this.error = error;
    void vscode.commands.executeCommand('setContext', 'radish.connection', state);
    this.changed.fire();
  }

  /** The inspector on a live connection; rejects with a readable message when Redis cannot be reached. */
  async inspector(): Promise<Inspector> {
    if (this.opened) return this.opened;
    this.opening ??= this.open();
    try {
      return await this.opening;
    } finally {
      this.opening = undefined;
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

  private async open(): Promise<Inspector> {
    // While Redis stays down, each refresh tries again: the views keep saying what is wrong meanwhile instead of
    // flickering through "connecting" at every poll.
    if (this.state !== 'error') this.setState('connecting');
    const password = await this.secrets.get(PASSWORD_KEY);
    // Interactive use: fail at once while Redis is down instead of queueing commands behind a reconnect.
    // Tasks sent from the window announce themselves (task-sent), so the Tasks view lists them before a worker takes them.
    const app = new (runner().Radish)({ broker: { url: this.url, password, connectTimeoutMs: 3000, offlineQueue: false }, sendEvents: true });
    try {
      const inspector = new (runner().Inspector)(app);
      await inspector.deadLetterCount();
      this.app = app;
      this.opened = inspector;
      this.setState('connected');
      return inspector;
    } catch (err) {
      await app.close().catch(() => undefined);
      this.setState('error', errorMessage(err));
      throw err;
    }
  }

  /** Drop the connection (after a settings change); the next `inspector()` reconnects. */
  async reset(): Promise<void> {
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

  /** Call after an operation failed: a lost connection is reported once and rebuilt on the next refresh. */
  async failed(err: unknown): Promise<void> {
    await this.drop();
    this.setState('error', errorMessage(err));
  }

  dispose(): void {
    void this.remote?.close();
    void this.app?.close();
    this.changed.dispose();
  }
}
