import type { Radish } from '../../../runner/index';
import { announce } from '../../announce';
import type { TaskDefinitionSite } from '../../discovery/types';
import { runner } from '../../runner';
import type { Services } from '../../services';
import type { ScheduleNode } from '../../views/schedules';
import { NONE_PUBLISHED, pickSchedule } from './pickSchedule';

/** Queue and priority as the project routes the task (the routes found beside its definition), else the app's. */
function routeOf(app: Radish, task: string, site: TaskDefinitionSite | undefined): { queue: string; priority: number } {
  const withRoutes = site?.appRoutes ? new (runner().Radish)({ routes: site.appRoutes, defaultQueue: app.defaultQueue }) : app;
  return withRoutes.route(task);
}

/**
 * Send a schedule's task now, as a plain send (not a tick: its last and next run do not move), and announce it
 * (sent, then its result). A radish beat schedule goes with its published args, kwargs, queue and options; a Celery
 * beat entry with the args, kwargs and queue written in its beat_schedule (else where the project routes the task).
 * Resolves with the task id, undefined when nothing was picked.
 */
export async function runScheduleNow(s: Services, node?: ScheduleNode): Promise<string | undefined> {
  const target = await pickSchedule(s, node, 'Run Schedule Now', () => true, () => NONE_PUBLISHED);
  if (!target) return undefined;
  await s.live.beforeSend();
  const app = await s.connection.client();
  if (target.kind === 'radish') {
    const sent = await runner().runScheduleNow(app, target.schedule.name);
    void announce(s, sent.task, await app.asyncResult(sent.id), sent.queue, `schedule ${target.schedule.name}, run now`);
    return sent.id;
  }
  const { entry } = target;
  if (entry.unreadable) throw new Error(`cannot send ${entry.name} from here: ${entry.unreadable}`);
  const routed = routeOf(app, entry.task, s.tasks.sites().find((site) => site.name === entry.task));
  const queue = entry.queue ?? routed.queue;
  const result = await app.send(entry.task, entry.args ?? [], entry.kwargs ?? {}, { queue, priority: entry.priority ?? routed.priority });
  void announce(s, entry.task, result, queue, `Celery beat ${entry.name}, run now`);
  s.refresh.refreshSoon();
  return result.id;
}
