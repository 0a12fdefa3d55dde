/**
 * The baseline's consumer: pops raw messages as fast as one Redis connection allows, with nothing a real
 * queue adds (no unacked record, no result, no ack). BRPOP waits for work; RPOP with a count then takes up to
 * a prefetch's worth per round-trip, as Radish's reserve does, so the baseline stays a ceiling.
 */
import Redis from 'ioredis';

export const BASELINE_QUEUE = 'bench.baseline';
/** Finished-task counter, bumped once per batch (one INCRBY, not one write per task). */
export const BASELINE_DONE = 'bench.baseline.done';
/** Delays (ms) recorded by stamped messages. */
export const BASELINE_LATENCY = 'bench.baseline.latency';
/** Connection name the bench looks for in CLIENT LIST to know the consumer is waiting. */
export const BASELINE_CLIENT = 'bench-baseline-consumer';
const BATCH = 200; // Radish's prefetch at concurrency 50 (x4)

export interface BaselineMessage {
  id: string;
  task: string;
  args: unknown[];
  pad?: string;
}

/** Handle one message: parse it (any consumer must) and, when stamped, return the delay since its send. */
function handle(raw: string, now: () => number): number | undefined {
  const msg = JSON.parse(raw) as BaselineMessage;
  const sentAt = msg.args[0];
  return typeof sentAt === 'number' ? now() - sentAt : undefined;
}

export interface BaselineConsumer {
  stop(): Promise<void>;
  /** Settles when consuming ends: resolves after `stop()`, rejects on a Redis error. */
  readonly finished: Promise<void>;
  /** Why consuming stopped early (a Redis error), if it did. */
  error(): string | undefined;
}

/** Start consuming; resolves once connected. */
export async function startBaselineConsumer(url: string, now: () => number): Promise<BaselineConsumer> {
  const redis = new Redis(url, { connectionName: BASELINE_CLIENT, lazyConnect: true, maxRetriesPerRequest: null });
  await redis.connect();
  let running = true;
  const loop = (async () => {
    while (running) {
      let batch: string[] | null;
      try {
        batch = await redis.rpop(BASELINE_QUEUE, BATCH);
        if (!batch) {
          const popped = await redis.brpop(BASELINE_QUEUE, 1);
          batch = popped ? [popped[1]] : null;
        }
      } catch (err) {
        if (!running) return; // the connection was closed to interrupt BRPOP
        throw err;
      }
      if (!batch) continue;
      const delays: number[] = [];
      for (const raw of batch) {
        const delay = handle(raw, now);
        if (delay !== undefined) delays.push(delay);
      }
      const pipeline = redis.pipeline().incrby(BASELINE_DONE, batch.length);
      if (delays.length) pipeline.rpush(BASELINE_LATENCY, ...delays);
      // Not awaited: it travels ahead of the next pop on the same connection, so it costs no round-trip.
      void pipeline.exec().catch(() => undefined);
    }
  })();
  let failure: string | undefined;
  loop.catch((err: Error) => { failure = `baseline consumer failed: ${err.message}`; });
  return {
    finished: loop,
    error: () => failure,
    async stop() {
      running = false;
      redis.disconnect();
      await loop.catch(() => undefined);
    },
  };
}
