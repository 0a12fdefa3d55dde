/**
 * Queue control for the whole fleet, Radish's and Celery's workers alike:
 *
 * - {@link pauseQueue}: the queue is recorded as paused in the shared store (so a Radish worker that starts later
 *   leaves it out too), every live Radish worker is told at once (`radish_queue_paused`, a Radish-only pidbox
 *   command, answered once it no longer takes from the queue; each also reads the record once a second), and the
 *   Celery workers that consume it are told `cancel_consumer` (recorded, so that resume tells them `add_consumer`).
 *   Messages stay in the queue; what a worker had already taken still runs. A Celery worker started later does
 *   consume a paused queue: Celery has no such record (pausing again tells it too).
 * - {@link resumeQueue}: the record goes, Radish workers take from the queue again, and the Celery workers that were
 *   cancelled get `add_consumer` (only those: a Celery worker that never consumed the queue does not start to).
 * - {@link drainWorker}: a worker stops taking anything (`cancel_consumer` for each of its queues), finishes what it
 *   holds (polled with `inspect active`/`reserved`), then gets `shutdown`.
 *
 *     await pauseQueue(app, 'emails');     // { radish: ['w1@vm'], celery: ['celery@web1'], ... }
 *     await pausedQueues(app);            // [{ queue: 'emails', since: 1764950000, cancelled: ['celery@web1'] }]
 *     await resumeQueue(app, 'emails');
 *     await drainWorker(app, 'w1@vm', { timeout: 300, onProgress: (p) => console.log(p) });
 */
import type { Radish } from './app';
import { PausedQueues, type PausedQueue } from './broker/paused-queues';
import { listPresences } from './broker/presence';
import type { SharedStore } from './broker/shared-store';
import { Control } from './control';
import { activeQueueNames } from './drain';

export type { PausedQueue } from './broker/paused-queues';

/** The Radish-only pidbox command a queue pause or resume is sent as (runner/worker/control-handlers.ts answers it). */
export const QUEUE_PAUSED_COMMAND = 'radish_queue_paused';

export interface QueueControlOptions {
  /** Seconds to wait for the workers' replies. Default 1. */
  timeout?: number;
  /** The Control to broadcast with (the extension's, say). Default: one on the app's broker, closed after. */
  control?: Control;
}

export interface PauseOutcome {
  queue: string;
  /** It was paused already: its record is kept, and Celery workers that consume it now are told too. */
  alreadyPaused: boolean;
  /** Radish workers that confirmed they no longer take from it. */
  radish: string[];
  /** Radish workers that did not answer in time: they read the pause from the shared store within a second. */
  radishUnconfirmed: string[];
  /** Celery workers that consumed it and were told `cancel_consumer` now. */
  celery: string[];
}

export interface ResumeOutcome {
  queue: string;
  /** Whether it was paused (resuming a queue that is not is no error: the Radish workers are still told). */
  wasPaused: boolean;
  /** Radish workers that confirmed they take from it again (those that consume it). */
  radish: string[];
  radishUnconfirmed: string[];
  /** Celery workers told `add_consumer`: those the pause cancelled. */
  celery: string[];
}

/** Pausing needs Radish's shared store, which the broker (Redis) or a Redis result backend provides. */
export class QueueControlUnavailableError extends Error {
  override readonly name = 'QueueControlUnavailableError';
}

async function storeOf(app: Radish): Promise<SharedStore> {
  const store = await app.sharedStore();
  if (!store) {
    throw new QueueControlUnavailableError('pausing a queue needs Redis to record it for every worker: a Redis broker, '
      + 'or a Redis result backend beside RabbitMQ (this app has RabbitMQ with the rpc:// backend)');
  }
  return store;
}

function checkQueue(queue: string): void {
  if (typeof queue !== 'string' || queue.trim() === '') throw new TypeError('a queue name is needed (a non-empty string)');
}

async function withControl<T>(app: Radish, options: QueueControlOptions, use: (control: Control) => Promise<T>): Promise<T> {
  const control = options.control ?? await Control.forApp(app);
  try {
    return await use(control);
  } finally {
    if (!options.control) await control.close();
  }
}

/** The live Radish workers: those with a presence record in the shared store. */
async function radishNodes(store: SharedStore): Promise<string[]> {
  return (await listPresences(store.redis, store.keys)).map((p) => p.hostname).sort();
}

