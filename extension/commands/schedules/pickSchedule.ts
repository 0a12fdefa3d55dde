import * as vscode from 'vscode';
import type { Services } from '../../services';
import { scheduleState, type ScheduleNode } from '../../views/schedules';

type Pickable = Exclude<ScheduleNode, { kind: 'message' }>;

/**
 * The schedule a command acts on: the row it was invoked on, else one the user picks (from the palette) among those
 * `accept` allows; undefined when the pick is cancelled. Throws when there is none to pick, saying why.
 */
export async function pickSchedule(s: Services, node: ScheduleNode | undefined, action: string, accept: (n: Pickable) => boolean): Promise<Pickable | undefined> {
  if (node && node.kind !== 'message') return node;
  const candidates = (await s.schedules.all()).filter((n): n is Pickable => n.kind !== 'message' && accept(n));
  if (candidates.length === 0) throw new Error(`no schedule to ${action.toLowerCase()} (the Schedules view lists them)`);
  const picked = await vscode.window.showQuickPick(candidates.map((n) => ({
    label: n.kind === 'radish' ? n.schedule.name : n.entry.name,
    description: n.kind === 'radish' ? `${n.schedule.task} · ${scheduleState(n.schedule)}` : `${n.entry.task} · celery beat`,
    node: n,
  })), { title: `Radish: ${action}`, placeHolder: 'Schedule' });
  return picked?.node;
}
