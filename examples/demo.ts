/**
 * `npm run demo`: a worker on examples/ts-tasks, started as a user would start it, and a client sending it a
 * success, a failure, a retried task, a kwargs call and a priority task. Prints the results and the worker's
 * log, cleans up after itself, exits 0 (or 1 with one line saying what went wrong).
 */
import { resolve } from 'node:path';
import { dateDoneOf, TaskFailedError, type AsyncResult } from '@radish-queue/radish';
import { chooseRedis, type DemoRedis } from './demo/redis';
import { WorkerProcess } from './demo/worker';
import { add, app, buildReport, fail, flaky, sendEmail, thumbnail, urgent } from './ts-tasks/tasks';

/** dist/demo.js runs from dist/, one level below the repository. */
const REPO = resolve(__dirname, '..');
const QUEUES = ['celery', 'reports'];
const RESULT_TIMEOUT_MS = 5000;
const DEMO_TIMEOUT_MS = 20_000;

let redis: DemoRedis | undefined;
let worker: WorkerProcess | undefined;

const say = (line = ''): void => { process.stdout.write(line + '\n'); };
const show = (value: unknown): string => JSON.stringify(value);

/** `name(2, 3)` or `name(url="...", width=64)`: a call as the task receives it. */
function callText(name: string, args: readonly unknown[], kwargs: Record<string, unknown> = {}): string {
  return `${name}(${[...args.map(show), ...Object.entries(kwargs).map(([k, v]) => `${k}=${show(v)}`)].join(', ')})`;
}

/** The result as one line: the value, or the remote error's type and message. Timeouts are the demo's failure. */
async function outcome(result: AsyncResult<unknown>): Promise<string> {
  try {
    return `ok      ${show(await result.get({ timeout: RESULT_TIMEOUT_MS }))}`;
  } catch (err) {
    if (err instanceof TaskFailedError) return `failed  ${err.excType}: ${err.message}`;
    throw err;
  }
}

const ordinal = (n: number): string => `${n}${n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'}`;

async function main(): Promise<void> {
  say('Radish demo');
  redis = await chooseRedis(QUEUES);
  say(`  redis:  ${redis.description}`);
  app.useBroker(redis.url);

  // Queued before any worker runs, so the worker finds them all waiting and must choose: priority 0 first.
  const queued: { label: string; priority: number; result: AsyncResult<unknown> }[] = [];
  for (let i = 1; i <= 8; i++) {
    const result = await sendEmail.applyAsync([`user${i}@example.com`, 'Your weekly digest'], {}, { priority: 9 });
    queued.push({ label: `emails.send #${i}`, priority: 9, result });
  }
  queued.push({ label: 'tasks.urgent', priority: 0, result: await urgent.applyAsync(['checkout is down'], {}, { priority: 0 }) });
  const started = Date.now();
  worker = new WorkerProcess([
    resolve(REPO, 'dist/radish.js'), 'worker', '-A', resolve(REPO, 'examples/ts-tasks/tasks.ts'),
    '-Q', QUEUES.join(','), '-c', '4', '-l', 'info',
  ], redis.url);
  say(`  worker: ${worker.commandLine(process.cwd())}`);
  await worker.ready(5000);
  say(`  worker ready in ${((Date.now() - started) / 1000).toFixed(1)}s (pid ${worker.pid})`);

  say();
  say(`Priority: 8 × emails.send sent at priority 9, then tasks.urgent at priority 0, all before the worker started.`);
  await Promise.all(queued.map((q) => q.result.get({ timeout: RESULT_TIMEOUT_MS })));
  // Ordered by the date_done the worker stored, not by when this process heard back; ties keep sending order.
  const done = await Promise.all(queued.map(async (q, i) => {
    const at = dateDoneOf((await q.result.meta()) ?? { date_done: null });
    if (!at) throw new Error(`${q.label} has no date_done in its result`);
    return { ...q, sent: i + 1, at: at.getTime() };
  }));
  const finished = [...done].sort((a, b) => a.at - b.at);
  const first = finished[0]?.at ?? 0;
  say('Completion order (4 at a time, as the worker runs with -c 4):');
  finished.forEach((q, i) => say(`  ${String(i + 1).padStart(2)}. ${q.label.padEnd(16)} priority ${q.priority}, sent ${ordinal(q.sent).padEnd(4)} +${((q.at - first) / 1000).toFixed(2)}s`));
  if (finished[0]?.label !== 'tasks.urgent') throw new Error('the priority 0 task did not overtake the priority 9 ones');

  say();
  say('Results:');
  const calls: [string, Promise<AsyncResult<unknown>>][] = [
    [callText('tasks.add', [2, 3]), add.delay(2, 3)],
    [callText('tasks.fail', ['forty-two']), fail.delay('forty-two')],
    [callText('tasks.flaky', []), flaky.delay()],
    [callText('images.thumbnail', [], { url: 'https://example.com/cat.jpg', width: 64 }),
      thumbnail.applyAsync([], { url: 'https://example.com/cat.jpg', width: 64 })],
    [callText('reports.build', ['signups', 30]) + '  (routed to queue "reports")', buildReport.delay('signups', 30)],
  ];
  const lines = await Promise.all(calls.map(async ([text, sent]) => {
    const result = await sent;
    const line = `  ${text}\n      -> ${await outcome(result)}`;
    // The worker logs each retry; counting them shows what the return value alone cannot.
    const retries = worker?.log.split('\n').filter((l) => l.includes(`[${result.id}] retry:`)).length ?? 0;
    return retries ? `${line}  (after ${retries} retr${retries === 1 ? 'y' : 'ies'})` : line;
  }));
  lines.forEach((l) => say(l));

  say();
  say('Stopping the worker (SIGTERM: warm shutdown)...');
  const code = await worker.stop(5000);
  say();
  say('Worker log:');
  say(worker.log.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  if (code !== 0) throw new Error(`worker exited with code ${code}`);
  await cleanUp();
  say();
  say(`Done in ${((Date.now() - started) / 1000).toFixed(1)}s.`);
}

async function cleanUp(): Promise<void> {
  // Warm first, so a worker on an existing server gives back what it reserved; stop() kills it if it hangs.
  await worker?.stop(2000).catch(() => undefined);
  await app.close().catch(() => undefined);
  await redis?.stop().catch(() => undefined);
}

let failing = false;
async function failWith(err: unknown): Promise<void> {
  if (failing) return; // the first failure is already cleaning up
  failing = true;
  setTimeout(() => process.exit(1), 5000).unref(); // cleanup gets a few seconds, not for ever
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await cleanUp();
  process.exit(1);
}

setTimeout(() => void failWith(new Error(`still running after ${DEMO_TIMEOUT_MS / 1000}s`)), DEMO_TIMEOUT_MS).unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void failWith(new Error(`interrupted (${signal})`)));
// A closed pipe (`npm run demo | head`) must still stop the worker and the throwaway server, not crash past them.
process.stdout.on('error', (err) => void failWith(err));
process.stderr.on('error', () => undefined);
process.on('uncaughtException', (err) => void failWith(err));
// Exit explicitly: a connection left open by a bug must not keep the demo hanging after it has finished.
main().then(() => process.exit(0), failWith);
