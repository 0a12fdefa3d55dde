/**
 * Tree items and row formatting shared by the views: the error item that says what is wrong and offers the fix, and
 * the row rule every view follows: the state first (the icon and a short label), the detail after it in the
 * description and the tooltip, so the state stays readable at the sidebar's default width.
 */
import * as vscode from 'vscode';

export class MessageItem extends vscode.TreeItem {
  constructor(label: string, icon: string, command?: vscode.Command, tooltip?: string) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.iconPath = new vscode.ThemeIcon(icon);
    this.command = command;
    this.tooltip = tooltip ?? label;
    this.contextValue = 'message';
  }
}

/** "Cannot reach Redis", then the cause and the URL; clicking it offers to change the URL. */
export function connectionErrorItem(displayUrl: string, error: string): vscode.TreeItem {
  const item = new MessageItem('Cannot reach Redis', 'error',
    { command: 'radish.setRedisUrl', title: 'Set Redis URL' }, `Cannot reach Redis at ${displayUrl}: ${error}\n\nClick to change the Redis URL.`);
  const cause = /WRONGPASS|NOAUTH/.test(error) ? 'wrong or missing password' : error.replace(/^.*?: /, '');
  item.description = `${cause} · ${displayUrl}`;
  return item;
}

/**
 * A task's name as a row's label: a name of three dotted parts or more (Celery's default, `package.module.function`)
 * by its last part, so a long module path does not push the row's state out of a narrow sidebar; shorter names
 * (`tasks.add`, `orders.charge`) whole. The row's tooltip has the whole name.
 */
export function taskLabel(name: string): string {
  const parts = name.split('.');
  return parts.length >= 3 && parts.every((p) => p !== '') ? parts[parts.length - 1]! : name;
}

/** Age of a unix time, short: "5s ago", "3m ago", "2h ago". */
export function ago(unixSeconds: number): string {
  const s = Math.max(0, Date.now() / 1000 - unixSeconds);
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/** `0.25 ms`, `42 ms`, `1.50 s`, `12.3 s`, `4 m 05 s`. */
export function duration(seconds: number): string {
  if (seconds < 0.01) return `${(seconds * 1000).toFixed(2)} ms`;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} m ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
}

/** Short, one-line summary of a value (args in a tree row); the full value is in the opened document. */
export function summary(value: unknown, max = 60): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}
