import type { Services } from '../../services';
import { reportStartError, WorkerStartError } from '../../worker/startError';

export async function restartWorker(s: Services): Promise<void> {
  try {
    await s.supervisor.restart();
  } catch (err) {
    if (!(err instanceof WorkerStartError)) throw err;
    void reportStartError(err, s.supervisor.log);
  } finally {
    s.refresh.refreshSoon();
  }
}
