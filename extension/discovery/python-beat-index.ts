/**
 * The workspace's Celery beat schedules (python-beat.ts), kept current: the Python files are scanned on first use
 * (when the Schedules view is first shown, not at activation), then read again when one is saved, created or deleted
 * (python-files.ts). The parser comes from the lazily loaded discovery bundle.
 */
import * as vscode from 'vscode';
import { discoveryParsers } from './bundle';
import type { CeleryBeatEntry } from './python-beat';
import { PythonFileIndex } from './python-files';

function schedulesIn(file: string, text: string): CeleryBeatEntry[] | undefined {
  const parsers = discoveryParsers();
  if (!parsers.mayDeclareBeatSchedule(text)) return undefined;
  const found = parsers.findCeleryBeatSchedules(file, text);
  return found.length ? found : undefined;
}

export class CeleryBeatIndex implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fired when a file's schedules changed (after the first scan). */
  readonly onDidChange = this.changed.event;
  private readonly files = new PythonFileIndex(schedulesIn, () => this.changed.fire());

  /** Every schedule found, by file path then source order (the first call scans the workspace). */
  async entries(): Promise<CeleryBeatEntry[]> {
    await this.files.ready();
    const byFile = this.files.byFile;
    return [...byFile.keys()].sort().flatMap((file) => byFile.get(file) ?? []);
  }

  dispose(): void {
    this.files.dispose();
    this.changed.dispose();
  }
}
