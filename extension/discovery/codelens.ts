/**
 * CodeLens "Enqueue", "Enqueue with Args..." and "Debug" above every task definition. "Enqueue" sends the args last used for
 * the task, and says which in its tooltip; a task with required parameters and no such args is asked for them first.
 */
import * as vscode from 'vscode';
import { LastArgs, quickEnqueueTooltip } from '../enqueue';
import type { TaskIndex } from './workspace';

export class TaskCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly memory: LastArgs;
  private readonly subscriptions: vscode.Disposable[];

  /** @param state where the last args per task are kept (the workspace's state): the tooltips show them. */
  constructor(private readonly index: TaskIndex, state: vscode.Memento) {
    this.memory = LastArgs.of(state);
    this.subscriptions = [index.onDidChange(() => this.changed.fire()), this.memory.onDidChange(() => this.changed.fire())];
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    return this.index.inFile(document.uri).flatMap((site) => {
      const { line, character } = site.range.start;
      const range = new vscode.Range(line, character, line, character);
      return [
        new vscode.CodeLens(range, {
          title: '$(play) Enqueue', command: 'radish.enqueue', arguments: [{ task: site.name, quick: true }],
          tooltip: quickEnqueueTooltip(site, this.memory.get(site.name)),
        }),
        new vscode.CodeLens(range, {
          title: 'Enqueue with Args...', command: 'radish.enqueueWithArgs', arguments: [site.name],
          tooltip: `Ask for ${site.name}'s args, kwargs, queue, priority and countdown, then send it`,
        }),
        new vscode.CodeLens(range, {
          title: '$(debug-alt) Debug', command: 'radish.debugTask', arguments: [{ task: site.name, quick: true }],
          tooltip: `Under the debugger (it stops at your breakpoints): ${quickEnqueueTooltip(site, this.memory.get(site.name))}`,
        }),
      ];
    });
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
