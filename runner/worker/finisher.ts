/**
 * Ends the tasks that finish in the same turn of the event loop with one script call (result stored, then message
 * acked, atomically: see broker/scripts/finish.lua), instead of a result script and three ack commands per task.
 * At full drain tens of tasks end together, so a worker's Redis round-trips, socket writes and client-side command
 * objects per task fall by that much; a lone task goes out at once (on the next tick), so latency does not suffer.
 */
import type Redis from 'ioredis';
import { RedisBroker, type FinishedTask } from '../broker/redis-broker';
import type { Broker } from '../broker/transport';

/** Tasks per script call at most: one call keeps Redis busy for about a microsecond per task. */
const MAX_BATCH = 256;

interface Pending {
  task: FinishedTask;
  resolve(): void;
  reject(err: unknown): void;
}

export class Finisher {
  private batch: Pending[] = [];

  /** @param resultExpires seconds a result is kept (0: for ever), as the result backend keeps them. */
  constructor(private readonly broker: RedisBroker, private readonly resultExpires: number) {}

  /**
   * A finisher when results are stored on the broker's own Redis (one script can then do both), else undefined:
   * results and acks then go their own ways.
   */
  static for(broker: Broker, backend: { redis?: Redis | undefined; resultExpires: number }): Finisher | undefined {
    return broker instanceof RedisBroker && backend.redis !== undefined && backend.redis === broker.redis
      ? new Finisher(broker, backend.resultExpires)
      : undefined;
  }

  /** Store the task's result (if any) and ack its message (if not acked yet). Resolves once both are done. */
  finish(task: FinishedTask): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // After the current macrotask (every promise continuation included): every task that ends in it joins.
      if (this.batch.length === 0) process.nextTick(this.flush);
      this.batch.push({ task, resolve, reject });
    });
  }

  private readonly flush = (): void => {
    const batch = this.batch;
    this.batch = [];
    for (let at = 0; at < batch.length; at += MAX_BATCH) {
      const part = at === 0 && batch.length <= MAX_BATCH ? batch : batch.slice(at, at + MAX_BATCH);
      this.broker.finish(part.map((p) => p.task), this.resultExpires).then(
        () => { for (const p of part) p.resolve(); },
        (err: unknown) => { for (const p of part) p.reject(err); },
      );
    }
  };
}
