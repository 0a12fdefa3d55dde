/**
 * The bench's task module: `radish worker -A bench/tasks.ts` serves it in a worker process, and the bench
 * registers the same tasks on an in-process worker's app.
 */
import { Radish } from 'radish';
import { now } from './clock';

/** Register the bench tasks on an app (and return it). */
export function defineBenchTasks(app: Radish): Radish {
  // Does nothing, so a drain measures the queue, not the task.
  app.task('bench.noop', () => null);
  // Returns the delay from the client's send to this start, in ms; the client reads it from the result.
  app.task('bench.latency', (sentAt: number) => now() - sentAt);
  // Never ends, so the worker keeps holding the messages prefetched behind it (the memory measurement kills it).
  app.task('bench.hold', () => new Promise<never>(() => undefined));
  return app;
}

/** The app a worker process serves. It never connects to its default URL: the bench always passes --broker. */
export const app = defineBenchTasks(new Radish());
