/**
 * The process pool (`radish worker -P process -c N`), like Celery's prefork: N child processes, each loading the
 * task module once and running one task at a time. A CPU-bound task blocks only its own child, and a child can be
 * killed: the hard time limit and terminate really stop the code, which the async pool cannot do. A child that
 * dies under a task (crash, process.exit, OOM kill) fails only that task, with billiard's WorkerLostError, and is
 * replaced. The children are this very bundle started in child mode (see pool-child.ts). `resize()` grows the pool
 * by forking children and shrinks it by retiring idle ones (a busy one once its task ends).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { TimeLimitExceeded, WorkerLostError, errorMessage } from '../errors';
import type { Logger } from '../log';
import { Retry } from '../task';
import type { Outcome } from './execute';
import { splitAppSpec } from './loader';
import { armTimeLimits, checkConcurrency, type Pool, type PoolJob } from './pool';
import { POOL_CHILD_ENV, toWireRequest, type ChildMessage, type ParentMessage, type WireOutcome, type WireThrown } from './pool-child';

export interface ProcessPoolOptions {
  /** The task module, as given to `-A`: `path[:exportName]`, the path relative to the current directory. */
  module: string;
  /** Child processes, each running one task at a time. Default: the number of CPUs (`os.availableParallelism()`), as Celery's. */
  concurrency?: number;
  /** Broker URL for the children's app (`app.useBroker()`), as `--broker` sets it for the worker's. Default: the app's own. */
  brokerUrl?: string;
  /** Result backend URL for the children's app, when the worker's app was given one (`--result-backend`). */
  backendUrl?: string | undefined;
  /** Where children starting, dying and time limits are logged. Default: nowhere. */
  logger?: Logger;
  /**
   * The script the children run: the Radish bundle, which serves the pool when started with RADISH_POOL_CHILD=1.
   * Default: dist/radish.js (this file when it runs bundled; the built bundle when it runs from source).
   */
  entry?: string;
  /**
   * Node flags for the children. Default: the parent's (`--max-old-space-size` and the like), without those that
   * belong to the parent's own start: preloads (`-r`, `--import`), eval, watch, test and debugger flags.
   */
  execArgv?: string[];
  /** Replace a child after it has run this many tasks (Celery's `--max-tasks-per-child`), e.g. to bound leaks. Default: never. */
  maxTasksPerChild?: number;
  /** Seconds a child may take to load the task module before it counts as failed. Default 30. */
  startTimeout?: number;
  /**
   * Debug mode: each child listens with its inspector on a free local port, logs its address (`... waits for a
   * debugger at ws://...`) and takes no task before a debugger attaches; no start timeout then. Default false.
   */
  debug?: boolean;
  /** Seconds a child asked to stop (close, terminate) may take to exit before it is SIGKILLed. Default 10. */
  exitTimeout?: number;
}

/** Billiard's words for how a process ended: `exitcode 3`, `signal 9 (SIGKILL)`. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${constants.signals[signal] ?? '?'} (${signal})`;
  return `exitcode ${code ?? 'unknown'}`;
}

/** Flags followed by a value, then flags alone, that must not reach a child (see `execArgv`). */
const PARENT_ONLY_WITH_VALUE = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-e', '--eval', '-p', '--print', '--watch-path']);
const PARENT_ONLY = /^(-i|--interactive|-c|--check|--test|--watch|--inspect|--debug)|^(--require|--import|--loader|--experimental-loader|--eval|--print|--watch-path)=/;

/**
 * The parent's Node flags a child should run with too. A preload, say, would run (and, for the test loader,
 * register `radish` as another copy) before the bundle; a `-r` of the bundle itself would even keep its child
 * entry from running. An inspector port would be fought over.
 */
function childExecArgv(parent: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const flag = parent[i]!;
    if (PARENT_ONLY_WITH_VALUE.has(flag)) i++;
    else if (!PARENT_ONLY.test(flag)) kept.push(flag);
  }
  return kept;
}

function defaultEntry(): string {
  // Bundled, this code is dist/radish.js (or a sibling bundle in dist/); from source (mocha), it is runner/worker/.
  return __filename.endsWith('.ts') ? resolve(__dirname, '../../dist/radish.js') : join(__dirname, 'radish.js');
}

