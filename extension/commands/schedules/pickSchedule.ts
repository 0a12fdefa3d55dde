import * as vscode from 'vscode';
import type { Services } from '../../services';
import { scheduleState, type ScheduleNode } from '../../views/schedules';

export type Pickable = Exclude<ScheduleNode, { kind: 'message' }>;

/** What to say when none can be picked: "no schedule is published" and how to publish one. */
export const NONE_PUBLISHED = 'Radish: no schedule is published: start radish beat -A <module> (the Schedules view lists them).';

/**
 * The schedule a command acts on: the row it was invoked on, else one the user picks (from the palette) among those
 * `accept` allows; undefined when the pick is cancelled, or when there is none to pick: that is a normal state (no
 * beat yet, none paused), not an error, so it is told as information, with `empty`'s reason (given every schedule).
 */
export async function pickSchedule(s: Services, node: ScheduleNode | undefined, action: string, accept: (n: Pickable) => boolean,
  empty: (all: readonly Pickable[]) => string): Promise<Pickable | undefined> {
  if (node && node.kind !== 'message') return node;
  const all = (await s.schedules.all()).filter((n): n is Pickable => n.kind !== 'message');
  const candidates = all.filter(accept);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(empty(all));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(candidates.map((n) => ({
    label: n.kind === 'radish' ? n.schedule.name : n.entry.name,
    description: n.kind === 'radish' ? `${n.schedule.task} · ${scheduleState(n.schedule)}` : `${n.entry.task} · celery beat`,
    node: n,
  })), { title: `Radish: ${action}`, placeHolder: 'Schedule' });
  return picked?.node;
}
