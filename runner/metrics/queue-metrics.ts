/**
 * Per-queue metrics, read from the broker once per scrape ({@link QueueMetrics.refresh}, called by the server
 * before it renders): `radish_queue_depth{queue}` (messages waiting, all priorities) and
 * `radish_queue_oldest_message_age_seconds{queue}` (now minus the send time of the oldest waiting message; 0 for an
 * empty queue, as the history writes it). A queue whose oldest age is unknown (its oldest message unstamped, or a
 * broker that cannot show it) has no age series at all: an absent series, never a made-up value. `radish_queue_stats_up` says whether the last read worked.
 */
import type { Gauge, Registry } from 'prom-client';
import { promClient } from '../on-demand/load';
import type { Broker, QueueStats } from '../broker/transport';
import { oldestAgeSec } from './queue-age';

export class QueueMetrics {
  private readonly depth: Gauge<'queue'>;
  private readonly age: Gauge<'queue'>;
  private readonly up: Gauge;

  /**
   * @param queues which queues to read, asked at each scrape (a fixed list, or the broker's declared queues).
   * @param now the clock ages are measured with (ms since the epoch). Default Date.now.
   */
  constructor(registry: Registry, private readonly broker: Broker, private readonly queues: () => Promise<readonly string[]>,
    private readonly now: () => number = Date.now) {
    const { Gauge } = promClient();
    const registers = [registry];
    this.depth = new Gauge({ name: 'radish_queue_depth', help: 'Messages waiting in the queue, all priorities', labelNames: ['queue'], registers });
    this.age = new Gauge({
      name: 'radish_queue_oldest_message_age_seconds', help: 'Age of the oldest waiting message (0 when empty; absent when unknown: unstamped)',
      labelNames: ['queue'], registers,
    });
    this.up = new Gauge({ name: 'radish_queue_stats_up', help: 'Whether the last read of the queues from the broker worked (1) or not (0)', registers });
  }

  /** Read every queue's depth and oldest message from the broker (one call), replacing the last values. */
  async refresh(): Promise<void> {
    let stats: QueueStats[];
    try {
      stats = await this.broker.queueStats([...await this.queues()]);
    } catch {
      // A scrape still answers (with the worker's own metrics) while the broker is away; this says so.
      this.depth.reset();
      this.age.reset();
      this.up.set(0);
      return;
    }
    const now = this.now();
    this.depth.reset();
    this.age.reset();
    for (const q of stats) {
      this.depth.set({ queue: q.queue }, q.depth);
      const age = oldestAgeSec(q, now);
      if (age !== null) this.age.set({ queue: q.queue }, age);
    }
    this.up.set(1);
  }
}