/** A thrown value rebuilt from the child: an Error whose name, message, stack and excModule are the original's. */
function rebuildThrown(wire: WireThrown): unknown {
  if ('text' in wire) return wire.text;
  const err = new Error(wire.message);
  err.name = wire.type;
  err.stack = wire.stack ?? `${wire.type}: ${wire.message}`;
  if (wire.module !== null) Object.defineProperty(err, 'excModule', { value: wire.module, enumerable: true });
  if (wire.args) Object.defineProperty(err, 'args', { value: wire.args, enumerable: true });
  return err;
}

function rebuildOutcome(wire: WireOutcome): Outcome {
  switch (wire.kind) {
    case 'success':
      return wire;
    case 'retry': {
      const retry = new Retry(new Date(wire.when), wire.exc === null ? undefined : rebuildThrown(wire.exc), wire.message);
      if (wire.stack !== null) retry.stack = wire.stack;
      return { kind: 'retry', retry, runtime: wire.runtime };
    }
    case 'failure':
      return { kind: 'failure', error: rebuildThrown(wire.error), runtime: wire.runtime };
  }
}

interface Waiting {
  job: PoolJob;
  resolve(outcome: Outcome): void;
}

interface Running extends Waiting {
  started: number;
  disarm(): void;
}

interface Child {
  readonly proc: ChildProcess;
  /** Celery's name for it, e.g. ForkPoolWorker-3 (numbered in start order, replacements included). */
  readonly name: string;
  /** `retiring`: asked to exit (or killed); it gets no more tasks and no longer counts as one of the pool's slots. */
  state: 'starting' | 'idle' | 'busy' | 'retiring' | 'exited';
  running: Running | undefined;
  tasks: number;
  /** It answered `ready` once (a child that never does counts as a failed start). */
  loaded: boolean;
  /** Settles once the child is ready, or rejects with why it never will be. */
  readonly ready: Promise<void>;
  /** Resolves once the process is gone and its last messages are read. */
  readonly closed: Promise<void>;
  killTimer: NodeJS.Timeout | undefined;
}

