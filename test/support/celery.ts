/**
 * Real Celery for the interop tests: start Celery workers and call Celery's client, through
 * test/interop/celery_peer.py run with Debian's Python (`/usr/bin/python3`, or `CELERY_PYTHON`).
 *
 * A suite that needs Celery skips itself when it is missing:
 *
 *     before(function () {
 *       requireCelery(this);
 *     });
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { errorMessage } from '../../runner/errors';

/** The Python with Debian's celery; a pyenv `python3` earlier on PATH does not see it. */
const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
const PEER = resolve(__dirname, '../interop/celery_peer.py');
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
/** Seconds a `send`/`get` child may run beyond its own wait before it is killed. */
const PEER_SLACK_S = 60;

/** `version`: the Celery that {@link PYTHON} imports, e.g. `'5.2.6'`. */
export type CeleryAvailability = { ok: true; version: string } | { ok: false; reason: string };

let availability: CeleryAvailability | undefined;

/** Whether Celery (and redis-py) can be imported by {@link PYTHON}. Synchronous and cached. */
export function celeryAvailable(): CeleryAvailability {
  if (!availability) {
    const r = spawnSync(PYTHON, ['-c', 'import celery, redis; print(celery.__version__)'], { encoding: 'utf8', timeout: 30_000 });
    if (r.error) {
      availability = { ok: false, reason: `cannot run ${PYTHON}: ${r.error.message} (run setup.sh)` };
    } else if (r.status !== 0) {
      const last = r.stderr.trim().split('\n').pop() ?? '';
      availability = {
        ok: false,
        reason: `${PYTHON} cannot import celery and redis (${last}); run setup.sh or set CELERY_PYTHON`,
      };
    } else {
      availability = { ok: true, version: r.stdout.trim() };
    }
  }
  return availability;
}

/**
 * The Celery version the interop tests run against (`'5.2.6'` from Debian; another with `CELERY_PYTHON`), or
 * undefined when there is none. Tests whose expectations differ by version (bytes of a message, a reply's wording)
 * pick them with it.
 */
export function celeryVersion(): string | undefined {
  const available = celeryAvailable();
  return available.ok ? available.version : undefined;
}

// ---------------------------------------------------------------------------------------------
// Workers

/** In a mocha hook or test: skip, saying why in the output, unless real Celery is available. */
export function requireCelery(ctx: Mocha.Context): void {
  const available = celeryAvailable();
  if (!available.ok) {
    console.log(`      skipped: ${available.reason}`);
    ctx.skip();
  }
}

/**
 * How a Celery app connects beside its broker URL (every function here takes one broker URL first): redis:// as
 * both broker and result backend by default; with an amqp:// broker, name a redis:// `backend`.
 */
export interface CeleryConnectionOptions {
  /** The result backend URL (`result_backend`). Default: the broker URL. */
  backend?: string;
  /** Celery's `task_queue_max_priority`: task queues are declared with `x-max-priority` (AMQP). Default none. */
  queueMaxPriority?: number;
}

/** `--backend URL` for a celery_peer.py subcommand, when one was named. */
function backendArgs(options: CeleryConnectionOptions): string[] {
  return options.backend ? ['--backend', options.backend] : [];
}

export interface CeleryWorkerOptions extends CeleryConnectionOptions {
  /** Queues to consume, e.g. `['celery', 'high']`. */
  queues: string[];
  /** Pool size. Default 1. */
  concurrency?: number;
  /** `solo` | `prefork` | `threads`. Default `solo`. */
  pool?: string;
  /** Nodename such as `w1@%h`. Default `peer<pid>@%h`, unique per worker. */
  hostname?: string;
  /** Store name, args, kwargs, worker... in the result (`result_extended`). Default false. */
  resultExtended?: boolean;
  /** Store a STARTED state before the result (`task_track_started`). Default false. */
  trackStarted?: boolean;
  /** Celery log level. Default `info` (the task received/succeeded lines are INFO). */
  loglevel?: string;
  /** More `celery worker` arguments, e.g. `['-E']`, `['--without-mingle', '--without-gossip']`. */
  extraArgs?: string[];
}

