/**
 * What the task commands accept: a row of the Tasks view or a running task in the Workers view; run from the palette
 * without one, they offer the recent tasks to pick from (a raw id can still be typed).
 */
import * as vscode from 'vscode';
import type { TaskRecord } from '../../../runner/index';
import type { Services } from '../../services';
import { ago } from '../../views/items';
import type { TaskNode } from '../../views/tasks';
import type { WorkerNode } from '../../views/workers';

export type TaskTarget = Extract<TaskNode, { kind: 'record' }> | Extract<WorkerNode, { kind: 'active' }>;

/** Which tasks a command applies to, for the picker: any, or those not finished yet (revoke), or running ones. */
export type TaskScope = 'any' | 'pending' | 'running';

const SCOPE_STATES: Record<TaskScope, ReadonlySet<string> | undefined> = {
  any: undefined,
  pending: new Set(['SENT', 'RECEIVED', 'STARTED', 'RETRY']),
  running: new Set(['STARTED']),
};

/** How many recent tasks the picker reads. */
const PICK_LIMIT = 200;

interface TaskPick extends vscode.QuickPickItem {
  id?: string;
}

/** The task id a node stands for; without one, a pick of the recent tasks (or a typed id). */
export async function taskIdOf(s: Services, node: TaskTarget | undefined, action: string, scope: TaskScope = 'any'): Promise<string | undefined> {
  if (node?.kind === 'record') return node.record.id;
  if (node?.kind === 'active') return node.task.id;
  return pickTask(s, action, scope);
}

/** The history record of a node's task (fresh from Redis), or a clear error. */
export async function recordOf(s: Services, node: TaskTarget | undefined, action: string, scope: TaskScope = 'any'): Promise<TaskRecord | undefined> {
  const id = await taskIdOf(s, node, action, scope);
  if (!id) return undefined;
  const monitor = await s.live.ensure();
  const record = (await monitor?.history.get(id)) ?? (node?.kind === 'record' ? node.record : undefined);
  if (record) return record;
  if (node?.kind === 'active') return { id, name: node.task.name, state: 'STARTED', children: [], events: [], updated: Date.now() / 1000 } as TaskRecord;
  throw new Error(`task ${id} is not in the task history`);
}

async function pickTask(s: Services, action: string, scope: TaskScope): Promise<string | undefined> {
  const title = `Radish: ${action}: which task?`;
  const typed: TaskPick = { label: '$(edit) Enter a Task ID...', alwaysShow: true };
  const monitor = await s.live.ensure();
  const states = SCOPE_STATES[scope];
  const records = monitor ? (await monitor.history.recent({ limit: PICK_LIMIT })).filter((r) => !states || states.has(r.state)) : [];
  const items: TaskPick[] = records.map((r) => ({
    label: r.name ?? r.id,
    description: [r.id.slice(0, 8), r.state, ago(r.updated)].join(' · '),
    detail: r.exception,
    id: r.id,
  }));
  const chosen = await vscode.window.showQuickPick([...items, typed], {
    title,
    placeHolder: items.length ? 'A recent task (type to search by name or id)' : 'No recent task in the history: enter a task id',
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (!chosen) return undefined;
  if (chosen.id) return chosen.id;
  const id = await vscode.window.showInputBox({ title, prompt: 'Task id', ignoreFocusOut: true, validateInput: (t) => (t.trim() ? undefined : 'a task id') });
  return id?.trim() || undefined;
}