export class ProcessPool implements Pool {
  readonly kind = 'process';
  /** Children the pool keeps (serving ones: starting, idle or busy); `resize()` changes it. */
  private size: number;
  private readonly modulePath: string;
  private readonly attr: string | null;
  private readonly entry: string;
  private readonly children = new Set<Child>();
  private readonly waiting: Waiting[] = [];
  private state: 'new' | 'starting' | 'running' | 'closing' = 'new';
  private started: Promise<void> | undefined;
  private closed: Promise<void> | undefined;
  private killedCold = false;
  private spawned = 0;
  /** Replacements that failed to load in a row: each waits longer, so a broken module does not spin the CPU. */
  private failedStarts = 0;
  private topUpTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ProcessPoolOptions) {
    this.size = checkConcurrency(options.concurrency ?? availableParallelism());
    const max = options.maxTasksPerChild;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new RangeError(`maxTasksPerChild must be an integer from 1, got ${max}`);
    const [path, attr] = splitAppSpec(options.module);
    this.modulePath = isAbsolute(path) ? path : resolve(path);
    this.attr = attr ?? null;
    this.entry = options.entry ?? defaultEntry();
  }

  /** Tasks it runs at once: the children it keeps. */
  get concurrency(): number {
    return this.size;
  }

  /** Fork the children and wait until each has loaded the module. Rejects with the module's error if one cannot. */
  start(): Promise<void> {
    this.started ??= this.startChildren();
    return this.started;
  }

  private async startChildren(): Promise<void> {
    if (this.state !== 'new') throw new Error('the process pool is closed');
    if (!existsSync(this.entry)) throw new Error(`process pool: cannot find the Radish bundle the children run (${this.entry}); build it with npm run build`);
    this.state = 'starting';
    const children = Array.from({ length: this.concurrency }, () => this.spawn());
    try {
      await Promise.all(children.map((c) => c.ready));
    } catch (err) {
      if (this.closing) throw new Error('the process pool was closed while it started');
      // One child cannot load the module, so none can: stop them all rather than leave half a pool.
      this.state = 'closing';
      for (const c of this.children) this.retire(c, 'SIGKILL');
      await Promise.all(children.map((c) => c.closed));
      throw err;
    }
    if (this.closing) return; // closed as the last child became ready
    this.state = 'running';
    // A child that died between its `ready` and the last one's is replaced now; a resize() meanwhile is applied now.
    this.trimSurplus();
    this.topUp();
    this.dispatch();
  }

  /** A getter, so TypeScript does not narrow the state across the awaits that change it. */
  private get closing(): boolean {
    return this.state === 'closing';
  }

  run(job: PoolJob): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      // Closing: the job never starts, and the worker gives its message back, as after a cold shutdown.
      if (this.state === 'closing') return resolve({ kind: 'interrupted', runtime: 0 });
      this.waiting.push({ job, resolve });
      this.dispatch();
    });
  }

  terminate(taskId: string, signal: NodeJS.Signals = 'SIGTERM'): boolean {
    for (const child of this.children) {
      const running = child.running;
      if (running?.job.request.id !== taskId) continue;
      this.options.logger?.log('info', `Terminating ${running.job.request.task}[${taskId}] (${signal}) in ${child.name} pid:${child.proc.pid}`);
      this.retire(child, signal);
      this.finish(child, { kind: 'revoked', signal, runtime: (performance.now() - running.started) / 1000 });
      return true;
    }
    // Handed to the pool but waiting for a child: it never starts.
    const at = this.waiting.findIndex((w) => w.job.request.id === taskId);
    if (at < 0) return false;
    this.waiting.splice(at, 1)[0]!.resolve({ kind: 'revoked', signal, runtime: 0 });
    return true;
  }

  close(mode: 'warm' | 'cold'): Promise<void> {
    // A cold close after a warm one (a second Ctrl+C) still kills what the warm one is waiting for.
    if (mode === 'cold' && !this.killedCold) {
      this.killedCold = true;
      this.state = 'closing';
      this.interruptWaiting();
      for (const child of this.children) {
        const running = child.running;
        this.retire(child, 'SIGKILL');
        if (running) this.finish(child, { kind: 'interrupted', runtime: (performance.now() - running.started) / 1000 });
      }
    }
    this.closed ??= this.closeWarm();
    return this.closed;
  }

  private async closeWarm(): Promise<void> {
    this.state = 'closing';
    clearTimeout(this.topUpTimer);
    this.interruptWaiting();
    // Busy children are retired when their task ends (finish()).
    for (const child of this.children) {
      if (child.state === 'idle') this.retire(child, null);
      // Still loading: it has run nothing and may not listen to its channel yet.
      else if (child.state === 'starting') this.retire(child, 'SIGKILL');
    }
    await Promise.all([...this.children].map((c) => c.closed));
    // Let a start() that was waiting on those children settle (it rejects) before close() resolves.
    await this.started?.catch(() => undefined);
  }

  /** Pids of the serving children (a retiring one is on its way out and runs nothing more). */
  pids(): number[] {
    return this.serving().flatMap((c) => (c.proc.pid === undefined ? [] : [c.proc.pid]));
  }

  pidOf(taskId: string): number | null {
    for (const child of this.children) if (child.running?.job.request.id === taskId) return child.proc.pid ?? null;
    return null;
  }

  /**
   * Keep `concurrency` children from now on. Growing forks the new children at once; they take tasks once loaded.
   * Shrinking retires idle children first; a busy child is retired when its task ends, never killed under it.
   */
  resize(concurrency: number): void {
    this.size = checkConcurrency(concurrency);
    // Before start or while starting, startChildren() applies the size once the first children are up.
    if (this.state !== 'running') return;
    this.trimSurplus();
    this.topUp();
  }

  /** Children that count as the pool's slots: loading, idle or running a task. */
  private serving(): Child[] {
    return [...this.children].filter((c) => c.state === 'starting' || c.state === 'idle' || c.state === 'busy');
  }

  /** Retire idle children while the pool has more than it should keep (busy ones come here when their task ends). */
  private trimSurplus(): void {
    if (this.state !== 'running') return;
    let surplus = this.serving().length - this.size;
    for (const child of this.children) {
      if (surplus <= 0) return;
      if (child.state !== 'idle') continue;
      this.options.logger?.log('debug', `${child.name} pid:${child.proc.pid} retired: the pool shrinks to ${this.size}`);
      this.retire(child, null);
      surplus--;
    }
  }

  private interruptWaiting(): void {
    for (const w of this.waiting.splice(0)) w.resolve({ kind: 'interrupted', runtime: 0 });
  }

  /** Hand waiting jobs to idle children, in order. */
  private dispatch(): void {
    if (this.state !== 'running') return;
    while (this.waiting.length > 0) {
      const child = [...this.children].find((c) => c.state === 'idle' && c.proc.connected);
      if (!child) return;
      this.assign(child, this.waiting.shift()!);
    }
  }

  private assign(child: Child, waiting: Waiting): void {
    const { job } = waiting;
    const { logger } = this.options;
    const label = `${job.request.task}[${job.request.id}]`;
    const disarm = armTimeLimits(job,
      () => {
        logger?.log('warning', `Soft time limit (${job.softTimeLimit}s) exceeded for ${label}`);
        this.send(child, { type: 'soft', id: job.request.id, limit: job.softTimeLimit! });
      },
      () => {
        if (child.running !== running) return;
        logger?.log('error', `Hard time limit (${job.timeLimit}s) exceeded for ${label}`);
        this.retire(child, 'SIGKILL');
        this.finish(child, { kind: 'failure', error: new TimeLimitExceeded(job.timeLimit!), runtime: (performance.now() - running.started) / 1000 });
      });
    const running: Running = { ...waiting, started: performance.now(), disarm };
    child.state = 'busy';
    child.running = running;
    this.send(child, { type: 'run', request: toWireRequest(job.request), ...(job.trace ? { trace: job.trace } : {}) });
  }

  /** End the child's current job with `outcome` (once); the child takes the next one unless it is retiring. */
  private finish(child: Child, outcome: Outcome): void {
    const running = child.running;
    if (!running) return;
    child.running = undefined;
    running.disarm();
    running.resolve(outcome);
    if (child.state === 'busy') {
      child.tasks++;
      const max = this.options.maxTasksPerChild;
      if (this.state === 'closing' || (max !== undefined && child.tasks >= max)) this.retire(child, null);
      else child.state = 'idle';
    }
    this.trimSurplus();
    this.dispatch();
  }

  /**
   * Stop giving the child tasks and make it exit: with `signal`, or (null) by closing its channel, which it
   * answers by exiting. Either way it is SIGKILLed if still there after `exitTimeout`.
   */
  private retire(child: Child, signal: NodeJS.Signals | null): void {
    if (child.state === 'exited') return;
    child.state = 'retiring';
    if (signal) {
      try {
        child.proc.kill(signal);
      } catch (err) {
        // A signal this platform does not know (from a remote revoke): the task must stop all the same.
        this.options.logger?.log('warning', `${child.name}: cannot send ${signal} (${errorMessage(err)}): killing it (SIGKILL)`);
        child.proc.kill('SIGKILL');
      }
    } else if (child.proc.connected) {
      child.proc.disconnect();
    }
    if (signal !== 'SIGKILL' && !child.killTimer) {
      const seconds = this.options.exitTimeout ?? 10;
      child.killTimer = setTimeout(() => {
        this.options.logger?.log('warning', `${child.name} pid:${child.proc.pid} did not exit within ${seconds}s of being asked to: killing it (SIGKILL)`);
        child.proc.kill('SIGKILL');
      }, seconds * 1000);
    }
  }

  private send(child: Child, msg: ParentMessage): void {
    // A child that died in between is reported by gone(); the failed send says nothing more.
    if (child.proc.connected) child.proc.send(msg, (err) => { if (err) this.options.logger?.log('debug', `${child.name}: message not delivered: ${err.message}`); });
  }

  private spawn(): Child {
    const name = `ForkPoolWorker-${++this.spawned}`;
    const debug = Boolean(this.options.debug);
    const proc = fork(this.entry, [], {
      env: { ...process.env, [POOL_CHILD_ENV]: '1' },
      execArgv: [...(this.options.execArgv ?? childExecArgv(process.execArgv)), ...(debug ? ['--inspect=127.0.0.1:0'] : [])],
      serialization: 'json',
    });
    let settleReady!: (err?: Error) => void;
    let markClosed!: () => void;
    const ready = new Promise<void>((res, rej) => { settleReady = (err) => (err ? rej(err) : res()); });
    const closed = new Promise<void>((res) => { markClosed = res; });
    // Handled by whoever awaits it (start() or topUp()); never an unhandled rejection on its own.
    ready.catch(() => undefined);
    const child: Child = { proc, name, state: 'starting', running: undefined, tasks: 0, loaded: false, ready, closed, killTimer: undefined };
    this.children.add(child);
    const spec = this.options.module;

    // A child in debug mode waits for the user's debugger, for as long as that takes.
    const loadTimer = debug ? undefined : setTimeout(() => {
      settleReady(new Error(`process pool: ${name} did not load the task module ${spec} within ${this.options.startTimeout ?? 30} s`));
      this.retire(child, 'SIGKILL');
    }, (this.options.startTimeout ?? 30) * 1000);

    proc.on('message', (raw: unknown) => {
      const msg = raw as ChildMessage;
      if (msg.type === 'ready') {
        clearTimeout(loadTimer);
        if (child.state !== 'starting') return;
        child.state = 'idle';
        child.loaded = true;
        this.failedStarts = 0;
        this.options.logger?.log('debug', `${name} pid:${proc.pid} ready`);
        settleReady();
        this.trimSurplus();
        this.dispatch();
      } else if (msg.type === 'debuggee') {
        this.options.logger?.log('warning', `${name} pid:${proc.pid} waits for a debugger at ${msg.url}`);
      } else if (msg.type === 'init-error') {
        clearTimeout(loadTimer);
        const why = 'text' in msg.error ? msg.error.text : msg.error.message;
        const err = new Error(`process pool: cannot load the task module ${spec}: ${why}`);
        if (!('text' in msg.error) && msg.error.stack) err.stack = `${err.name}: ${err.message}\n--- in ${name} ---\n${msg.error.stack}`;
        settleReady(err);
        this.retire(child, 'SIGKILL');
      } else if (msg.type === 'done') {
        if (child.running?.job.request.id === msg.id) this.finish(child, rebuildOutcome(msg.outcome));
      }
    });
    proc.on('error', (err) => {
      this.options.logger?.log('error', `${name}: ${err.message}`);
      // Never started (no pid): there will be no 'exit' to clean up after it.
      if (proc.pid === undefined) gone(null, null);
    });
    const gone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (child.state === 'exited') return;
      clearTimeout(loadTimer);
      clearTimeout(child.killTimer);
      const status = exitStatus(code, signal);
      const expected = child.state === 'retiring' || this.state === 'closing';
      if (!expected) this.options.logger?.log('error', `Process '${name}' pid:${proc.pid} exited with '${status}'`);
      settleReady(new Error(`process pool: ${name} exited with ${status} while loading the task module ${spec}`));
      child.state = 'exited';
      this.children.delete(child);
      if (!child.loaded) this.failedStarts++;
      this.finish(child, { kind: 'failure', error: new WorkerLostError(`Worker exited prematurely: ${status}.`), runtime: child.running ? (performance.now() - child.running.started) / 1000 : 0 });
      markClosed();
      this.topUp();
    };
    // Gone once it has exited AND its channel has delivered its last messages, so a result sent just before a
    // crash is not mistaken for a lost worker. (Not the 'close' event: it never comes once we disconnect.)
    let exited: [number | null, NodeJS.Signals | null] | undefined;
    const maybeGone = () => { if (exited && !proc.connected) gone(...exited); };
    proc.on('exit', (code, signal) => {
      exited = [code, signal];
      maybeGone();
      // A grandchild holding the channel open must not keep the task waiting for ever.
      if (proc.connected) setTimeout(() => gone(code, signal), 2000);
    });
    proc.on('disconnect', maybeGone);
    this.send(child, { type: 'init', module: this.modulePath, attr: this.attr, brokerUrl: this.options.brokerUrl ?? null, backendUrl: this.options.backendUrl ?? null });
    return child;
  }

  /** Replace children that are gone, while the pool runs (later and later if replacements keep failing). */
  private topUp(): void {
    if (this.state !== 'running' || this.topUpTimer) return;
    const delay = this.failedStarts === 0 ? 0 : Math.min(30_000, 1000 * 2 ** (this.failedStarts - 1));
    this.topUpTimer = setTimeout(() => {
      this.topUpTimer = undefined;
      if (this.state !== 'running') return;
      for (let n = this.serving().length; n < this.size; n++) {
        const child = this.spawn();
        child.ready.catch((err: Error) => this.options.logger?.log('error', `${err.message} (will retry)`));
      }
    }, delay);
  }
}
