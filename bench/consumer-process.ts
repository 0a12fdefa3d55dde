/**
 * `node dist/bench.js --consumer KIND URL CONCURRENCY`: a consumer (the baseline's, or a peer's worker) as a
 * process of its own, consuming until SIGTERM, as `radish worker` does for Radish.
 */
import { startBaselineConsumer } from './baseline-consumer';
import { startBeeQueueConsumer } from './bee-queue-system';
import { startBullmqConsumer } from './bullmq-system';
import { startCeleryNodeConsumer } from './celery-node-system';
import type { ConsumerKind } from './child';
import { now } from './clock';
import { BenchError } from './errors';
import type { Consumer } from './system';

const STARTERS: Record<ConsumerKind, (url: string, concurrency: number) => Promise<Consumer & { finished?: Promise<void> }>> = {
  baseline: (url) => startBaselineConsumer(url, now),
  bullmq: startBullmqConsumer,
  'bee-queue': startBeeQueueConsumer,
  'celery-node': (url) => startCeleryNodeConsumer(url),
};

export async function consumerProcess(argv: string[]): Promise<number> {
  const [kind, url, concurrencyText] = argv;
  if (!kind || !(kind in STARTERS)) throw new BenchError(`--consumer needs one of ${Object.keys(STARTERS).join(', ')}, got ${JSON.stringify(kind)}`);
  if (!url) throw new BenchError('--consumer needs a Redis URL');
  const concurrency = Number(concurrencyText ?? 50);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new BenchError(`--consumer concurrency must be a positive integer, got ${JSON.stringify(concurrencyText)}`);
  const signalled = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  const consumer = await STARTERS[kind as ConsumerKind](url, concurrency);
  // A consumer that reports errors as they happen (not through `finished`) is checked here now and then.
  const failed = new Promise<void>((_resolve, reject) => {
    const timer = setInterval(() => {
      const failure = consumer.error?.();
      if (failure) {
        clearInterval(timer);
        reject(new BenchError(failure));
      }
    }, 200);
    timer.unref();
  });
  await Promise.race([signalled, failed, ...(consumer.finished ? [consumer.finished] : [])]);
  await consumer.stop();
  return 0;
}
