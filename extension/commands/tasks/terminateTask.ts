import type { Services } from '../../services';
import { revokeTask } from './revokeTask';
import type { TaskTarget } from './taskNodes';

/** Revoke a running task and stop it where it runs. */
export function terminateTask(s: Services, node?: TaskTarget): Promise<Record<string, unknown> | undefined> {
  return revokeTask(s, node, true);
}
