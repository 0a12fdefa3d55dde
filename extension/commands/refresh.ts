import type { Services } from '../services';

/** Reconnect if needed and refresh every view now. */
export async function refresh(s: Services): Promise<void> {
  if (s.connection.state === 'error') await s.connection.reset();
  s.refresh.refreshNow();
}
