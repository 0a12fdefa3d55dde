/** CodeLens "Enqueue" and "Enqueue with args..." above every task definition. */
import * as vscode from 'vscode';
import type { TaskIndex } from './workspace';

export class TaskCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly index: TaskIndex) {
    this.subscription = index.onDidChange(() => this.changed.fire());
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    return this.index.inFile(document.uri).flatMap((site) => {
      const { line, character } = site.range.start;
      const range = new vscode.Range(line, character, line, character);
      return [
        new vscode.CodeLens(range, { title: '$(play) Enqueue', command: 'radish.enqueue', arguments: [{ task: site.name, quick: true }], tooltip: `Send ${site.name} with the last arguments used` }),
        new vscode.CodeLens(range, { title: 'Enqueue with args...', command: 'radish.enqueueWithArgs', arguments: [site.name] }),
      ];
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
