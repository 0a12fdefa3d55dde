import type { Services } from '../services';

/** Reconnect if needed and refresh every view now: a filter that searches inside tasks searches again too. */
export async function refresh(s: Services): Promise<void> {
  if (s.connection.state === 'error') await s.connection.reset();
  s.taskView.searchAgain();
  s.failed.searchAgain();
  s.refresh.refreshNow();
}
