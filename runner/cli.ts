/**
 * `radish`, shaped like `celery`'s CLI: worker, beat, call, result, purge, inspect, control, dlq (USAGE below is
 * the whole list). Every user error is one clear line on stderr and a non-zero exit, never a stack trace.
 */
import { hostname } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Radish } from './app';
import { AmqpUnavailableError } from './broker/amqp/connection';
import { RedisUnavailableError } from './broker/connection';
import { createLogger, parseLogLevel, type LogLevel } from './log';
import { TaskFailedError } from './protocol/result';
import { ResultTimeoutError } from './backend/backend';
import { findApp, loadModule, splitAppSpec } from './worker/loader';
import { VERSION } from './version';
import { Control, type BroadcastOptions } from './control';
import { formatReply, nodesOnline } from './control-print';
import { Inspector } from './inspector';
import { drainWorker, pausedQueues, pauseQueue, resumeQueue } from './queue-control';
import { describeDrain, describePause, describeProgress, describeResume } from './queue-control-print';
import type { JsonObject } from './protocol/message';
import { signalName } from './protocol/pidbox';
import { Worker } from './worker/worker';
import { Beat } from './beat/beat';
import { describeTiming, listSchedules, pauseSchedule, resumeSchedule, runScheduleNow } from './beat/schedules';
import { errorMessage } from './errors';
import { runMatchCommand } from './monitor/search-cli';
import { redactUrl } from './broker/connection';
import { Exporter } from './monitor/exporter';

const USAGE = `Usage: radish <command> [options]

Commands:
  worker   -A MODULE [-Q q1,q2] [-c N] [-P async|process] [-l LEVEL] [-n name@host]
           [--prefetch-multiplier N] [--time-limit S] [--soft-time-limit S] [--acks-early]
           [--shutdown-timeout S] [-E] [--result-extended] [--track-started] [--debug]
           [--no-metrics-history] [--metrics-port N [--metrics-host H] [--metrics-queues]]
                                                          run a worker on a task module (.ts or .js);
                                                          SIGTERM: warm shutdown, a second one: cold (also
                                                          over IPC: {"radish":"shutdown","mode":"warm|cold"})
                                                          --debug: one task process that waits for a debugger
                                                          (its address is logged), no time limits
                                                          --no-metrics-history: no per-minute history
                                                          (the VS Code Metrics view's data) in Redis
                                                          --metrics-port: Prometheus metrics at
                                                          http://H:N/metrics (H default 0.0.0.0); with
                                                          --metrics-queues also its queues' depth and oldest age
  exporter --port N [--host H] [-Q q1,q2] [--no-events]   serve Prometheus metrics for the fleet at /metrics:
                                                          depth and oldest message age per queue (-Q, else every
                                                          queue the broker knows), and Flower's metrics from the
                                                          events of every worker (Celery's with -E); SIGTERM stops
  beat     -A MODULE [-l LEVEL] [--lock-timeout S]       send the module's periodic tasks (app.schedule) when
                                                          due; one active at a time, others stand by; SIGTERM stops
  call     NAME [--args JSON] [--kwargs JSON] [--queue Q] [--priority 0-9] [--countdown S]
           [--expires S] [--task-id ID] [--wait [SECONDS]]  send a task by name (TypeScript or Python)
  result   ID [--wait SECONDS]                            show (or wait for) a task's result
  purge    -Q q1,q2 [-f]                                  delete every waiting message of the queues
  inspect  queues [-Q q1,q2] [--json]                     queue depths per priority (Radish's own)
  inspect  METHOD [ARG...] [key=value...] [-d node1,node2] [-t S] [-j|--json]
                                                          ask the workers (Radish and Celery) over pidbox;
                                                          METHOD: active, reserved, scheduled, registered [ATTR...],
                                                          stats, query_task ID..., active_queues, revoked, ping,
                                                          clock, conf, report
  control  revoke ID... [--terminate] [--signal SIG] [-d node1,node2] [-t S] [-j|--json]
                                                          revoke tasks on every worker, now and later
  control  rate_limit TASK RATE | time_limit TASK SOFT [HARD] | add_consumer Q | cancel_consumer Q
           | pool_grow [N] | pool_shrink [N] | enable_events | disable_events | shutdown
           [-d node1,node2] [-t S] [-j|--json]            steer the workers
  control  pause_queue Q | resume_queue Q [-t S] [-j|--json]
                                                          pause a queue for the whole fleet: Radish workers
                                                          (running and started later) take nothing from it,
                                                          Celery workers get cancel_consumer (one started later
                                                          still consumes it); resume undoes both
  control  drain -d NODE [--drain-timeout S] [-t S] [-j|--json]
                                                          the worker takes nothing new, finishes what it holds
                                                          (up to --drain-timeout seconds, default 600), then shuts
                                                          down; -t: each reply's wait (default 2); Ctrl-C gives it
                                                          its queues back
  dlq      list [--limit N] [--json] | show N | replay N [--args JSON] [--kwargs JSON]
           | discard N | purge -f                         the dead-letter queue (N: position in list)
  dlq      list --match QUERY [--limit N] [--json] | retry --match QUERY [--limit N]
           | discard --match QUERY -f [--limit N]         the failures (dead letters and stored FAILUREs) that
                                                          match QUERY ('exc:Timeout args:order-42', see README);
                                                          retry sends each again as a new task; at most --limit
                                                          (default 1000) at once
  schedules list [--json] | pause NAME | resume NAME | run NAME
                                                          radish beat's schedules (published by the active beat):
                                                          next/last run; pause/resume for every scheduler (ticks
                                                          due while paused are skipped); run: send it now

Common options:
  --broker URL      redis://, rediss://, sentinel://, amqp:// or amqps:// (default: $RADISH_BROKER_URL, the
                    app's broker, or redis://127.0.0.1:6379/0)
  --result-backend URL  redis:// or rpc:// (results as messages, with amqp://) (default: $RADISH_RESULT_BACKEND, the app's, or the
                    broker when it is Redis; needed with amqp://)
  -A, --app MODULE  task module, as MODULE or MODULE:export
  -h, --help        this help;  --version  the version
`;

