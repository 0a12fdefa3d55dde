/** Tasks view: every task definition found in the workspace sources, with its file; click to open, inline to enqueue. */
import * as vscode from 'vscode';
import type { TaskIndex } from '../discovery/workspace';
import type { TaskDefinitionSite } from '../discovery/types';

export class TasksProvider implements vscode.TreeDataProvider<TaskDefinitionSite> {
  private readonly changed = new vscode.EventEmitter<TaskDefinitionSite | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly index: TaskIndex) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(site: TaskDefinitionSite): vscode.TreeItem {
    const item = new vscode.TreeItem(site.name, vscode.TreeItemCollapsibleState.None);
    item.description = `${vscode.workspace.asRelativePath(site.file)}:${site.range.start.line + 1}`;
    item.tooltip = `${site.name}(${site.params.join(', ')})\n${site.file}`;
    item.iconPath = new vscode.ThemeIcon(site.language === 'python' ? 'symbol-method' : 'symbol-function');
    item.contextValue = 'taskDefinition';
    const { line, character } = site.nameRange.start;
    item.command = { command: 'vscode.open', title: 'Open definition', arguments: [vscode.Uri.file(site.file), { selection: new vscode.Range(line, character, line, character) }] };
    return item;
  }

  getChildren(site?: TaskDefinitionSite): TaskDefinitionSite[] {
    return site ? [] : [...this.index.sites()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
