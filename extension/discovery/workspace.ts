/**
 * The workspace's task definitions, kept current: a scan when the extension starts, then per file on save, create
 * or delete, and on unsaved edits of open documents (debounced). The parsers (and the TypeScript compiler they
 * use) live in a separate bundle, loaded on first use, so activation stays cheap.
 *
 * Python tasks also get their project's Celery routes (`appRoutes`), read from whichever files set them (the app
 * module, Django settings, celeryconfig.py: see python-routes.ts), read by the same lazily loaded bundle.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RouteSource } from './python-routes';
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
  /** Python files that set task routes (or say where they are read from), by path. */
  private readonly routeSources = new Map<string, RouteSource>();
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
      watcher.onDidDelete((uri) => this.forget(uri.fsPath)),
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

  private forget(file: string): void {
    const hadTasks = this.byFile.delete(file);
    const hadRoutes = this.routeSources.delete(file);
    if (hadRoutes) this.attachRoutesEverywhere();
    if (hadTasks || hadRoutes) this.changed.fire();
  }

  private async update(uri: vscode.Uri, text: string, notify = true): Promise<void> {
    const file = uri.fsPath;
    const python = file.endsWith('.py');
    const routesChanged = python && await this.updateRoutes(file, text);
    const before = this.byFile.get(file);
    if (!MAYBE_TASKS.test(text)) {
      const removed = before !== undefined && this.byFile.delete(file);
      if (routesChanged) this.attachRoutesEverywhere();
      if ((removed || routesChanged) && notify) this.changed.fire();
      return;
    }
    const moduleName = python ? await this.pythonModule(file) : undefined;
    const sites = this.load().discoverInText(file, text, moduleName);
    if (sites.length) this.byFile.set(file, sites);
    else this.byFile.delete(file);
    if (routesChanged) this.attachRoutesEverywhere();
    else if (python) this.attachRoutes(file, sites);
    // Most edits do not touch a definition: listeners (CodeLens, views, the menu's context key) hear of real changes.
    if (notify && (routesChanged || JSON.stringify(before ?? []) !== JSON.stringify(sites))) this.changed.fire();
  }

  /** Reads the routes a Python file sets; whether they changed. */
  private async updateRoutes(file: string, text: string): Promise<boolean> {
    const before = this.routeSources.get(file);
    const parsers = this.load();
    const facts = parsers.mayDeclareRoutes(text) ? parsers.findPythonRoutes(text) : undefined;
    if (!facts || !parsers.hasRouteFacts(facts)) return this.routeSources.delete(file);
    const root = await this.pythonRoot(file);
    this.routeSources.set(file, { file, root, facts });
    return JSON.stringify(before) !== JSON.stringify(this.routeSources.get(file));
  }

  /**
   * A Python file's tasks get the routes of their project (projectRoutes: the sources under the deepest project root
   * holding the file, the app's over the settings'). The parser's, from the file alone, are among them: a file that
   * sets routes is a source itself.
   */
  private attachRoutes(file: string, sites: readonly TaskDefinitionSite[]): void {
    const parsers = this.load();
    const table = parsers.projectRoutes([...this.routeSources.values()], file);
    for (const site of sites) {
      if (site.language !== 'python') continue;
      const routes = table && parsers.routesForTask(table, site.name);
      if (routes && Object.keys(routes).length) site.appRoutes = routes;
      else delete site.appRoutes;
    }
  }

  private attachRoutesEverywhere(): void {
    for (const [file, sites] of this.byFile) if (file.endsWith('.py')) this.attachRoutes(file, sites);
  }

  /** Celery's default task-name prefix: the dotted module path, from the first folder up without __init__.py. */
  private async pythonModule(file: string): Promise<string> {
    return (await this.pythonPath(file)).module;
  }

  /** The project root of a Python file: the first folder up without __init__.py (on sys.path when it is imported). */
  private async pythonRoot(file: string): Promise<string> {
    return (await this.pythonPath(file)).root;
  }

  private async pythonPath(file: string): Promise<{ module: string; root: string }> {
    const parts = [path.basename(file, '.py')];
    let dir = path.dirname(file);
    while (await this.isPackage(dir)) {
      parts.unshift(path.basename(dir));
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    return { module: parts.join('.'), root: dir };
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
