import type { Services } from '../../services';

export async function stopWorker(s: Services): Promise<void> {
  await s.supervisor.stop();
  s.refresh.refreshSoon();
}
