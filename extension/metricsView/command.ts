import type { Services } from '../services';
import type { MetricsModel, MetricsSelection } from './protocol';

/**
 * `radish.showMetrics`: open the Metrics view (or bring it forward). From the palette, the Queues view's title or the
 * status bar's tooltip; a caller may pass a selection (`{ hours: 24, task: 'tasks.add' }`). Returns what it shows.
 */
export async function showMetrics(s: Services, selection?: Partial<MetricsSelection>): Promise<MetricsModel | undefined> {
  const valid = selection && typeof selection === 'object' && !Array.isArray(selection) ? selection : undefined;
  return s.metrics.show(valid);
}
