import type { Services } from '../../services';

export function showWorkerLog(s: Services): void {
  s.supervisor.log.show(true);
}
