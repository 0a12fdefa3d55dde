/**
 * Example Radish tasks. Start a worker on them with `npx radish worker -A tasks.ts -Q celery,reports`.
 *
 * Names are explicit and Celery-style (`tasks.add`, `emails.send`) because they are the wire contract: a Python
 * service calls these tasks by name, and renaming a function must not break its callers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Radish, type TaskContext } from '@radish-queue/radish';

/** The broker is `RADISH_BROKER_URL` (default `redis://127.0.0.1:6379/0`); reports get a queue of their own. */
export const app = new Radish({
  routes: { 'reports.*': 'reports' },
});

/**
 * Errors named like Python's builtins: the `name` is the `exc_type` stored with the result, so a Celery
 * client re-raises a real `ValueError` / `ConnectionError`.
 */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

export const add = app.task('tasks.add', (x: number, y: number) => x + y);

export const sendEmail = app.task('emails.send', async (to: string, subject: string) => {
  await sleep(200); // stands in for the SMTP round-trip
  return { to, subject, status: 'sent' };
});

/** Called with kwargs (`{"url": ..., "width": 64}`) as often as with args; `width` keeps its default when omitted. */
export const thumbnail = app.task('images.thumbnail', async (url: string, width = 128) => {
  await sleep(50);
  const height = Math.round((width * 3) / 4);
  return { url, width, height, thumbnail: `${url}?w=${width}&h=${height}` };
});

/** Routed to the `reports` queue, so slow reports never hold up emails. */
export const buildReport = app.task('reports.build', async (kind: string, days = 7) => {
  await sleep(100);
  return { report: kind, days, rows: days * 24, url: `/reports/${kind}-${days}d.csv` };
});

/** Always fails: shows how a failure (type, message, traceback) reaches the caller. */
export const fail = app.task('tasks.fail', (value: string = 'not-a-number'): never => {
  throw new ValueError(`invalid literal for int(): ${JSON.stringify(value)}`);
});

/**
 * Fails its first attempts, then succeeds. The attempt number comes from the message (`request.retries`),
 * not from memory, because a retry may run on another worker.
 */
export const flaky = app.task('tasks.flaky', { bind: true, maxRetries: 5 }, (task: TaskContext, attempts = 3) => {
  const attempt = task.request.retries + 1;
  if (attempt < attempts) {
    throw task.retry({ countdown: 0.5, exc: new ConnectionError(`upstream refused attempt ${attempt}`) });
  }
  return `succeeded on attempt ${attempt} of ${attempts}`;
});

/**
 * Takes its time (a long export, say). It passes its signal to what it waits on, so a revoke with terminate
 * (from `radish control revoke --terminate` or the Workers view) stops it at once.
 */
export const slow = app.task('tasks.slow', { bind: true }, async (task: TaskContext, seconds = 30) => {
  await sleep(seconds * 1000, undefined, { signal: task.signal });
  return `waited ${seconds} s`;
});

/** Cheap and important: callers send it with priority 0 so it overtakes queued bulk work. */
export const urgent = app.task('tasks.urgent', (incident: string) => ({ incident, paged: 'on-call' }));

/**
 * A periodic task: `npx radish beat -A tasks.ts` sends `tasks.add(1, 2)` every 30 seconds (one beat is active at a
 * time; others stand by). The Schedules view lists it with its next run, and can pause, resume or run it now.
 */
app.schedule('add-every-30s', { task: 'tasks.add', every: 30, args: [1, 2] });
