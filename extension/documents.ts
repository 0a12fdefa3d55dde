/**
 * Read-only documents for messages, failures and results (`radish:` URIs), never truncated, with the frames of a
 * traceback (JS `at f (/path/file.ts:12:5)`, Python `File "/path/x.py", line 12`) linked to workspace files.
 */
import * as vscode from 'vscode';

export const SCHEME = 'radish';

export class ReadOnlyDocuments implements vscode.TextDocumentContentProvider, vscode.DocumentLinkProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '(this document is no longer available: open it again from the Radish views)';
  }

  /** Show `text` as a read-only document named `path` (e.g. `failed/tasks.add-<id>.json`). */
  async show(path: string, text: string): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: '/' + path });
    this.contents.set(uri.toString(), text);
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    const language = path.endsWith('.json') ? 'json' : 'plaintext';
    if (doc.languageId !== language) await vscode.languages.setTextDocumentLanguage(doc, language);
    return vscode.window.showTextDocument(doc, { preview: true });
  }

  provideDocumentLinks(document: vscode.TextDocument): vscode.DocumentLink[] {
    const links: vscode.DocumentLink[] = [];
    const text = document.getText();
    const patterns = [
      /(?:\(|at )((?:\/|[A-Za-z]:\\)[^\s():"]+\.(?:[cm]?[jt]sx?)):(\d+):(\d+)/g,
      /File \\?"((?:\/|[A-Za-z]:\\)[^"\\]+\.py)\\?", line (\d+)/g,
    ];
    for (const pattern of patterns) {
      for (const m of text.matchAll(pattern)) {
        const [whole, file, line, column] = m;
        if (!file || !isInWorkspace(file)) continue;
        const start = document.positionAt((m.index ?? 0) + whole.indexOf(file));
        const end = document.positionAt((m.index ?? 0) + whole.length);
        const target = vscode.Uri.file(file).with({ fragment: `L${line}${column ? ',' + column : ''}` });
        links.push(new vscode.DocumentLink(new vscode.Range(start, end), target));
      }
    }
    return links;
  }

  dispose(): void {
    this.changed.dispose();
    this.contents.clear();
  }
}

function isInWorkspace(file: string): boolean {
  return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file)) !== undefined;
}
