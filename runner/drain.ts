/**
 * Drain-then-stop of one worker, Radish's or Celery's, through remote control only: it stops taking new tasks
 * (`cancel_consumer` for every queue it consumes, so messages sent meanwhile wait in their queues for other
 * workers), finishes what it holds (polled with `inspect active` and `reserved`), then gets `shutdown`.
 *
 * ETA tasks it holds (`inspect scheduled`) are not waited for: they may be due in hours. Its warm shutdown gives them
 * back to their queues (Radish's explicitly; Celery's by leaving them unacked), where another worker takes them.
 */
import type { Radish } from './app';
import { Control } from './control';

/** What the worker still holds, at one poll. */
export interface DrainProgress {
  node: string;
  /** Tasks running. */
  active: number;
  /** Tasks taken, waiting for a slot (they run before it stops). */
  reserved: number;
  /** ETA tasks waiting for their time (not waited for: given back at shutdown). */
  scheduled: number;
  /** Seconds since the drain began. */
  elapsed: number;
}

export interface DrainOptions {
  /** Seconds to wait for what it holds to finish; past it the worker is shut down anyway (warm). Default 600. */
  timeout?: number;
  /** Seconds between polls. Default 0.5. */
  interval?: number;
  /** Seconds to wait for each reply of the worker. Default 2. */
  replyTimeout?: number;
  /** Seconds to wait, after `shutdown`, for the worker to stop answering. Default 60. */
  stopTimeout?: number;
  /** Called after each poll. */
  onProgress?: (progress: DrainProgress) => void;
  /**
   * Abort the drain before the shutdown: the worker is given its queues back (`add_consumer`) and the drain rejects
   * with a {@link DrainError}.
   */
  signal?: AbortSignal;
  /** The Control to broadcast with. Default: one on the app's broker, closed after. */
  control?: Control;
}

export interface DrainOutcome {
  node: string;
  /** The queues it consumed, all cancelled. */
  queues: string[];
  /** It finished everything it held (active and reserved) before the timeout. */
  drained: boolean;
  /** It stopped answering remote control after `shutdown` (within `stopTimeout`). */
  stopped: boolean;
  /** What it held when it was told to shut down. */
  left: DrainProgress;
}

/** A drain that could not be done: the worker did not answer, or the drain was aborted. */
export class DrainError extends Error {
  override readonly name = 'DrainError';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The queue names of one node's `active_queues` reply (a list of kombu queue declarations, each with a `name`);
 * entries without a string name are skipped, and anything but a list gives none.
 */
export function activeQueueNames(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((q) => (typeof q === 'object' && q !== null && typeof (q as { name?: unknown }).name === 'string' ? [(q as { name: string }).name] : []));
}

function count(reply: unknown): number {
  return Array.isArray(reply) ? reply.length : 0;
}

/**
 * Drain worker `node` and stop it (see the module's comment). Throws {@link DrainError} when it does not answer
 * (at the start, or three polls in a row) or when `signal` aborts the drain.
 */
export async function drainWorker(app: Radish, node: string, options: DrainOptions = {}): Promise<DrainOutcome> {
  if (typeof node !== 'string' || node === '') throw new TypeError('a worker node name is needed, e.g. celery@web1');
  const timeout = options.timeout ?? 600;
  const interval = options.interval ?? 0.5;
  const replyTimeout = options.replyTimeout ?? 2;
  const stopTimeout = options.stopTimeout ?? 60;
  for (const [name, value] of [['timeout', timeout], ['interval', interval], ['replyTimeout', replyTimeout], ['stopTimeout', stopTimeout]] as const) {
    if (!(value > 0)) throw new RangeError(`${name} must be a positive number of seconds, got ${value}`);
  }
  const control = options.control ?? await Control.forApp(app);
  const ask = { destination: [node], timeout: replyTimeout, limit: 1 };
  try {
    const first = await control.inspect('active_queues', {}, ask);
    if (!(node in first)) throw new DrainError(`${node} did not answer within ${replyTimeout} s: is it running?`);
    const queues = activeQueueNames(first[node]);
    await Promise.all(queues.map((queue) => control.broadcast('cancel_consumer', { queue }, ask)));

    const started = Date.now();
    let left: DrainProgress = { node, active: 0, reserved: 0, scheduled: 0, elapsed: 0 };
    let quiet = 0;
    let silent = 0;
    let drained = false;
    for (;;) {
      if (options.signal?.aborted) {
        await Promise.all(queues.map((queue) => control.broadcast('add_consumer', { queue }, ask)));
        throw new DrainError(`the drain of ${node} was cancelled: it consumes ${queues.join(', ') || 'nothing'} again`);
      }
      const [active, reserved, scheduled] = await Promise.all(
        ['active', 'reserved', 'scheduled'].map((method) => control.inspect(method, {}, ask)));
      const answered = node in active! || node in reserved!;
      silent = answered ? 0 : silent + 1;
      if (silent >= 3) throw new DrainError(`${node} stopped answering while it was being drained`);
      left = {
        node, active: count(active![node]), reserved: count(reserved![node]), scheduled: count(scheduled![node]),
        elapsed: (Date.now() - started) / 1000,
      };
      if (answered) options.onProgress?.(left);
      // Twice in a row: a Celery worker answers cancel_consumer before its consumer is cancelled, so a message
      // delivered in between may show up as reserved only at the next poll.
      quiet = answered && left.active === 0 && left.reserved === 0 ? quiet + 1 : 0;
      if (quiet >= 2) {
        drained = true;
        break;
      }
      if (left.elapsed >= timeout) break;
      await sleep(interval * 1000);
    }

    await control.broadcast('shutdown', {}, { destination: [node], reply: false });
    const deadline = Date.now() + stopTimeout * 1000;
    let stopped = false;
    while (!stopped && Date.now() < deadline) {
      stopped = !(node in await control.ping({ destination: [node], timeout: 1, limit: 1 }));
      if (!stopped) await sleep(interval * 1000);
    }
    return { node, queues, drained, stopped, left };
  } finally {
    if (!options.control) await control.close();
  }
}