/** A mistake in how the command was called: printed as one line, exit code 2. */
class UsageError extends Error {}

const COMMON = {
  broker: { type: 'string', short: 'b' },
  'result-backend': { type: 'string' },
  app: { type: 'string', short: 'A' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(errorMessage(err).split('\n')[0]!.replace(/\. To specify a positional.*/, ''));
  }
}

function json(text: string | undefined, flag: string, shape: 'array' | 'object'): unknown {
  if (text === undefined) return shape === 'array' ? [] : {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON: ${errorMessage(err)}`);
  }
  const ok = shape === 'array' ? Array.isArray(value) : typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!ok) throw new UsageError(`${flag} must be a JSON ${shape === 'array' ? 'array, e.g. [2, 3]' : 'object, e.g. {"x": 1}'}`);
  return value;
}

function number(text: string | undefined, flag: string, { min = -Infinity, max = Infinity, integer = false } = {}): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be ${integer ? 'an integer' : 'a number'}${Number.isFinite(min) ? ` from ${min}` : ''}${Number.isFinite(max) ? ` to ${max}` : ''}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** `-l LEVEL` (default info), as a usage error when it is not a level. */
function logLevel(text: string | undefined): LogLevel {
  try {
    return parseLogLevel(text ?? 'info');
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
}

function list(text: string | undefined): string[] | undefined {
  const items = text?.split(',').map((s) => s.trim()).filter(Boolean);
  return items?.length ? items : undefined;
}

function isApp(v: unknown): v is Radish {
  return v instanceof Radish;
}

/** The app: from -A when given (its broker unless --broker says otherwise), else a bare client app. */
async function resolveApp(values: { app?: string; broker?: string; 'result-backend'?: string }): Promise<Radish> {
  let app: Radish;
  if (values.app) {
    const [spec, attr] = splitAppSpec(values.app);
    app = findApp(await loadModule(spec), isApp, attr);
  } else {
    app = new Radish();
  }
  if (values.broker) app.useBroker(values.broker);
  if (values['result-backend']) app.useBackend(values['result-backend']);
  return app;
}

/** The mode of a shutdown request sent over the IPC channel (`{ radish: 'shutdown', mode }`); undefined otherwise. */
function shutdownRequest(message: unknown): 'warm' | 'cold' | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { radish, mode } = message as { radish?: unknown; mode?: unknown };
  return radish === 'shutdown' && (mode === 'warm' || mode === 'cold') ? mode : undefined;
}

async function worker(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    queues: { type: 'string', short: 'Q' },
    concurrency: { type: 'string', short: 'c' },
    loglevel: { type: 'string', short: 'l' },
    hostname: { type: 'string', short: 'n' },
    'prefetch-multiplier': { type: 'string' },
    pool: { type: 'string', short: 'P' },
    'time-limit': { type: 'string' },
    'soft-time-limit': { type: 'string' },
    'acks-early': { type: 'boolean' },
    debug: { type: 'boolean' },
    'shutdown-timeout': { type: 'string' },
    events: { type: 'boolean', short: 'E' },
    'result-extended': { type: 'boolean' },
    'track-started': { type: 'boolean' },
    'no-metrics-history': { type: 'boolean' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
    'metrics-queues': { type: 'boolean' },
  });
  if (values.help) return help();
  if (!values.app) throw new UsageError('worker needs a task module: radish worker -A ./tasks.ts');
  const level = logLevel(values.loglevel);
  const concurrency = number(values.concurrency, '--concurrency', { min: 1, integer: true });
  const prefetchMultiplier = number(values['prefetch-multiplier'], '--prefetch-multiplier', { min: 1, integer: true });
  const timeLimit = number(values['time-limit'], '--time-limit', { min: 0 });
  const softTimeLimit = number(values['soft-time-limit'], '--soft-time-limit', { min: 0 });
  const shutdownTimeout = number(values['shutdown-timeout'], '--shutdown-timeout', { min: 0 });
  const metricsPort = number(values['metrics-port'], '--metrics-port', { min: 0, max: 65535, integer: true });
  if (metricsPort === undefined && (values['metrics-host'] !== undefined || values['metrics-queues'])) {
    throw new UsageError('--metrics-host and --metrics-queues go with --metrics-port N');
  }
  const pool = values.pool ?? 'async';
  if (pool !== 'async' && pool !== 'process') throw new UsageError(`--pool must be async or process, got ${JSON.stringify(pool)}`);
  const logger = createLogger(level);
  // Stop requests are heard from here on, while the module loads and the worker starts too: a signal, or a message
  // from the VS Code extension over the IPC channel it starts the worker with (Windows has no SIGTERM: kill() there is
  // TerminateProcess), `{ radish: 'shutdown', mode: 'warm' | 'cold' }` (extension/worker/stop.ts). The first request
  // stops warmly; a second one (or a cold one) turns the stop cold: running tasks aborted, messages given back. A
  // third one exits at once (Redis unreachable and a stop waiting on it, say): what the worker held stays recorded in
  // Redis and is restored by the next start or by other workers.
  let w: Worker | undefined;
  let ready = false;
  let requests = 0;
  let settle: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => { settle = resolve; });
  const escalate = (cold: boolean) => {
    requests = cold ? Math.max(requests + 1, 2) : requests + 1;
    if (!w || !ready) {
      // The worker takes messages only once it is ready: there is nothing to finish or give back yet.
      logger.log('warning', 'Stopping before the worker was ready (nothing taken yet)');
      process.exit(0);
    }
    if (requests > 2) {
      logger.log('warning', 'Exiting at once (third signal): held messages are restored by the next start or by other workers');
      process.exit(1);
    }
    void w.stop({ cold: requests > 1 }).then(done, done);
  };
  const onSignal = () => escalate(false);
  const onMessage = (message: unknown) => {
    const mode = shutdownRequest(message);
    if (mode) escalate(mode === 'cold');
  };
  // The parent that started the worker is gone (its window closed, or crashed): a warm stop, unless one is under way.
  const onDisconnect = () => { if (requests === 0) escalate(false); };
  const done = () => {
    // Without these listeners the channel no longer holds the process open: it ends as soon as the worker is done.
    process.off('message', onMessage);
    process.off('disconnect', onDisconnect);
    settle();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (process.send) {
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
  }
  let app: Radish | undefined;
  try {
    app = await resolveApp(values);
    w = new Worker(app, {
      queues: list(values.queues),
      concurrency,
      prefetchMultiplier,
      hostname: values.hostname?.replace('%h', hostname()),
      logger,
      resultExtended: values['result-extended'],
      trackStarted: values['track-started'],
      pool,
      appModule: values.app,
      timeLimit,
      softTimeLimit,
      shutdownTimeout,
      acksLate: values['acks-early'] ? false : undefined,
      events: values.events,
      debug: values.debug,
      metricsHistory: !values['no-metrics-history'],
      metricsPort,
      metricsHost: values['metrics-host'],
      metricsQueues: values['metrics-queues'],
    });
    // A remote `shutdown` (celery control shutdown): the same path as a first SIGTERM, a warm stop.
    w.on('shutdown-requested', onSignal);
    await w.start();
  } catch (err) {
    // A module that does not load, a worker that cannot start: the listeners must not hold the process open.
    done();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await app?.close();
    throw err;
  }
  // Nothing runs between the worker's "ready." line and here: a request is never handled in between.
  ready = true;
  await stopped;
  await app.close();
  // Code the async pool gave up on (a hard time limit, a terminate) may still hold timers; the worker is done, so
  // the process ends shortly after, whatever they hold.
  setTimeout(() => process.exit(0), 500).unref();
  return 0;
}

async function beat(argv: string[]): Promise<number> {
  const { values } = parse(argv, { loglevel: { type: 'string', short: 'l' }, 'lock-timeout': { type: 'string' } });
  if (values.help) return help();
  if (!values.app) throw new UsageError('beat needs a module that declares schedules: radish beat -A ./tasks.ts');
  const level = logLevel(values.loglevel);
  const lockTimeout = number(values['lock-timeout'], '--lock-timeout', { min: 1 });
  const app = await resolveApp(values);
  const b = new Beat(app, { logger: createLogger(level), lockTimeout: lockTimeout === undefined ? undefined : lockTimeout * 1000 });
  try {
    await b.start();
    await new Promise<void>((resolve) => {
      // One signal is enough: stopping only waits for the current pass and releases the lock.
      const onSignal = () => { void b.stop().then(resolve, resolve); };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    });
  } finally {
    await b.stop();
    await app.close();
  }
  return 0;
}

async function call(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    args: { type: 'string', short: 'a' },
    kwargs: { type: 'string', short: 'k' },
    queue: { type: 'string', short: 'Q' },
    priority: { type: 'string' },
    countdown: { type: 'string' },
    expires: { type: 'string' },
    'task-id': { type: 'string' },
    wait: { type: 'string' },
  });
  if (values.help) return help();
  const name = positionals[0];
  if (!name) throw new UsageError('call needs a task name: radish call tasks.add --args \'[2, 3]\'');
  const args = json(values.args, '--args', 'array') as unknown[];
  const kwargs = json(values.kwargs, '--kwargs', 'object') as Record<string, unknown>;
  const priority = number(values.priority, '--priority', { min: 0, max: 9, integer: true });
  const countdown = number(values.countdown, '--countdown', { min: 0 });
  const expires = number(values.expires, '--expires');
  const wait = number(values.wait, '--wait', { min: 0 });
  const app = await resolveApp(values);
  try {
    const result = await app.send(name, args, kwargs, { queue: values.queue, priority, countdown, expires, taskId: values['task-id'] });
    if (wait === undefined) {
      process.stdout.write(result.id + '\n');
      return 0;
    }
    return await printResult(result.id, () => result.get({ timeout: wait * 1000 }));
  } finally {
    await app.close();
  }
}

async function printResult(id: string, get: () => Promise<unknown>): Promise<number> {
  try {
    const value = await get();
    process.stdout.write(JSON.stringify(value) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof TaskFailedError) {
      process.stderr.write(`${err.state} ${id}: ${err.excType}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ResultTimeoutError) {
      process.stderr.write(`radish: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function result(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { wait: { type: 'string' } });
  if (values.help) return help();
  const id = positionals[0];
  if (!id) throw new UsageError('result needs a task id');
  const wait = number(values.wait, '--wait', { min: 0 });
  const app = await resolveApp(values);
  try {
    const handle = await app.asyncResult(id);
    if (wait !== undefined) return await printResult(id, () => handle.get({ timeout: wait * 1000 }));
    const meta = await handle.meta();
    process.stdout.write(JSON.stringify(meta ?? { status: 'PENDING', task_id: id }) + '\n');
    return 0;
  } finally {
    await app.close();
  }
}

async function purge(argv: string[]): Promise<number> {
  const { values } = parse(argv, { queues: { type: 'string', short: 'Q' }, force: { type: 'boolean', short: 'f' } });
  if (values.help) return help();
  const queues = list(values.queues);
  if (!queues) throw new UsageError('purge needs the queues to empty: radish purge -Q celery -f');
  if (!values.force) throw new UsageError(`purge deletes every waiting message of ${queues.join(', ')}: add -f to confirm`);
  const app = await resolveApp(values);
  try {
    const broker = await app.broker();
    let total = 0;
    for (const q of queues) total += await broker.purge(q);
    process.stdout.write(`Purged ${total} message${total === 1 ? '' : 's'} from ${queues.length} known task queue${queues.length === 1 ? '' : 's'}.\n`);
    return 0;
  } finally {
    await app.close();
  }
}

/** What `-d`, `-t` and `--json` ask of a broadcast from the CLI. */
interface AskOptions { app?: string; broker?: string; destination?: string; timeout?: string; json?: boolean; 'drain-timeout'?: string }

/**
 * Broadcast from the CLI and print as Celery's CLI does: each node's reply as it arrives (`->  node: OK` and the
 * value), then `N nodes online.`; or, with --json, the replies as one JSON object at the end. Resolves with the
 * exit code: 1, with a message on stderr, when no node replied. `noReply` may print its own account instead.
 */
async function askWorkers(values: AskOptions, ask: (control: Control, options: BroadcastOptions) => Promise<Record<string, unknown>>,
  noReply?: () => number): Promise<number> {
  const timeout = number(values.timeout, '--timeout', { min: 0.001 }) ?? 1;
  const destination = list(values.destination);
  const app = await resolveApp(values);
  const control = await Control.forApp(app);
  let replies: Record<string, unknown>;
  try {
    const onReply = values.json ? undefined : (node: string, value: unknown) => process.stdout.write(formatReply(node, value));
    replies = await ask(control, { destination, timeout, onReply });
  } finally {
    await control.close();
    await app.close();
  }
  const count = Object.keys(replies).length;
  if (count === 0) {
    if (noReply) return noReply();
    const asked = destination ? `; asked ${destination.join(', ')}` : '';
    process.stderr.write(`Error: No nodes replied within time constraint (${timeout} s${asked}). Is a worker running on this broker?\n`);
    return 1;
  }
  process.stdout.write(values.json ? JSON.stringify(replies) + '\n' : nodesOnline(count));
  return 0;
}

/** `radish control <command> <positionals>`: the pidbox arguments of each command Celery's `control` sends. */
const CONTROL_ARGS: Record<string, { usage: string; args: (p: string[]) => JsonObject | undefined }> = {
  rate_limit: { usage: 'rate_limit TASK RATE (e.g. 10/s; 0 turns it off)', args: ([task, rate]) => (task && rate ? { task_name: task, rate_limit: rate } : undefined) },
  time_limit: {
    usage: 'time_limit TASK SOFT [HARD] (seconds)',
    args: ([task, soft, hard]) => {
      const n = (v: string | undefined, flag: string) => number(v, flag, { min: 0 }) ?? null;
      return task && soft !== undefined ? { task_name: task, soft: n(soft, 'SOFT'), hard: n(hard, 'HARD') } : undefined;
    },
  },
  add_consumer: { usage: 'add_consumer QUEUE', args: ([queue]) => (queue ? { queue } : undefined) },
  cancel_consumer: { usage: 'cancel_consumer QUEUE', args: ([queue]) => (queue ? { queue } : undefined) },
  pool_grow: { usage: 'pool_grow [N]', args: ([n]) => ({ n: number(n, 'N', { min: 1, integer: true }) ?? 1 }) },
  pool_shrink: { usage: 'pool_shrink [N]', args: ([n]) => ({ n: number(n, 'N', { min: 1, integer: true }) ?? 1 }) },
  enable_events: { usage: 'enable_events', args: () => ({}) },
  disable_events: { usage: 'disable_events', args: () => ({}) },
  shutdown: { usage: 'shutdown', args: () => ({}) },
};

async function control(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    destination: { type: 'string', short: 'd' }, timeout: { type: 'string', short: 't' }, json: { type: 'boolean', short: 'j' },
    terminate: { type: 'boolean' }, signal: { type: 'string', short: 's' }, 'drain-timeout': { type: 'string' },
  });
  if (values.help) return help();
  const [what, ...rest] = positionals;
  if (values['drain-timeout'] !== undefined && what !== 'drain') throw new UsageError('--drain-timeout is for control drain only');
  const commands = ['revoke', ...Object.keys(CONTROL_ARGS), 'pause_queue', 'resume_queue', 'drain'].join(', ');
  if (what === 'pause_queue' || what === 'resume_queue') return pauseOrResume(what, rest, values);
  if (what === 'drain') return drain(rest, values);
  if (what && what !== 'revoke') {
    const command = CONTROL_ARGS[what];
    if (!command) throw new UsageError(`unknown control command ${JSON.stringify(what)} (one of: ${commands})`);
    const args = command.args(rest);
    if (!args) throw new UsageError(`usage: radish control ${command.usage}`);
    return askWorkers(values, (c, options) => c.broadcast(what, args, options));
  }
  if (!what) throw new UsageError(`control what? one of: ${commands}`);
  if (rest.length === 0) throw new UsageError('revoke needs one or more task ids');
  let signal: NodeJS.Signals | undefined;
  try {
    signal = values.signal === undefined ? undefined : signalName(values.signal);
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  // A revoke is recorded in Redis even when no worker runs now: workers that start later honour it.
  return askWorkers(values, (c, options) => c.revoke(rest, { ...options, terminate: values.terminate, signal }), () => {
    process.stdout.write(`Revoked ${rest.join(', ')}: recorded for workers that start later (no worker replied now).\n`);
    return 0;
  });
}

/** `radish control pause_queue Q` / `resume_queue Q` (runner/queue-control.ts). */
async function pauseOrResume(what: 'pause_queue' | 'resume_queue', rest: string[], values: AskOptions): Promise<number> {
  const [queue, ...extra] = rest;
  if (!queue || extra.length) throw new UsageError(`usage: radish control ${what} QUEUE`);
  const timeout = number(values.timeout, '--timeout', { min: 0.001 }) ?? 1;
  const app = await resolveApp(values);
  try {
    const outcome = what === 'pause_queue' ? await pauseQueue(app, queue, { timeout }) : await resumeQueue(app, queue, { timeout });
    if (values.json) process.stdout.write(JSON.stringify(outcome) + '\n');
    else process.stdout.write('alreadyPaused' in outcome ? describePause(outcome) : describeResume(outcome));
    return 0;
  } finally {
    await app.close();
  }
}

/**
 * `radish control drain -d NODE [--drain-timeout S] [-t S]`: exit 0 once it stopped, 1 when it still answers after
 * `shutdown`. `-t` is the wait for each reply, as for every control command; the drain's own deadline has its flag.
 */
async function drain(rest: string[], values: AskOptions): Promise<number> {
  const nodes = list(values.destination);
  if (rest.length || nodes?.length !== 1) throw new UsageError('usage: radish control drain -d NODE [--drain-timeout S] [-t S] (one worker)');
  const timeout = number(values['drain-timeout'], '--drain-timeout', { min: 0.001 });
  const replyTimeout = number(values.timeout, '--timeout', { min: 0.001 });
  const app = await resolveApp(values);
  // Ctrl-C during the drain: the worker gets its queues back (it is not left taking nothing).
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  try {
    let last = '';
    const outcome = await drainWorker(app, nodes[0]!, {
      ...(timeout === undefined ? {} : { timeout }),
      ...(replyTimeout === undefined ? {} : { replyTimeout }),
      signal: abort.signal,
      onProgress: (p) => {
        const line = describeProgress({ ...p, elapsed: 0 });
        if (!values.json && line !== last) process.stdout.write(describeProgress(p));
        last = line;
      },
    });
    process.stdout.write(values.json ? JSON.stringify(outcome) + '\n' : describeDrain(outcome));
    return outcome.stopped ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    await app.close();
  }
}

/**
 * Celery's inspect commands (celery/worker/control.py): the keyword their extra words fill, as Celery's CLI fills it
 * (`registered ATTR...` -> taskinfoitems, `query_task ID...` -> ids), and whether one is needed.
 */
const INSPECT_METHODS: Record<string, { variadic?: string; required?: string }> = {
  active: {}, reserved: {}, scheduled: {}, stats: {}, active_queues: {}, revoked: {}, ping: {}, clock: {}, conf: {}, report: {},
  registered: { variadic: 'taskinfoitems' },
  query_task: { variadic: 'ids', required: 'query_task needs one or more task ids: radish inspect query_task ID...' },
};

/** The pidbox arguments of `radish inspect METHOD words...`: `key=value` words as keywords (JSON values, else text). */
function inspectArguments(method: string, words: string[]): JsonObject {
  const spec = INSPECT_METHODS[method]!;
  const args: JsonObject = {};
  const rest: string[] = [];
  for (const word of words) {
    const kv = /^([A-Za-z_]\w*)=(.*)$/s.exec(word);
    if (!kv) {
      rest.push(word);
      continue;
    }
    try {
      args[kv[1]!] = JSON.parse(kv[2]!) as JsonObject[string];
    } catch {
      args[kv[1]!] = kv[2]!;
    }
  }
  if (spec.variadic) {
    if (spec.required && rest.length === 0 && args[spec.variadic] === undefined) throw new UsageError(spec.required);
    // As Celery's CLI: the list is sent even when empty (`registered` then uses its default attributes).
    args[spec.variadic] ??= rest;
  } else if (rest.length) {
    throw new UsageError(`inspect ${method} takes no arguments other than key=value, got ${JSON.stringify(rest[0])}`);
  }
  return args;
}

async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    queues: { type: 'string', short: 'Q' }, json: { type: 'boolean', short: 'j' },
    destination: { type: 'string', short: 'd' }, timeout: { type: 'string', short: 't' },
  });
  if (values.help) return help();
  const [what, ...words] = positionals;
  const methods = ['queues', ...Object.keys(INSPECT_METHODS)].join(', ');
  if (!what) throw new UsageError(`inspect what? one of: ${methods}`);
  if (what !== 'queues') {
    if (!Object.hasOwn(INSPECT_METHODS, what)) throw new UsageError(`unknown inspect command ${JSON.stringify(what)} (one of: ${methods})`);
    const args = inspectArguments(what, words);
    return askWorkers(values, (c, options) => c.inspect(what, args, options));
  }
  const app = await resolveApp(values);
  try {
    const broker = await app.broker();
    const named = list(values.queues);
    const depths = named ? await broker.depths(named) : await new Inspector(app).queues();
    const queues = depths.map((d) => d.queue);
    const unacked = await broker.unackedCount();
    const paused = (await pausedQueues(app)).map((p) => p.queue);
    if (values.json) {
      process.stdout.write(JSON.stringify({ queues: depths, unacked, paused }) + '\n');
      return 0;
    }
    const width = Math.max(5, ...queues.map((q) => q.length));
    // RabbitMQ keeps one queue whatever the priorities in it: no per-priority columns then.
    const steps = depths.some((d) => Object.keys(d.byPriority).length > 0);
    const head = steps ? ['total', 'p0-2', 'p3-5', 'p6-8', 'p9'] : ['total'];
    process.stdout.write(`${'queue'.padEnd(width)}  ${head.map((h) => h.padStart(8)).join('  ')}\n`);
    for (const d of depths) {
      const values = steps ? [d.total, d.byPriority[0], d.byPriority[3], d.byPriority[6], d.byPriority[9]] : [d.total];
      process.stdout.write(`${d.queue.padEnd(width)}  ${values.map((n) => String(n ?? 0).padStart(8)).join('  ')}\n`);
    }
    process.stdout.write(`unacked: ${unacked ?? 'unknown (the broker does not say: enable RabbitMQ\'s management plugin)'}\n`);
    if (paused.length) process.stdout.write(`paused for the fleet: ${paused.join(', ')}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

async function dlq(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    limit: { type: 'string' }, json: { type: 'boolean' }, args: { type: 'string', short: 'a' },
    kwargs: { type: 'string', short: 'k' }, force: { type: 'boolean', short: 'f' }, match: { type: 'string', short: 'm' },
  });
  if (values.help) return help();
  const [action, which] = positionals;
  if (!action || !['list', 'show', 'replay', 'discard', 'purge', 'retry'].includes(action)) {
    throw new UsageError(`dlq what? one of: list, show N, replay N, discard N, purge -f, retry --match QUERY`);
  }
  if (values.match !== undefined) return dlqMatching(action, values);
  if (action === 'retry') throw new UsageError('dlq retry needs --match QUERY (one record: dlq replay N)');
  const limit = number(values.limit, '--limit', { min: 1, integer: true }) ?? 50;
  const position = ['show', 'replay', 'discard'].includes(action) ? number(which ?? '', 'the record number', { min: 1, integer: true }) : undefined;
  const args = values.args === undefined ? undefined : json(values.args, '--args', 'array') as unknown[];
  const kwargs = values.kwargs === undefined ? undefined : json(values.kwargs, '--kwargs', 'object') as Record<string, unknown>;
  if (action === 'purge' && !values.force) throw new UsageError('dlq purge deletes every dead-letter record: add -f to confirm');
  const app = await resolveApp(values);
  try {
    const inspector = new Inspector(app);
    if (action === 'purge') {
      process.stdout.write(`Purged ${await inspector.purgeDeadLetters()} dead-letter record(s).\n`);
      return 0;
    }
    if (action === 'list') {
      const letters = await inspector.deadLetters(0, limit);
      if (values.json) {
        process.stdout.write(JSON.stringify(letters.map((l) => l.record)) + '\n');
        return 0;
      }
      letters.forEach((l, i) => {
        const when = new Date(l.record.time * 1000).toISOString().replace('T', ' ').slice(0, 19);
        const what = l.task ? `${l.task.name}[${l.task.id}]` : '(unreadable message)';
        process.stdout.write(`${String(i + 1).padStart(4)}  ${when}  ${l.record.queue.padEnd(10)}  ${what}  ${l.record.reason}\n`);
      });
      process.stdout.write(`${await inspector.deadLetterCount()} record(s) in the dead-letter queue\n`);
      return 0;
    }
    const [letter] = await inspector.deadLetters(position! - 1, 1);
    if (!letter) throw new UsageError(`there is no dead-letter record number ${position}`);
    if (action === 'show') {
      const { raw, ...record } = letter.record;
      const task = letter.task ? { task: letter.task.name, id: letter.task.id, args: letter.task.args, kwargs: letter.task.kwargs } : { error: letter.error };
      process.stdout.write(JSON.stringify({ ...record, ...task, raw }, null, 2) + '\n');
      return 0;
    }
    if (action === 'discard') {
      await inspector.discard(letter);
      process.stdout.write('Discarded.\n');
      return 0;
    }
    const id = await inspector.replay(letter, { args, kwargs });
    process.stdout.write(`Replayed ${letter.task?.name}[${id}] to ${letter.record.queue}.\n`);
    return 0;
  } finally {
    await app.close();
  }
}

async function schedules(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) return help();
  const [action, name] = positionals;
  if (!action || !['list', 'pause', 'resume', 'run'].includes(action)) throw new UsageError('schedules what? one of: list, pause NAME, resume NAME, run NAME');
  if (action !== 'list' && !name) throw new UsageError(`schedules ${action} needs a schedule name (radish schedules list shows them)`);
  const app = await resolveApp(values);
  try {
    if (action === 'pause') {
      const changed = await pauseSchedule(app, name!);
      process.stdout.write(changed ? `Paused ${name}: every radish beat skips its ticks until it is resumed.\n` : `${name} was paused already.\n`);
      return 0;
    }
    if (action === 'resume') {
      const changed = await resumeSchedule(app, name!);
      process.stdout.write(changed ? `Resumed ${name}: its next tick is counted from now.\n` : `${name} was not paused.\n`);
      return 0;
    }
    if (action === 'run') {
      const sent = await runScheduleNow(app, name!);
      process.stdout.write(`${sent.id}\n`);
      return 0;
    }
    const listing = await listSchedules(app);
    if (values.json) {
      process.stdout.write(JSON.stringify(listing) + '\n');
      return 0;
    }
    const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
    for (const s of listing.schedules) {
      const state = s.pausedAt === undefined ? `next ${time(s.nextRun)}` : `paused since ${time(s.pausedAt)}`;
      process.stdout.write(`${s.name}  ${s.task}  ${describeTiming(s)}  ${state}  last ${time(s.lastRun)}  queue ${s.queue}\n`);
    }
    const beat = listing.activeBeat ? `active beat: ${listing.activeBeat}` : 'no radish beat is running';
    process.stdout.write(`${listing.schedules.length} schedule(s); ${beat}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

/** `dlq list|retry|discard --match QUERY`: the failures that match, listed or acted on in bulk. */
async function dlqMatching(action: string, values: { match?: string; limit?: string; json?: boolean; force?: boolean; app?: string; broker?: string; 'result-backend'?: string }): Promise<number> {
  if (action !== 'list' && action !== 'retry' && action !== 'discard') throw new UsageError(`--match goes with dlq list, retry or discard, not ${action}`);
  if (!values.match?.trim()) throw new UsageError('--match needs a query, e.g. --match exc:Timeout');
  if (action === 'discard' && !values.force) throw new UsageError('dlq discard --match deletes every matching failure: add -f to confirm');
  const limit = number(values.limit, '--limit', { min: 1, integer: true });
  const app = await resolveApp(values);
  try {
    return await runMatchCommand(new Inspector(app), { action, match: values.match, limit, json: values.json, write: (t) => process.stdout.write(t) });
  } finally {
    await app.close();
  }
}

function help(): number {
  process.stdout.write(USAGE);
  return 0;
}

/** `radish exporter`: the fleet's metrics (runner/monitor/exporter.ts) until SIGTERM or SIGINT. */
async function exporter(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    queues: { type: 'string', short: 'Q' },
    'no-events': { type: 'boolean' },
    loglevel: { type: 'string', short: 'l' },
  });
  if (values.help) return help();
  const port = number(values.port, '--port', { min: 0, max: 65535, integer: true });
  if (port === undefined) throw new UsageError('exporter needs a port: radish exporter --port 9808');
  const logger = createLogger(logLevel(values.loglevel));
  const app = await resolveApp(values);
  let running: Exporter | undefined;
  try {
    running = await Exporter.start({
      broker: app.brokerOptions, port, ...(values.host ? { host: values.host } : {}), ...(list(values.queues) ? { queues: list(values.queues)! } : {}),
      defaultQueue: app.defaultQueue, events: !values['no-events'],
      onError: (err) => logger.log('warning', `An event could not be read: ${err.message}`),
    });
    logger.log('info', `Exporter: metrics at http://${values.host ?? '0.0.0.0'}:${running.port}/metrics for ${redactUrl(app.brokerOptions.url ?? '')}`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    logger.log('info', 'Exporter: stopping');
  } finally {
    await running?.close();
    await app.close();
  }
  return 0;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { worker, beat, call, result, purge, inspect, control, dlq, schedules, exporter };

/** Run the CLI; resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '-h' || command === '--help' || command === 'help') return help();
    if (command === '--version' || command === '-V') {
      process.stdout.write(`radish ${VERSION}\n`);
      return 0;
    }
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`unknown command ${JSON.stringify(command)} (radish --help lists them)`);
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`radish: error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof RedisUnavailableError || err instanceof AmqpUnavailableError) {
      process.stderr.write(`radish: ${err.message}\n`);
      return 1;
    }
    // Anything else, a task module that failed to load included, is its own message on one line (a missing import
    // names the importing file:line, which the extension links to); RADISH_DEBUG=1 adds the stack.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`radish: ${message}\n`);
    if (process.env.RADISH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
