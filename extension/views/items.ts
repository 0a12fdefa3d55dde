/**
 * Tree items and row formatting shared by the views: the error item that says what is wrong and offers the fix, and
 * the row rule every view follows: the state first (the icon and a short label), the detail after it in the
 * description and the tooltip, so the state stays readable at the sidebar's default width.
 */
import * as vscode from 'vscode';
import type { Connection } from '../connection';

export class MessageItem extends vscode.TreeItem {
  constructor(label: string, icon: string, command?: vscode.Command, tooltip?: string) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.iconPath = new vscode.ThemeIcon(icon);
    this.command = command;
    this.tooltip = tooltip ?? label;
    this.contextValue = 'message';
  }
}

/**
 * What is wrong with the connection, as a row with its fix one click away: "Cannot reach Redis" or "Cannot reach
 * RabbitMQ" (click: set the broker URL), "RabbitMQ needs a result backend" and "Cannot reach the result backend"
 * (click: set the result backend URL), the cause and the URL after it.
 */
export function connectionErrorItem(connection: Connection): vscode.TreeItem {
  const error = connection.error ?? 'not connected';
  const problem = connection.problem ?? { kind: 'broker', transport: connection.isAmqp ? 'amqp' : 'redis' };
  if (problem.kind === 'noBackend') {
    const item = new MessageItem('RabbitMQ needs a result backend', 'error', { command: 'radish.setResultBackendUrl', title: 'Set Result Backend URL' },
      `${capitalize(error)}.\n\nClick to set radish.resultBackendUrl.`);
    item.description = 'set radish.resultBackendUrl';
    return item;
  }
  if (problem.kind === 'backend') {
    const url = connection.displayBackendUrl ?? connection.displayUrl;
    const item = new MessageItem('Cannot reach the result backend', 'error', { command: 'radish.setResultBackendUrl', title: 'Set Result Backend URL' },
      `Cannot reach the result backend (Redis) at ${url}: ${error}\n\nClick to change the result backend URL; "Radish: Start Local Redis Server" starts one on this machine.`);
    item.description = `${causeOf(error)} · ${url}`;
    return item;
  }
  const what = problem.transport === 'amqp' ? 'RabbitMQ' : 'Redis';
  const url = connection.displayUrl;
  const fix = problem.transport === 'amqp'
    ? 'Is RabbitMQ running, and does the URL name the right host, virtual host and user? Click to change the broker URL; "Radish: Set Password..." keeps the password in the secret store.'
    : 'Click to change the broker URL; "Radish: Start Local Redis Server" starts one on this machine.';
  const item = new MessageItem(`Cannot reach ${what}`, 'error', { command: 'radish.setBrokerUrl', title: 'Set Broker URL' },
    `Cannot reach ${what} at ${url}: ${error}\n\n${fix}`);
  item.description = `${causeOf(error)} · ${url}`;
  return item;
}

/** The cause in a few words: what the server or the socket said, without the "cannot connect to X at URL:" before it. */
export function causeOf(error: string): string {
  if (/WRONGPASS|NOAUTH|ACCESS[-_]REFUSED|403/.test(error)) return 'wrong or missing password';
  const vhost = /vhost '?([^' ]+)'? not found/i.exec(error);
  if (vhost) return `virtual host ${vhost[1]} not found`;
  return error.replace(/^.*?: /, '');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
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
