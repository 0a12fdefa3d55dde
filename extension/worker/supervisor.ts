/**
 * The local worker this window starts: a Radish worker (the bundled runner CLI, run with VS Code's own Node or
 * `radish.nodePath`) or a Celery worker. Streams its output into the "Radish Worker" log channel with levels,
 * reports a crash with its exit code and last lines, and stops it (warm, then cold, then a kill) when asked or on
 * deactivate. How it is started and stopped on each OS (Windows has no signals) is ./launch.ts and ./stop.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as vscode from 'vscode';
import type { Connection } from '../connection';
import { configuredPython, planWorker, type WorkerPlan } from './detect';
import { describeInterpreter, interpreterLine, launchCommand, pythonCandidates, resolveInterpreter, type Interpreter } from './interpreter';
import { DEBUGPY_LISTENING, launchSpec, readyLine } from './launch';
import { runStopPlan, stopPlan } from './stop';
import { errorMessage } from '../../runner/errors';
import { reportStartError, startupCause, WorkerStartError } from './startError';

export type WorkerState = 'stopped' | 'starting' | 'running' | 'stopping' | 'crashed';

export interface SupervisorOptions {
  /** The OS whose ways of starting and stopping a process are used. Default `process.platform`. */
  platform?: NodeJS.Platform;
}

/** An argument as a reader can paste it back: quoted when it has a space. */
const shown = (arg: string) => (/[\s"]/.test(arg) ? JSON.stringify(arg) : arg);

/** The extensions that bring VS Code's Python debugger (the `debugpy` debug type). */
const PYTHON_DEBUGGERS = ['ms-python.debugpy', 'ms-python.python'];

/** A free local TCP port (for debugpy to listen on). */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = net.createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => ok(port));
    });
  });
}

const LINE = /^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): (DEBUG|INFO|WARNING|ERROR|CRITICAL)\/([^\]]+)\] (.*)$/;
const TAIL = 20;