/** Tell the Radish workers a queue's new state; returns who confirmed and who did not answer in time. */
async function tellRadish(control: Control, nodes: string[], queue: string, paused: boolean, timeout: number):
  Promise<{ confirmed: string[]; unconfirmed: string[] }> {
  if (nodes.length === 0) return { confirmed: [], unconfirmed: [] };
  const replies = await control.broadcast(QUEUE_PAUSED_COMMAND, { queue, paused }, { destination: nodes, timeout });
  const confirmed = nodes.filter((n) => isOk(replies[n]));
  return { confirmed, unconfirmed: nodes.filter((n) => !confirmed.includes(n)) };
}

function isOk(reply: unknown): boolean {
  return typeof reply === 'object' && reply !== null && 'ok' in reply;
}

/**
 * The Celery workers (nodes other than `radish`) that consume `queue` now, from `active_queues`. Asked only of the
 * nodes the broker lists when it lists any (Redis always does; RabbitMQ through its management API); else of all.
 */
async function celeryConsumers(app: Radish, control: Control, radish: readonly string[], queue: string, timeout: number): Promise<string[]> {
  const listed = await (await app.broker()).pidboxNodes();
  const candidates = listed.filter((n) => !radish.includes(n));
  if (listed.length > 0 && candidates.length === 0) return [];
  const replies = await control.inspect<unknown>('active_queues', {}, candidates.length ? { destination: candidates, timeout } : { timeout });
  return Object.entries(replies)
    .filter(([node, reply]) => !radish.includes(node) && activeQueueNames(reply).includes(queue))
    .map(([node]) => node)
    .sort();
}

/**
 * Pause `queue` for the whole fleet (see the module's comment). Resolves once the Radish workers that answered take
 * nothing more from it and the Celery workers that consume it were told. Throws {@link QueueControlUnavailableError}
 * without a shared store, TypeError for a bad name.
 */
export async function pauseQueue(app: Radish, queue: string, options: QueueControlOptions = {}): Promise<PauseOutcome> {
  checkQueue(queue);
  const timeout = options.timeout ?? 1;
  const store = await storeOf(app);
  const paused = new PausedQueues(store);
  const existing = await paused.get(queue);
  // Recorded first: a Radish worker starting from now on leaves the queue out.
  await paused.set(existing ?? { queue, since: Math.floor(Date.now() / 1000), cancelled: [] });
  return withControl(app, options, async (control) => {
    const nodes = await radishNodes(store);
    const radish = await tellRadish(control, nodes, queue, true, timeout);
    const celery = await celeryConsumers(app, control, nodes, queue, timeout);
    if (celery.length) {
      await control.broadcast('cancel_consumer', { queue }, { destination: celery, timeout });
      // Kept with the pause, so that resume tells exactly these add_consumer. A resume that removed the record
      // between the broadcast and this update found none of them in it: they are told add_consumer here instead, or
      // they would stay cancelled with no record left to undo it.
      if (!await paused.addCancelled(queue, celery)) await control.broadcast('add_consumer', { queue }, { destination: celery, timeout });
    }
    return { queue, alreadyPaused: existing !== null, radish: radish.confirmed, radishUnconfirmed: radish.unconfirmed, celery };
  });
}

/**
 * Resume a paused queue (see the module's comment). Resolves once the Radish workers that answered take from it again
 * and the Celery workers the pause cancelled were told `add_consumer`.
 */
export async function resumeQueue(app: Radish, queue: string, options: QueueControlOptions = {}): Promise<ResumeOutcome> {
  checkQueue(queue);
  const timeout = options.timeout ?? 1;
  const store = await storeOf(app);
  const record = await new PausedQueues(store).remove(queue);
  return withControl(app, options, async (control) => {
    const radish = await tellRadish(control, await radishNodes(store), queue, false, timeout);
    const celery = record?.cancelled ?? [];
    if (celery.length) await control.broadcast('add_consumer', { queue }, { destination: celery, timeout });
    return { queue, wasPaused: record !== null, radish: radish.confirmed, radishUnconfirmed: radish.unconfirmed, celery };
  });
}

/** The queues paused for the fleet, sorted by name; none without a shared store (nothing can be paused there). */
export async function pausedQueues(app: Radish): Promise<PausedQueue[]> {
  const store = await app.sharedStore();
  return store ? new PausedQueues(store).list() : [];
}

export { activeQueueNames, drainWorker, DrainError, type DrainOptions, type DrainOutcome, type DrainProgress } from './drain';
