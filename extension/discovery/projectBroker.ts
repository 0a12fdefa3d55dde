/**
 * The broker and result backend the workspace's Celery project names in its sources (see python-broker.ts), kept
 * current as its files change (python-files.ts): what the connection uses when no Radish setting names one. Scanned
 * on first use only (a workspace whose settings name both never pays for it); the parser comes from the lazily loaded
 * discovery bundle. Virtual environments and installed packages hold Celery's own defaults: they are never read.
 */
import * as vscode from 'vscode';
import { discoveryParsers } from './bundle';
import type { BrokerSource, ProjectBrokerChoice, PythonBrokerFacts } from './python-broker';
import { PythonFileIndex } from './python-files';

function brokerFactsIn(_file: string, text: string): PythonBrokerFacts | undefined {
  const parsers = discoveryParsers();
  const facts = parsers.mayNameBroker(text) ? parsers.findPythonBroker(text) : undefined;
  return facts && parsers.hasBrokerFacts(facts) ? facts : undefined;
}

export class ProjectBroker implements vscode.Disposable {
  private readonly files = new PythonFileIndex(brokerFactsIn, () => this.announce());
  private readonly changed = new vscode.EventEmitter<void>();
  /** What the project names changed (a settings file edited, created or deleted). */
  readonly onDidChange = this.changed.event;
  /** The last choice handed out, to tell a change from a save that changed nothing, and the broker it was given. */
  private shown: string | undefined;
  private given: string | undefined;

  /**
   * The project's broker and backend (scanning the workspace the first time). `brokerUrl`: the broker a worker is
   * given instead of the project's, which a backend defaulting to `CELERY_BROKER_URL` follows.
   */
  async choice(brokerUrl?: string): Promise<ProjectBrokerChoice> {
    await this.files.ready();
    this.given = brokerUrl;
    const choice = this.choose();
    this.shown = JSON.stringify(choice);
    return choice;
  }

  private choose(): ProjectBrokerChoice {
    const sources: BrokerSource[] = [...this.files.byFile].map(([file, facts]) => ({ file, facts }));
    return sources.length ? discoveryParsers().chooseProjectBroker(sources, process.env, this.given) : {};
  }

  /** Tell listeners, once the choice a connection was given is no longer the project's. */
  private announce(): void {
    if (this.shown === undefined || JSON.stringify(this.choose()) === this.shown) return;
    this.changed.fire();
  }

  dispose(): void {
    this.files.dispose();
    this.changed.dispose();
  }
}
