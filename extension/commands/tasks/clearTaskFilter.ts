import type { Services } from '../../services';
import { filterTasks } from './filterTasks';

/** Show every recent task again ("Clear Task Filter"). */
export function clearTaskFilter(s: Services): Promise<void> {
  return filterTasks(s, '');
}
