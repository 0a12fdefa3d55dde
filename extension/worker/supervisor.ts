/**
 * The local worker this window starts: a Radish worker (the bundled runner CLI, run with VS Code's own Node or
 * `radish.nodePath`) or a Celery worker. Streams its output into the "Radish Worker" log channel with levels,
 * reports a crash with its exit code and last lines, and stops it (warm, then hard) when asked or on deactivate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Connection } from '../connection';
import { describeInterpreter, interpreterLine, planWorker, type WorkerPlan } from './detect';
import { errorMessage } from '../../runner/errors';
import { reportStartError, startupCause, WorkerStartError } from './startError';

export type WorkerState = 'stopped' | 'starting' | 'running' | 'stopping' | 'crashed';

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
  private tail: string[] = [];
  /** Queues consumed besides `radish.worker.queues`, as the last start was asked for. */
  private extraQueues: readonly string[] = [];
  private lastLevel: 'info' | 'warn' | 'error' | 'debug' = 'info';

  constructor(
    private readonly extensionPath: string,
    private readonly connection: Connection,
    readonly log: vscode.LogOutputChannel,
  ) {}

  private setState(state: WorkerState): void {
    this.state = state;
    void vscode.commands.executeCommand('setContext', 'radish.worker', state);
    this.changed.fire();
  }

  /** The worker's node name as it appears on the broker (`%h` expanded as the worker does). */
  get nodeName(): string | undefined {
    return this.hostname?.replace('%h', os.hostname());
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Start the worker; refuses in an untrusted workspace (it runs workspace code). Rejects with a WorkerStartError
   * (what went wrong and what the user can do about it) when it cannot start.
   */
  async start(options: { queues?: readonly string[] } = {}): Promise<void> {
    if (this.child) return;
    if (!vscode.workspace.isTrusted) {
      throw new WorkerStartError('Starting a worker runs code from this workspace, and this workspace is not trusted.', { kind: 'trust' });
    }
    const plan = await planWorker();
    if (plan.kind === 'none') throw new WorkerStartError(plan.reason, plan.folder ? { kind: 'taskModule', root: plan.folder } : { kind: 'openFolder' });
    this.plan = plan;
    const config = vscode.workspace.getConfiguration('radish');
    // The configured queues, and those a caller added (a queue nobody consumed, say), kept for a restart.
    this.extraQueues = options.queues ?? this.extraQueues;
    const queues = [...new Set([...(config.get<string[]>('worker.queues') ?? ['celery']), ...this.extraQueues])].join(',');
    const concurrency = String(config.get<number>('worker.concurrency') ?? 4);
    const level = config.get<string>('worker.logLevel') ?? 'info';
    const url = await this.connection.urlWithPassword();
    this.hostname = `vscode-${process.pid}@%h`;
    let command: string;
    let args: string[];
    const env: NodeJS.ProcessEnv = { ...process.env, RADISH_BROKER_URL: url, CELERY_BROKER_URL: url };
    if (plan.kind === 'typescript') {
      command = config.get<string>('nodePath') || process.execPath;
      // In desktop VS Code process.execPath is Electron: this makes it behave as plain Node.
      env.ELECTRON_RUN_AS_NODE = '1';
      args = [path.join(this.extensionPath, 'dist', 'radish.js'), 'worker', '-A', plan.module, '-Q', queues, '-c', concurrency, '-l', level, '-n', this.hostname, '-E', '--result-extended'];
    } else {
      command = config.get<string>('python.interpreter') || 'python3';
      args = ['-m', 'celery', '-A', plan.app, 'worker', '-l', level, '-E', '-Q', queues, '-c', concurrency, '-n', this.hostname];
    }
    this.tail = [];
    this.lastLevel = 'info';
    this.setState('starting');
    // Which interpreter really runs (a bare `python3` may be a pyenv shim, or another venv's than the user thinks).
    const interpreter = await describeInterpreter(plan.kind === 'python' ? 'python' : 'node', command, env, plan.cwd);
    if (interpreter.file) this.log.info(interpreterLine(interpreter));
    else this.log.warn(interpreterLine(interpreter));
    this.log.info(`Starting: ${interpreter.file ?? command} ${args.join(' ')} (in ${plan.cwd}; broker ${this.connection.displayUrl})`);
    const child = spawn(command, args, { cwd: plan.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const ready = new Promise<void>((resolve, reject) => {
      const onLine = (line: string) => {
        if (/ ready\.|celery@.* ready/.test(line) && this.state === 'starting') {
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
   * Warm shutdown (SIGTERM); after `graceMs` a cold one (a second SIGTERM for Radish, SIGQUIT for Celery), which
   * gives the running tasks' messages back at once; SIGKILL only if the process is still there 5 s later.
   * Resolves when the process is gone.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.setState('stopping');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const cold = setTimeout(() => child.kill(this.plan?.kind === 'python' ? 'SIGQUIT' : 'SIGTERM'), graceMs);
    const hard = setTimeout(() => child.kill('SIGKILL'), graceMs + 5000);
    await exited;
    clearTimeout(cold);
    clearTimeout(hard);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  dispose(): void {
    // The window is closing: the worker must not outlive it.
    this.child?.kill('SIGTERM');
    this.changed.dispose();
  }
}
