/** What the task commands accept: a row of the Tasks view or a running task in the Workers view; else they ask. */
import * as vscode from 'vscode';
import type { TaskRecord } from '../../../runner/index';
import type { Services } from '../../services';
import type { TaskNode } from '../../views/tasks';
import type { WorkerNode } from '../../views/workers';

export type TaskTarget = Extract<TaskNode, { kind: 'record' }> | Extract<WorkerNode, { kind: 'active' }>;

/** The task id a node stands for; from the palette, asks for one. */
export async function taskIdOf(node: TaskTarget | undefined, title: string): Promise<string | undefined> {
  if (node?.kind === 'record') return node.record.id;
  if (node?.kind === 'active') return node.task.id;
  const id = await vscode.window.showInputBox({ title, prompt: 'Task id', ignoreFocusOut: true, validateInput: (t) => (t.trim() ? undefined : 'a task id') });
  return id?.trim() || undefined;
}

/** The history record of a node's task (fresh from Redis), or a clear error. */
export async function recordOf(s: Services, node: TaskTarget | undefined, title: string): Promise<TaskRecord | undefined> {
  const id = await taskIdOf(node, title);
  if (!id) return undefined;
  const monitor = await s.live.ensure();
  const record = (await monitor?.history.get(id)) ?? (node?.kind === 'record' ? node.record : undefined);
  if (record) return record;
  if (node?.kind === 'active') return { id, name: node.task.name, state: 'STARTED', children: [], events: [], updated: Date.now() / 1000 } as TaskRecord;
  throw new Error(`task ${id} is not in the task history`);
}
