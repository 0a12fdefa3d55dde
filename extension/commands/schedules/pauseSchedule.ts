import * as vscode from 'vscode';
import { runner } from '../../runner';
import type { Services } from '../../services';
import type { ScheduleNode } from '../../views/schedules';
import { NONE_PUBLISHED, pickSchedule } from './pickSchedule';

/**
 * Pause a radish beat schedule for every scheduler (the active one, a standby, one started later); its row turns
 * "paused". Celery beat's schedules cannot be paused from outside Celery beat: the menu does not offer it.
 * Resolves whether it changed (false: it was paused already, or nothing was picked).
 */
export async function pauseSchedule(s: Services, node?: ScheduleNode): Promise<boolean> {
  const target = await pickSchedule(s, node, 'Pause Schedule', (n) => n.kind === 'radish' && n.schedule.pausedAt === undefined,
    (all) => (all.some((n) => n.kind === 'radish') ? 'Radish: every published schedule is paused already.' : NONE_PUBLISHED));
  if (!target) return false;
  if (target.kind !== 'radish') throw new Error(`${target.entry.name} is a Celery beat schedule: Celery beat cannot be paused from outside (edit its beat_schedule)`);
  const { name } = target.schedule;
  try {
    const changed = await runner().pauseSchedule(await s.connection.client(), name);
    void vscode.window.showInformationMessage(changed
      ? `Radish: Paused ${name}: radish beat skips its ticks until you resume it.`
      : `Radish: ${name} was paused already.`);
    return changed;
  } finally {
    s.schedules.refresh();
  }
}
