import * as vscode from 'vscode';
import type { TaskCallSpec } from '../../../runner/index';
import type { Services } from '../../services';
import { recordOf, type TaskTarget } from './taskNodes';

/** POSIX shell quoting: the text in single quotes, each `'` written as `'\''`. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The `radish call` command line that sends the call. */
export function radishCallLine(call: Pick<TaskCallSpec, 'name' | 'args' | 'kwargs' | 'queue'>): string {
  const parts = ['npx', 'radish', 'call', shellQuote(call.name), '--args', shellQuote(JSON.stringify(call.args))];
  if (Object.keys(call.kwargs).length) parts.push('--kwargs', shellQuote(JSON.stringify(call.kwargs)));
  if (call.queue) parts.push('--queue', shellQuote(call.queue));
  return parts.join(' ');
}

/** Copy the task as a `radish call` command line that sends it again with the same arguments. */
export async function copyTaskAsCall(s: Services, node?: TaskTarget): Promise<string | undefined> {
  const record = await recordOf(s, node, 'Copy as CLI Command');
  if (!record) return undefined;
  const line = radishCallLine(await (await s.connection.inspector()).callOf(record));
  await vscode.env.clipboard.writeText(line);
  void vscode.window.setStatusBarMessage(`Radish: copied ${line.length > 80 ? line.slice(0, 79) + '…' : line}`, 5000);
  return line;
}
