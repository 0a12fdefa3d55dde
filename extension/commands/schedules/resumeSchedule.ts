import * as vscode from 'vscode';
import { runner } from '../../runner';
import type { Services } from '../../services';
import type { ScheduleNode } from '../../views/schedules';
import { pickSchedule } from './pickSchedule';

/**
 * Resume a paused radish beat schedule: the ticks due while it was paused are not sent; its next run is counted from
 * now. Resolves whether it changed (false: it was not paused, or nothing was picked).
 */
export async function resumeSchedule(s: Services, node?: ScheduleNode): Promise<boolean> {
  const target = await pickSchedule(s, node, 'Resume Schedule', (n) => n.kind === 'radish' && n.schedule.pausedAt !== undefined,
    () => 'Radish: no schedule is paused.');
  if (target?.kind !== 'radish') return false;
  const { name } = target.schedule;
  try {
    const changed = await runner().resumeSchedule(await s.connection.client(), name);
    void vscode.window.showInformationMessage(changed
      ? `Radish: Resumed ${name}: its next run is counted from now (the ticks missed while paused are not sent).`
      : `Radish: ${name} was not paused.`);
    return changed;
  } finally {
    s.schedules.refresh();
  }
}