export interface CeleryWorker {
  /** The nodename Celery reported, e.g. `peer1234@host`. */
  readonly hostname: string;
  readonly pid: number;
  /** Everything the worker printed so far (stdout and stderr). */
  log(): string;
  /** Resolves with the log once `pattern` appears in it (rejects after `timeoutMs`, default 10 s). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Warm shutdown (SIGTERM), then SIGKILL to its process group after 10 s. Idempotent. */
  stop(): Promise<void>;
}

const READY_LINE = /celery_peer: ready (\S+)/;

class PeerWorker implements CeleryWorker {
  hostname = '';
  private chunks: string[] = [];
  private listeners = new Set<() => void>();
  private readonly exited: Promise<void>;
  private exitCode: number | null | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly child: ChildProcess) {
    const collect = (data: string): void => {
      this.chunks.push(data);
      for (const l of [...this.listeners]) l();
    };
    child.stdout?.setEncoding('utf8').on('data', collect);
    child.stderr?.setEncoding('utf8').on('data', collect);
    this.exited = new Promise((done) => child.once('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? -1 : null);
      done();
      for (const l of [...this.listeners]) l();
    }));
  }

  get pid(): number { return this.child.pid ?? -1; }
  get running(): boolean { return this.exitCode === undefined; }
  log(): string { return this.chunks.join(''); }

  waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((ok, fail) => {
      const check = (): void => {
        const log = this.log();
        if (pattern.test(log)) finish(() => ok(log));
        else if (!this.running) finish(() => fail(new Error(`celery worker exited (${this.exitCode}) before ${pattern} appeared; log:\n${log}`)));
      };
      const timer = setTimeout(() => finish(() => fail(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in the celery worker log:\n${this.log()}`))), timeoutMs);
      const finish = (settle: () => void): void => { clearTimeout(timer); this.listeners.delete(check); settle(); };
      this.listeners.add(check);
      check();
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.running) return;
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), STOP_GRACE_MS); });
      if (await Promise.race([this.exited, late]) === 'late') {
        killGroup(this.pid);
        await this.exited;
      }
      clearTimeout(timer);
    })();
    return this.stopping;
  }

  /** Last resort on process exit: no warm shutdown, no waiting. */
  killNow(): void { if (this.running) killGroup(this.pid); }
}

/** The worker runs in its own process group so that prefork children die with it. */
function killGroup(pid: number): void {
  try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
}

const workers = new Set<PeerWorker>();
let exitHookInstalled = false;

/**
 * Start a real Celery worker on `brokerUrl` (also the result backend unless `options.backend` names one); resolves
 * once it consumes.
 */
export async function startCeleryWorker(brokerUrl: string, options: CeleryWorkerOptions): Promise<CeleryWorker> {
  const args = [
    PEER, 'worker', '--broker', brokerUrl, ...backendArgs(options), '-Q', options.queues.join(','),
    '-c', String(options.concurrency ?? 1), '--pool', options.pool ?? 'solo',
    '--loglevel', options.loglevel ?? 'info',
  ];
  if (options.hostname) args.push('-n', options.hostname);
  if (options.resultExtended) args.push('--result-extended');
  if (options.trackStarted) args.push('--track-started');
  if (options.extraArgs?.length) args.push('--', ...options.extraArgs);

  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: peerEnv(options) });
  const worker = new PeerWorker(child);
  workers.add(worker);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => { for (const w of workers) w.killNow(); });
  }
  await new Promise<void>((ok, fail) => {
    child.once('spawn', ok);
    child.once('error', (err) => fail(new Error(`cannot start ${PYTHON}: ${err.message} (run setup.sh)`)));
  });
  try {
    const log = await worker.waitForLog(READY_LINE, READY_TIMEOUT_MS);
    worker.hostname = READY_LINE.exec(log)?.[1] ?? '';
  } catch (err) {
    worker.killNow();
    await worker.stop();
    workers.delete(worker);
    throw err;
  }
  return worker;
}

/** Stop every worker started here (for an `after`/root hook). */
export async function stopAllCeleryWorkers(): Promise<void> {
  const all = [...workers];
  workers.clear();
  await Promise.all(all.map((w) => w.stop()));
}

// ---------------------------------------------------------------------------------------------
// Client: app.send_task and AsyncResult.get

/** One `app.send_task` call. */
export interface CeleryRequest {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  /** 0..9; on Redis a lower number is served first. */
  priority?: number;
  countdown?: number;
  /** `eta` = now + this many seconds (Python's clock, at send time). */
  eta_in?: number;
  /** `expires` = now + this many seconds; negative for a time in the past. */
  expires_in?: number;
  task_id?: string;
  /** Any other `send_task` keyword, e.g. `{ expires: 1, ignore_result: true }`. */
  options?: Record<string, unknown>;
}

/** Sent without waiting. */
export interface CelerySent { id: string; state?: undefined }
export interface CelerySuccess { id: string; state: 'SUCCESS'; result: unknown }
/** The exception a Python caller would get, as Celery rebuilt it from the result backend. */
export interface CeleryFailure {
  id: string;
  state: 'FAILURE' | 'REVOKED';
  /** e.g. `ValueError`. */
  exc_type: string;
  /** e.g. `builtins`; `celery.exceptions` when Python could not import the stored module. */
  exc_module: string;
  /** `list(exc.args)`, or `str(exc)` when it has no args. */
  exc_message: unknown[] | string;
  traceback: string | null;
}
/** No result within the wait; `last_state` is what the backend said then (e.g. PENDING). */
export interface CeleryTimeout { id: string; state: 'TIMEOUT'; last_state?: string }
export type CeleryOutcome = CelerySent | CelerySuccess | CeleryFailure | CeleryTimeout;

/**
 * Send `requests` in order with Celery's client. Without `wait` the outcomes only carry ids;
 * with `wait` (seconds, one deadline for all) they carry results, failures or timeouts.
 */
export function celerySend(brokerUrl: string, requests: CeleryRequest[], options: { wait?: number } & CeleryConnectionOptions = {}): Promise<CeleryOutcome[]> {
  const args = ['send', '--broker', brokerUrl, ...backendArgs(options)];
  if (options.wait !== undefined) args.push('--wait', String(options.wait));
  const input = requests.map((r) => JSON.stringify(r) + '\n').join('');
  return runPeer(args, input, requests.length, options.wait ?? 0, parseOutcome, options);
}

/** Wait up to `timeoutSec` (one deadline for all) for results of tasks someone else sent. */
export function celeryGet(brokerUrl: string, ids: string[], timeoutSec: number, options: CeleryConnectionOptions = {}): Promise<CeleryOutcome[]> {
  return runPeer(['get', '--broker', brokerUrl, ...backendArgs(options), '--timeout', String(timeoutSec), ...ids], '', ids.length, timeoutSec,
    parseOutcome, options);
}

// ---------------------------------------------------------------------------------------------
// Client: watching results the way a Python caller sees them

/** A request for {@link celeryWatch}: the same `send_task` call as for {@link celerySend}. */
export type CeleryWatchRequest = CeleryRequest;

/** `AsyncResult.info` as the peer reports it: an exception Celery rebuilt, or a plain value. */
export type CeleryInfo =
  | { exc_type: string; exc_module: string; exc_message: unknown[]; value?: undefined }
  | { value: unknown; exc_type?: undefined };

/** One distinct look at the result through `AsyncResult` (`.state`, `.info`, `.traceback`). */
export interface CeleryPolledState {
  state: string;
  info: CeleryInfo;
  traceback: string | null;
  /** Unix seconds (Python's clock) when it was first seen. */
  at: number;
}

/** One value the result backend PUBLISHed on `celery-task-meta-<id>`, exactly as it was sent. */
export interface CeleryPublished {
  at: number;
  meta: { status: string; result: unknown; traceback: string | null; children: unknown[]; date_done: string | null; task_id: string; [k: string]: unknown };
}

/** What a Python caller learnt about one task it sent (see `celery_peer.py watch`). */
export interface CeleryWatched {
  id: string;
  /** Unix seconds just before `send_task`. */
  sent_at: number;
  /** The ETA / expiry sent, as unix seconds, when the request had `eta_in` / `expires_in`. */
  eta: number | null;
  expires: number | null;
  /** Distinct (state, info, traceback) values `AsyncResult` showed, in order, polling every 20 ms. */
  polled: CeleryPolledState[];
  /** Every value published for the task, in order. */
  published: CeleryPublished[];
  /** `AsyncResult.state` at the end. */
  state: string;
  /** `AsyncResult.date_done` as unix seconds. */
  date_done: number | null;
  /** What `AsyncResult.get()` did. */
  get: { value: unknown } | { raised: CeleryInfo & { exc_type: string } } | { timeout: true };
}

/**
 * Send `requests` with Celery's client and watch each result until it is ready (or `wait` seconds, one deadline
 * for all, pass): the states a Python caller sees while polling, every published state, and what `get()` does.
 */
export function celeryWatch(brokerUrl: string, requests: CeleryWatchRequest[], options: { wait?: number } & CeleryConnectionOptions = {}): Promise<CeleryWatched[]> {
  const wait = options.wait ?? 30;
  const input = requests.map((r) => JSON.stringify(r) + '\n').join('');
  return runPeer(['watch', '--broker', brokerUrl, ...backendArgs(options), '--wait', String(wait)], input, requests.length, wait, parseWatched, options);
}

function parseWatched(line: string): CeleryWatched {
  const value = JSON.parse(line) as Partial<CeleryWatched>;
  if (typeof value?.id !== 'string' || !Array.isArray(value.polled) || !Array.isArray(value.published) || typeof value.get !== 'object') {
    throw new Error(`not a watch report: ${line}`);
  }
  return value as CeleryWatched;
}

function runPeer<T>(args: string[], input: string, expected: number, waitSec: number, parse: (line: string) => T,
  connection: CeleryConnectionOptions): Promise<T[]> {
  const what = `celery_peer ${args[0]}`;
  return new Promise((ok, fail) => {
    const child = spawn(PYTHON, [PEER, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: peerEnv(connection) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const guard = setTimeout(() => child.kill('SIGKILL'), (waitSec + PEER_SLACK_S) * 1000);
    child.once('error', (err) => { clearTimeout(guard); fail(new Error(`cannot start ${PYTHON}: ${err.message} (run setup.sh)`)); });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      if (code !== 0) {
        fail(new Error(`${what} exited with ${code ?? signal}; stderr:\n${stderr}`));
        return;
      }
      try {
        const outcomes = stdout.split('\n').filter((l) => l.trim()).map(parse);
        if (outcomes.length !== expected) throw new Error(`expected ${expected} lines, got ${outcomes.length}`);
        ok(outcomes);
      } catch (err) {
        fail(new Error(`${what}: bad output (${errorMessage(err)}); stdout:\n${stdout}\nstderr:\n${stderr}`));
      }
    });
    child.stdin.on('error', () => { /* the child died early: reported on close */ });
    child.stdin.end(input);
  });
}

function parseOutcome(line: string): CeleryOutcome {
  const value: unknown = JSON.parse(line);
  if (typeof value !== 'object' || value === null || typeof (value as { id?: unknown }).id !== 'string') {
    throw new Error(`not an outcome: ${line}`);
  }
  // The peer writes exactly these shapes (celery_peer.py, outcome()).
  return value as CeleryOutcome;
}

/** The environment of a Python child: celery_app's settings (celery_app/app.py) from `connection`, nothing inherited. */
function peerEnv(connection: CeleryConnectionOptions): NodeJS.ProcessEnv {
  // UTF-8 both ways whatever the locale; unbuffered so a worker's log arrives as it is written.
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONIOENCODING: 'utf-8', PYTHONUNBUFFERED: '1' };
  delete env.RADISH_TEST_BACKEND;
  delete env.CELERY_QUEUE_MAX_PRIORITY;
  if (connection.backend) env.RADISH_TEST_BACKEND = connection.backend;
  if (connection.queueMaxPriority !== undefined) env.CELERY_QUEUE_MAX_PRIORITY = String(connection.queueMaxPriority);
  return env;
}

/**
 * Python's own `celery -A celery_app <args>` CLI (test/interop/celery_app) on `brokerUrl` (and `options.backend`):
 * exit code and output.
 */
export function celeryCli(brokerUrl: string, args: string[], options: CeleryConnectionOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(PYTHON, ['-m', 'celery', '-A', 'celery_app', ...args], {
      cwd: resolve(__dirname, '../interop'), timeout: 60_000,
      env: { ...peerEnv(options), RADISH_TEST_BROKER: brokerUrl },
    }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Events: Celery's own receiver

/** One event as Celery's `EventReceiver` handed it over (a `task.multi` batch arrives event by event). */
export interface CeleryReceivedEvent {
  type: string;
  hostname: string;
  timestamp: number;
  uuid?: string;
  [key: string]: unknown;
}

export interface CeleryEventStream {
  /** Every event received so far, in order. */
  readonly events: readonly CeleryReceivedEvent[];
  /** Resolves with the first event (past or coming) that `match` accepts; rejects after `timeoutMs` (default 10 s). */
  waitFor(match: (e: CeleryReceivedEvent) => boolean, what: string, timeoutMs?: number): Promise<CeleryReceivedEvent>;
  /** Stop the receiver (closes its stdin, SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Celery's own event receiver (`app.events.Receiver` bound to every event, as `celery events` and Flower use it; see
 * `celery_peer.py events`), running until stopped; resolves once it consumes. Unless `wakeup` is false it broadcasts
 * the pidbox `heartbeat` on start, as `celery events` does.
 */
export async function celeryEvents(brokerUrl: string, options: CeleryConnectionOptions & { wakeup?: boolean; seconds?: number } = {}): Promise<CeleryEventStream> {
  const args = [PEER, 'events', '--broker', brokerUrl, ...backendArgs(options), '--seconds', String(options.seconds ?? 120)];
  if (options.wakeup === false) args.push('--no-wakeup');
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'], env: peerEnv(options) });
  const events: CeleryReceivedEvent[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  let ready = false;
  let exited = false;
  let buffered = '';
  const notify = (): void => { for (const l of [...listeners]) l(); };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const value = JSON.parse(line) as CeleryReceivedEvent | { ready: true };
      if ('ready' in value) ready = true;
      else events.push(value);
    }
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const closed = new Promise<void>((done) => child.once('close', () => { exited = true; notify(); done(); }));
  child.stdin.on('error', () => undefined);
  const wait = (check: () => boolean, what: () => string, timeoutMs: number): Promise<void> => new Promise((ok, fail) => {
    const timer = setTimeout(() => finish(() => fail(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`))), timeoutMs);
    const finish = (settle: () => void): void => { clearTimeout(timer); listeners.delete(test); settle(); };
    const test = (): void => {
      if (check()) finish(ok);
      else if (exited) finish(() => fail(new Error(`celery_peer events exited before ${what()}; stderr:\n${stderr}`)));
    };
    listeners.add(test);
    test();
  });
  let stopping: Promise<void> | undefined;
  const stream: CeleryEventStream = {
    events,
    async waitFor(match, what, timeoutMs = 10_000) {
      await wait(() => events.some(match), () => `${what}; received: ${events.map((e) => `${e.type}@${e.hostname}`).join(', ') || 'none'}`, timeoutMs);
      return events.find(match)!;
    },
    stop() {
      stopping ??= (async () => {
        if (exited) return;
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await closed;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  try {
    await wait(() => ready, () => `celery_peer events to consume; stderr:\n${stderr}`, READY_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return stream;
}
