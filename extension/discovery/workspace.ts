/**
 * The workspace's task definitions, kept current: a scan when the extension starts, then per file on save, create
 * or delete, and on unsaved edits of open documents (debounced). The parsers (and the TypeScript compiler they
 * use) live in a separate bundle, loaded on first use, so activation stays cheap.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TaskDefinitionSite } from './types';

type Parsers = typeof import('./index');

const GLOB = '**/*.{ts,tsx,mts,cts,js,mjs,cjs,py}';
const EXCLUDE = '{**/node_modules/**,**/dist/**,**/out/**,**/.git/**,**/__pycache__/**,**/*.d.ts,**/.vscode-test/**}';
/** Files that cannot define a task are not parsed at all. */
const MAYBE_TASKS = /\.task\s*\(|@\s*[\w.]*task\b|shared_task/;

export class TaskIndex implements vscode.Disposable {
  private readonly byFile = new Map<string, TaskDefinitionSite[]>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private parsers: Parsers | undefined;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly packageDirs = new Map<string, boolean>();
  private scanned = false;

  /** Every task definition found, in no particular order. */
  sites(): TaskDefinitionSite[] {
    return [...this.byFile.values()].flat();
  }

  /** Definitions in one file (for CodeLens). */
  inFile(uri: vscode.Uri): TaskDefinitionSite[] {
    return this.byFile.get(uri.fsPath) ?? [];
  }

  /** Paths (`fsPath`) of the files that hold task definitions. */
  files(): string[] {
    return [...this.byFile.keys()];
  }

  /** Whether the first scan of the workspace is done: before it, any source file may still turn out to hold tasks. */
  get indexed(): boolean {
    return this.scanned;
  }

  /**
   * The definitions of an open document as its text is now (unsaved edits included), indexed on the way: what a
   * command acting on the editor reads, so it waits neither for the edit debounce nor for the first scan.
   */
  async ofDocument(document: vscode.TextDocument): Promise<TaskDefinitionSite[]> {
    if (document.uri.scheme !== 'file') return [];
    clearTimeout(this.pending.get(document.uri.fsPath));
    this.pending.delete(document.uri.fsPath);
    await this.update(document.uri, document.getText());
    return this.inFile(document.uri);
  }

  /** The definition around a position among `sites` (the innermost when they nest), or undefined. */
  around(sites: readonly TaskDefinitionSite[], position: vscode.Position): TaskDefinitionSite | undefined {
    return sites.length ? this.load().findTaskAt(sites, position.line, position.character) : undefined;
  }

  private load(): Parsers {
    // A separate bundle (dist/discovery.js), required on first use only.
    this.parsers ??= require(path.join(__dirname, 'discovery.js')) as Parsers;
    return this.parsers;
  }

  async start(): Promise<void> {
    const watcher = vscode.workspace.createFileSystemWatcher(GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidChange((uri) => void this.updateFromDisk(uri)),
      watcher.onDidCreate((uri) => void this.updateFromDisk(uri)),
      watcher.onDidDelete((uri) => { if (this.byFile.delete(uri.fsPath)) this.changed.fire(); }),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
    );
    const files = await vscode.workspace.findFiles(GLOB, EXCLUDE, 5000);
    await Promise.all(files.map((uri) => this.updateFromDisk(uri, false)));
    this.scanned = true;
    this.changed.fire();
  }

  private schedule(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file' || !/\.(?:[cm]?[jt]sx?|py)$/.test(doc.uri.fsPath)) return;
    clearTimeout(this.pending.get(doc.uri.fsPath));
    this.pending.set(doc.uri.fsPath, setTimeout(() => {
      this.pending.delete(doc.uri.fsPath);
      void this.update(doc.uri, doc.getText());
    }, 300));
  }

  private async updateFromDisk(uri: vscode.Uri, notify = true): Promise<void> {
    try {
      const text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
      await this.update(uri, text, notify);
    } catch {
      // unreadable or gone meanwhile: nothing to index
    }
  }

  private async update(uri: vscode.Uri, text: string, notify = true): Promise<void> {
    const file = uri.fsPath;
    const before = this.byFile.get(file);
    if (!MAYBE_TASKS.test(text)) {
      if (before && this.byFile.delete(file) && notify) this.changed.fire();
      return;
    }
    const moduleName = file.endsWith('.py') ? await this.pythonModule(file) : undefined;
    const sites = this.load().discoverInText(file, text, moduleName);
    if (sites.length) this.byFile.set(file, sites);
    else this.byFile.delete(file);
    // Most edits do not touch a definition: listeners (CodeLens, views, the menu's context key) hear of real changes.
    if (notify && JSON.stringify(before ?? []) !== JSON.stringify(sites)) this.changed.fire();
  }

  /** Celery's default task-name prefix: the dotted module path, from the first folder up without __init__.py. */
  private async pythonModule(file: string): Promise<string> {
    const parts = [path.basename(file, '.py')];
    let dir = path.dirname(file);
    while (await this.isPackage(dir)) {
      parts.unshift(path.basename(dir));
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    return parts.join('.');
  }

  private async isPackage(dir: string): Promise<boolean> {
    const known = this.packageDirs.get(dir);
    if (known !== undefined) return known;
    let found = false;
    try {
      await vscode.workspace.fs.stat(vscode.Uri.file(path.join(dir, '__init__.py')));
      found = true;
    } catch {
      found = false;
    }
    this.packageDirs.set(dir, found);
    return found;
  }

  dispose(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
