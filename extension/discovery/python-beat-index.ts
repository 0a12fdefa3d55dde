/**
 * The workspace's Celery beat schedules (python-beat.ts), kept current: the Python files are scanned on first use
 * (when the Schedules view is first shown, not at activation), then read again when one is saved, created or deleted.
 */
import * as vscode from 'vscode';
import { findCeleryBeatSchedules, mayDeclareBeatSchedule, type CeleryBeatEntry } from './python-beat';

const GLOB = '**/*.py';
const EXCLUDE = '{**/node_modules/**,**/.git/**,**/__pycache__/**,**/.venv/**,**/venv/**,**/site-packages/**}';

export class CeleryBeatIndex implements vscode.Disposable {
  private readonly byFile = new Map<string, CeleryBeatEntry[]>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fired when a file's schedules changed (after the first scan). */
  readonly onDidChange = this.changed.event;
  private scanning: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  /** Every schedule found, by file path then source order (the first call scans the workspace). */
  async entries(): Promise<CeleryBeatEntry[]> {
    await (this.scanning ??= this.scan());
    return [...this.byFile.keys()].sort().flatMap((file) => this.byFile.get(file) ?? []);
  }

  private async scan(): Promise<void> {
    const watcher = vscode.workspace.createFileSystemWatcher(GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidChange((uri) => void this.read(uri, true)),
      watcher.onDidCreate((uri) => void this.read(uri, true)),
      watcher.onDidDelete((uri) => { if (this.byFile.delete(uri.fsPath)) this.changed.fire(); }),
    );
    const files = await vscode.workspace.findFiles(GLOB, EXCLUDE, 5000);
    await Promise.all(files.map((uri) => this.read(uri, false)));
  }

  private async read(uri: vscode.Uri, notify: boolean): Promise<void> {
    let text: string;
    try {
      text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
    } catch {
      return; // gone meanwhile
    }
    const before = JSON.stringify(this.byFile.get(uri.fsPath) ?? []);
    const found = mayDeclareBeatSchedule(text) ? findCeleryBeatSchedules(uri.fsPath, text) : [];
    if (found.length) this.byFile.set(uri.fsPath, found);
    else this.byFile.delete(uri.fsPath);
    if (notify && JSON.stringify(found) !== before) this.changed.fire();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