export class WorkerSupervisor implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  state: WorkerState = 'stopped';
  plan: WorkerPlan | undefined;
  /** Node name the worker was started with. */
  hostname: string | undefined;
  /** Node name the worker gave in its ready line (`%h` expanded by the worker itself). */
  private reportedNode: string | undefined;
  /** The stop under way, which a second stop() joins. */
  private stopping: Promise<void> | undefined;
  private readonly platform: NodeJS.Platform;
  private tail: string[] = [];
  /** Queues consumed besides `radish.worker.queues`, as the last start was asked for. */
  private extraQueues: readonly string[] = [];
  private lastLevel: 'info' | 'warn' | 'error' | 'debug' = 'info';
  /** Whether the worker runs (or starts) under VS Code's debugger ("Start Worker (Debug)", "Debug Task"). */
  debugging = false;
  /** The debug session attached to the worker's task process. */
  private session: vscode.DebugSession | undefined;
  private readonly attached = new vscode.EventEmitter<vscode.DebugSession>();
  /** A debug session attached to the worker's task process (once per task process it starts). */
  readonly onDidAttachDebugger = this.attached.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionPath: string,
    private readonly connection: Connection,
    readonly log: vscode.LogOutputChannel,
    options: SupervisorOptions = {},
  ) {
    this.platform = options.platform ?? process.platform;
    // Stopping the debug session stops the debug worker; the worker stopping ends its session (see exit below).
    this.disposables.push(vscode.debug.onDidTerminateDebugSession((session) => {
      if (session !== this.session) return;
      this.session = undefined;
      if (this.debugging && this.child && this.state !== 'stopping') {
        this.log.info('The debug session ended: stopping the debug worker');
        void this.stop();
      }
    }));
  }

  /**
   * Why this workspace's worker cannot run under the debugger, if it cannot: checked before a running worker is
   * stopped for it, so that nothing half-starts.
   */
  async debugRefusal(): Promise<WorkerStartError | undefined> {
    const plan = await planWorker();
    return plan.kind === 'python' ? this.pythonDebugRefusal() : undefined;
  }

  /** A Celery worker waiting for a debugger nobody can attach would hang: the Python Debugger must be there. */
  private pythonDebugRefusal(): WorkerStartError | undefined {
    if (PYTHON_DEBUGGERS.some((id) => vscode.extensions.getExtension(id))) return undefined;
    return new WorkerStartError('Debugging a Celery worker needs the Python Debugger extension (ms-python.debugpy, which the Python extension installs). Install it from the Extensions view, then debug again.', { kind: 'log' });
  }

  /** Attach VS Code's Python debugger to debugpy, which listens on `port` (the worker waits for it). */
  private async attachPython(port: number, cwd: string): Promise<void> {
    await this.startSession({ type: 'debugpy', request: 'attach', name: 'Radish: Celery worker', connect: { host: '127.0.0.1', port }, justMyCode: true }, cwd, (session) => session.configuration.connect?.port === port);
  }

  /** The debug session attached to the worker's task process, if any. */
  get debugSession(): vscode.DebugSession | undefined {
    return this.session;
  }

  /**
   * Attach VS Code's JavaScript debugger to the task process at `url` (its inspector): breakpoints in the task
   * modules bind through their source maps; the runner's own frames are skipped.
   */
  private async attach(url: string, cwd: string): Promise<void> {
    const config: vscode.DebugConfiguration = {
      type: 'pwa-node',
      request: 'attach',
      name: 'Radish: task process',
      websocketAddress: url,
      continueOnAttach: true,
      sourceMaps: true,
      skipFiles: ['<node_internals>/**', `${this.extensionPath.split('\\').join('/')}/dist/**`],
    };
    await this.startSession(config, cwd, (session) => session.configuration.websocketAddress === url);
  }

  /** Start a debug session attaching to the worker; `ours` tells it among the sessions that start. */
  private async startSession(config: vscode.DebugConfiguration, cwd: string, ours: (session: vscode.DebugSession) => boolean): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.find((f) => cwd.startsWith(f.uri.fsPath)) ?? vscode.workspace.workspaceFolders?.[0];
    const started = vscode.debug.onDidStartDebugSession((session) => {
      if (!ours(session)) return;
      started.dispose();
      this.session = session;
      this.attached.fire(session);
    });
    const ok = await vscode.debug.startDebugging(folder, config);
    if (!ok) {
      started.dispose();
      this.log.error(`Could not attach the debugger (${config.type}): VS Code did not start the debug session`);
    }
  }

  private setState(state: WorkerState): void {
    this.state = state;
    void vscode.commands.executeCommand('setContext', 'radish.worker', state);
    this.changed.fire();
  }

  /** The worker's node name as it appears on the broker: as its ready line gave it, else `%h` expanded here. */
  get nodeName(): string | undefined {
    return this.reportedNode ?? this.hostname?.replace('%h', os.hostname());
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Start the worker; refuses in an untrusted workspace (it runs workspace code). Rejects with a WorkerStartError
   * (what went wrong and what the user can do about it) when it cannot start.
   */
  async start(options: { queues?: readonly string[]; debug?: boolean } = {}): Promise<void> {
    if (this.child) return;
    if (!vscode.workspace.isTrusted) {
      throw new WorkerStartError('Starting a worker runs code from this workspace, and this workspace is not trusted.', { kind: 'trust' });
    }
    const plan = await planWorker();
    if (plan.kind === 'none') throw new WorkerStartError(plan.reason, plan.folder ? { kind: 'taskModule', root: plan.folder } : { kind: 'openFolder' });
    if (options.debug && plan.kind === 'python') {
      const refused = this.pythonDebugRefusal();
      if (refused) throw refused;
    }
    this.plan = plan;
    this.debugging = Boolean(options.debug);
    const config = vscode.workspace.getConfiguration('radish');
    // The configured queues, and those a caller added (a queue nobody consumed, say), kept for a restart.
    this.extraQueues = options.queues ?? this.extraQueues;
    const queues = [...new Set([...(config.get<string[]>('worker.queues') ?? ['celery']), ...this.extraQueues])].join(',');
    const concurrency = config.get<number>('worker.concurrency') ?? 4;
    const level = config.get<string>('worker.logLevel') ?? 'info';
    const url = await this.connection.urlWithPassword();
    const backend = await this.connection.backendUrlWithPassword();
    if (this.connection.isAmqp && !backend) {
      throw new WorkerStartError('The broker is RabbitMQ, which keeps no results: set a Redis result backend beside it (radish.resultBackendUrl), where the worker stores results and failures.', { kind: 'resultBackend' });
    }
    this.hostname = `vscode-${process.pid}@%h`;
    this.reportedNode = undefined;
    // Through the environment, not the command line, where the passwords would show (ps, the log's "Starting:" line).
    // Both workers read them: Radish's RADISH_*, Celery's CELERY_* (which win over the project's own settings).
    const env: NodeJS.ProcessEnv = {
      ...process.env, RADISH_BROKER_URL: url, CELERY_BROKER_URL: url,
      ...(backend ? { RADISH_RESULT_BACKEND: backend, CELERY_RESULT_BACKEND: backend } : {}),
    };
    this.tail = [];
    this.lastLevel = 'info';
    this.setState('starting');
    // Which interpreter really runs (a bare `python3` may be a pyenv shim, or another venv's than the user thinks);
    // with no Python set, the first of the platform's candidates that runs (`python`, `py -3`, `python3` on Windows).
    const interpreter: Interpreter = plan.kind === 'typescript'
      ? await describeInterpreter('node', config.get<string>('nodePath') || process.execPath, { ...env, ELECTRON_RUN_AS_NODE: '1' }, plan.cwd, { platform: this.platform })
      : await resolveInterpreter('python', pythonCandidates(this.platform, configuredPython()), env, plan.cwd, this.platform);
    const runtime = launchCommand(interpreter, this.platform);
    // A Celery worker is debugged through debugpy, listening on a free local port for VS Code's Python debugger.
    const debugPort = this.debugging && plan.kind === 'python' ? await freePort() : undefined;
    if (debugPort !== undefined) this.log.warn('Debug mode: the Celery worker runs under debugpy with the solo pool (one task at a time); it waits for the debugger before it starts');
    const launch = launchSpec(plan, { platform: this.platform, extensionPath: this.extensionPath, runtime, queues, concurrency, level, hostname: this.hostname, env, debug: this.debugging, debugPort });
    // On Windows the file the interpreter named itself is started, not the shim or launcher that found it.
    const described = runtime.command === interpreter.executable && interpreter.file !== undefined ? { ...interpreter, file: interpreter.executable } : interpreter;
    if (described.file) this.log.info(interpreterLine(described));
    else this.log.warn(interpreterLine(described));
    const command = launch.command;
    this.log.info(`Starting: ${[described.file ?? command, ...launch.args].map(shown).join(' ')} (in ${plan.cwd}; ${this.connection.describe()})`);
    const child = spawn(command, launch.args, { cwd: plan.cwd, env: launch.env, stdio: launch.stdio, windowsHide: launch.windowsHide, shell: launch.shell });
    this.child = child;

    const ready = new Promise<void>((resolve, reject) => {
      const onLine = (line: string) => {
        const debuggee = this.debugging ? /waits for a debugger at (ws:\/\/\S+)/.exec(line) : null;
        if (debuggee) void this.attach(debuggee[1]!, plan.cwd);
        const debugpy = this.debugging ? DEBUGPY_LISTENING.exec(line) : null;
        if (debugpy) void this.attachPython(Number(debugpy[1]), plan.cwd);
        const ready = this.state === 'starting' ? readyLine(line) : undefined;
        if (ready) {
          this.reportedNode = ready.node;
          this.setState('running');
          resolve();
        }
      };
      this.pipe(child, onLine);
      child.once('error', (err) => {
        // The process never ran (no such interpreter, say): no exit follows.
        this.child = undefined;
        this.log.error(`Cannot run ${command}: ${err.message}`);
        this.setState('crashed');
        reject(new WorkerStartError(`cannot run ${command}: ${err.message}`, { kind: 'log' }));
      });
      child.once('exit', (code, signal) => {
        this.child = undefined;
        // The worker is gone: so is what its debug session was attached to.
        if (this.session) void vscode.debug.stopDebugging(this.session);
        this.session = undefined;
        const expected = this.state === 'stopping';
        const wasRunning = this.state === 'running';
        const wasStarting = this.state === 'starting';
        const summary = signal ? `signal ${signal}` : `exit code ${code}`;
        if (expected || code === 0) {
          this.log.info(`Worker stopped (${summary})`);
          this.setState('stopped');
        } else {
          this.log.error(`${wasStarting ? 'Worker exited before it was ready' : 'Worker crashed'} (${summary})`);
          this.setState('crashed');
          // A worker that never came up is reported by the failed start itself; only a running one gets this.
          if (wasRunning) void this.reportCrash(summary, plan.cwd);
        }
        const { cause, location } = startupCause(this.tail, plan.cwd);
        reject(new WorkerStartError(cause ?? `it exited before it was ready (${summary}).`, { kind: 'log', location }));
      });
    });
    await ready;
  }

  private pipe(child: ChildProcess, onLine: (line: string) => void): void {
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          this.write(line);
          onLine(line);
        }
      });
    }
  }

  /** One worker line into the log channel, at the level the worker gave it (stack lines keep the last level). */
  private write(line: string): void {
    if (!line.trim()) return;
    this.tail.push(line);
    if (this.tail.length > TAIL) this.tail.shift();
    const m = LINE.exec(line);
    // What the worker says on its way out when it cannot start: Radish's one line, Celery's traceback (its frames
    // and the exception keep that level).
    if (!m && /^(radish: |Traceback \(most recent call last\):|Error: )/.test(line)) this.lastLevel = 'error';
    if (m) {
      const level = m[2];
      this.lastLevel = level === 'ERROR' || level === 'CRITICAL' ? 'error' : level === 'WARNING' ? 'warn' : level === 'DEBUG' ? 'debug' : 'info';
      this.log[this.lastLevel](m[4] ?? line);
    } else {
      this.log[this.lastLevel](line);
    }
  }

  /** One line: how it ended, and the cause when the worker said one (the log has the rest, one click away). */
  private async reportCrash(summary: string, cwd: string): Promise<void> {
    const { cause } = startupCause(this.tail, cwd);
    const choice = await vscode.window.showErrorMessage(`Radish worker crashed (${summary}).${cause ? ` ${cause}` : ''}`, 'Restart', 'Show Log');
    if (choice === 'Restart') {
      await this.start().catch((err: unknown) => {
        if (err instanceof WorkerStartError) void reportStartError(err, this.log);
        else void vscode.window.showErrorMessage(`Radish: ${errorMessage(err)}`);
      });
    }
    if (choice === 'Show Log') this.log.show();
  }

  /**
   * Stop the worker: a warm shutdown (running tasks finish); after `graceMs` a cold one (their messages go back at
   * once); a kill 5 s later if it is still there. How, per OS and kind of worker, is ./stop.ts: over the IPC channel
   * for a Radish worker, signals for Celery on POSIX, remote control then taskkill for Celery on Windows. Resolves
   * when the process is gone; a call while a stop is under way joins it.
   */
  stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child) return Promise.resolve();
    this.stopping ??= this.takeStop(child, graceMs).finally(() => { this.stopping = undefined; });
    return this.stopping;
  }

  private takeStop(child: ChildProcess, graceMs: number): Promise<void> {
    const ready = this.state === 'running';
    this.setState('stopping');
    if (child.pid === undefined || !this.plan || this.plan.kind === 'none') return Promise.resolve();
    const steps = stopPlan({
      kind: this.plan.kind, platform: this.platform, pid: child.pid, graceMs, node: this.nodeName, ready,
      systemRoot: process.env.SystemRoot,
    });
    return runStopPlan(child, steps, {
      remoteShutdown: async (node) => {
        await (await this.connection.control()).broadcast('shutdown', {}, { destination: [node], reply: false });
      },
      log: (level, line) => this.log[level](line),
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  dispose(): void {
    // The window is closing: the worker must not outlive it. Its warm stop is asked now, the rest follows while this
    // process lives; a Radish worker also stops by itself when its IPC channel closes with this process.
    if (this.child) void this.stop();
    this.changed.dispose();
    this.attached.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
