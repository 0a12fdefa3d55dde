import type { Services } from '../../services';

export function loadMore(s: Services, queue?: string): void {
  if (typeof queue === 'string') s.queues.loadMore(queue);
}
