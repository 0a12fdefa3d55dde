import type { TaskModel } from '../../taskView/protocol';
import type { Services } from '../../services';
import { taskIdOf, type TaskTarget } from './taskNodes';

/**
 * Open the task view of a task: a row of the Tasks view, a running task in the Workers view, a task id (from a
 * notification or a link), or, from the palette, a pick of the recent tasks. Resolves to what the view shows.
 */
export async function openTask(s: Services, node?: TaskTarget | string): Promise<TaskModel | undefined> {
  const id = typeof node === 'string' ? node : await taskIdOf(s, node, 'Open Task');
  return id ? s.panels.show(id) : undefined;
}
