/**
 * The broker and result backend the workspace's Celery project names in its sources (see python-broker.ts), kept
 * current as its files change: what the connection uses when no Radish setting names one. Scanned on first use only
 * (a workspace whose settings name both never pays for it); the parser comes from the lazily loaded discovery bundle.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BrokerSource, ProjectBrokerChoice, PythonBrokerFacts } from './python-broker';

type Parsers = typeof import('./index');

/** Virtual environments and installed packages hold Celery's own defaults: never the project's choice. */
const EXCLUDE = '{**/node_modules/**,**/.git/**,**/__pycache__/**,**/site-packages/**,**/.venv/**,**/venv/**,**/.tox/**,**/dist/**,**/build/**}';
const MAX_FILES = 5000;

export class ProjectBroker implements vscode.Disposable {
  private readonly byFile = new Map<string, PythonBrokerFacts>();
  private scanning: Promise<void> | undefined;
  private parsers: Parsers | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  /** What the project names changed (a settings file edited, created or deleted). */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  /** The last choice handed out, to tell a change from a save that changed nothing, and the broker it was given. */
  private shown: string | undefined;
  private given: string | undefined;

  /**
   * The project's broker and backend (scanning the workspace the first time). `brokerUrl`: the broker a worker is
   * given instead of the project's, which a backend defaulting to `CELERY_BROKER_URL` follows.
   */
  async choice(brokerUrl?: string): Promise<ProjectBrokerChoice> {
    this.scanning ??= this.scan();
    await this.scanning;
    this.given = brokerUrl;
    const choice = this.choose();
    this.shown = JSON.stringify(choice);
    return choice;
  }

  private choose(): ProjectBrokerChoice {
    const sources: BrokerSource[] = [...this.byFile].map(([file, facts]) => ({ file, facts }));
    return sources.length ? this.load().chooseProjectBroker(sources, process.env, this.given) : {};
  }

  private load(): Parsers {
    this.parsers ??= require(path.join(__dirname, 'discovery.js')) as Parsers;
    return this.parsers;
  }

  private async scan(): Promise<void> {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.py');
    this.disposables.push(watcher,
      watcher.onDidChange((uri) => void this.reread(uri)),
      watcher.onDidCreate((uri) => void this.reread(uri)),
      watcher.onDidDelete((uri) => {
        if (this.byFile.delete(uri.fsPath)) this.announce();
      }));
    const files = await vscode.workspace.findFiles('**/*.py', EXCLUDE, MAX_FILES);
    await Promise.all(files.map((uri) => this.read(uri)));
  }

  /** Read one file's facts; whether they changed. */
  private async read(uri: vscode.Uri): Promise<boolean> {
    const before = JSON.stringify(this.byFile.get(uri.fsPath));
    try {
      const text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
      const parsers = this.load();
      const facts = parsers.mayNameBroker(text) ? parsers.findPythonBroker(text) : undefined;
      if (facts && parsers.hasBrokerFacts(facts)) this.byFile.set(uri.fsPath, facts);
      else this.byFile.delete(uri.fsPath);
    } catch {
      this.byFile.delete(uri.fsPath); // unreadable or gone meanwhile
    }
    return before !== JSON.stringify(this.byFile.get(uri.fsPath));
  }

  private async reread(uri: vscode.Uri): Promise<void> {
    if (/[\\/](site-packages|\.venv|venv|node_modules|\.tox)[\\/]/.test(uri.fsPath)) return;
    if (await this.read(uri)) this.announce();
  }

  /** Tell listeners, once the choice a connection was given is no longer the project's. */
  private announce(): void {
    if (this.shown === undefined || JSON.stringify(this.choose()) === this.shown) return;
    this.changed.fire();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
