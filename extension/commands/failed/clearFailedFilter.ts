import type { Services } from '../../services';
import { filterFailed } from './filterFailed';

/** Show every failed task again ("Clear Failed Filter"). */
export function clearFailedFilter(s: Services): Promise<void> {
  return filterFailed(s, '');
}
