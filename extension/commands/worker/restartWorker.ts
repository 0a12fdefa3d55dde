import type { Services } from '../../services';

export async function restartWorker(s: Services): Promise<void> {
  try {
    await s.supervisor.restart();
  } finally {
    s.refresh.refreshSoon();
  }
}
