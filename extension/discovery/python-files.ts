/**
 * A workspace's Python files read into facts by one parser, kept current: scanned on first use, read again when one
 * is saved or created, forgotten when deleted. ProjectBroker (the broker a project names) and CeleryBeatIndex (Celery
 * beat schedules) are built on it. Files of virtual environments and installed packages (python-paths.ts) are never
 * read: neither by the scan nor when a `pip install` creates thousands of them.
 */
import * as vscode from 'vscode';
import { NOT_THE_PROJECT_GLOB, outsideProject } from './python-paths';

const GLOB = '**/*.py';
/** The most files the first scan reads. */
const MAX_FILES = 5000;

export class PythonFileIndex<T> implements vscode.Disposable {
  private readonly facts = new Map<string, T>();
  private scanning: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  /**
   * @param parse a file's facts from its path and text; undefined when it has none (the file is then not kept). May
   *   throw: the file then has none.
   * @param changed called when a file's facts changed after the first scan (a file saved, created or deleted).
   */
  constructor(private readonly parse: (file: string, text: string) => T | undefined, private readonly changed: () => void) {}

  /** Scan the workspace and start watching it, on the first call; resolves once that scan is done. */
  ready(): Promise<void> {
    return (this.scanning ??= this.scan());
  }

  /** The facts known now, by file path (`fsPath`); empty before {@link ready}. */
  get byFile(): ReadonlyMap<string, T> {
    return this.facts;
  }

  private async scan(): Promise<void> {
    const watcher = vscode.workspace.createFileSystemWatcher(GLOB);
    this.disposables.push(watcher,
      watcher.onDidChange((uri) => void this.reread(uri)),
      watcher.onDidCreate((uri) => void this.reread(uri)),
      watcher.onDidDelete((uri) => {
        if (this.facts.delete(uri.fsPath)) this.changed();
      }));
    const files = await vscode.workspace.findFiles(GLOB, NOT_THE_PROJECT_GLOB, MAX_FILES);
    await Promise.all(files.map((uri) => this.read(uri)));
  }

  private async reread(uri: vscode.Uri): Promise<void> {
    if (outsideProject(vscode.workspace.asRelativePath(uri, false))) return;
    if (await this.read(uri)) this.changed();
  }

  /** Read one file's facts; whether they changed. */
  private async read(uri: vscode.Uri): Promise<boolean> {
    const file = uri.fsPath;
    const before = JSON.stringify(this.facts.get(file));
    try {
      const found = this.parse(file, Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8'));
      if (found === undefined) this.facts.delete(file);
      else this.facts.set(file, found);
    } catch {
      this.facts.delete(file); // unreadable, gone meanwhile, or a parser bug: no facts rather than a broken index
    }
    return before !== JSON.stringify(this.facts.get(file));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
