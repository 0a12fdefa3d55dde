/**
 * How the local worker is stopped, per OS: the steps (warm, then cold after a grace period, then a kill) as data,
 * and the code that takes them on a running process. No VS Code here, so both are tested under mocha, the Windows
 * plan included.
 *
 * POSIX has signals; Windows has none (`kill()` there is TerminateProcess, a hard kill of one process), so:
 * - a Radish worker is asked over the IPC channel it is started with (`{ radish: 'shutdown', mode }`, which
 *   runner/cli.ts obeys as it obeys a first and a second SIGTERM), on every OS: one path, tested everywhere;
 * - a Celery worker on Windows is asked through Celery's own remote control (`shutdown` to its node name: a warm
 *   stop); Celery has no cold stop that is not a signal, so after the grace period its process tree is killed;
 * - the last resort is SIGKILL on POSIX and `taskkill /T /F` on Windows (the whole tree: a pool's children, the
 *   venv launcher's python.exe).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** What runner/cli.ts's worker command obeys on its IPC channel: warm (a first SIGTERM) or cold (a second). */
export interface ShutdownMessage { radish: 'shutdown'; mode: 'warm' | 'cold' }

export function shutdownMessage(mode: 'warm' | 'cold'): ShutdownMessage {
  return { radish: 'shutdown', mode };
}

export type WorkerKind = 'typescript' | 'python';

export type StopAction =
  /** Send a {@link ShutdownMessage} over the IPC channel; when the channel is closed, `orSignal` (POSIX) instead. */
  | { do: 'message'; mode: 'warm' | 'cold'; orSignal?: NodeJS.Signals }
  | { do: 'signal'; signal: NodeJS.Signals }
  /** Celery's remote control `shutdown` to this node name (a warm stop). */
  | { do: 'remote-shutdown'; node: string }
  /** Run this command (taskkill) to kill the process and its children; if it fails, kill the process itself. */
  | { do: 'kill-tree'; command: string; args: string[] };

export interface StopStep {
  /** Milliseconds after the stop began. */
  atMs: number;
  action: StopAction;
  /** What the log says when the step is taken. */
  say: string;
}

export interface StopPlanOptions {
  kind: WorkerKind;
  /** Default `process.platform`. */
  platform?: NodeJS.Platform;
  pid: number;
  /** How long running tasks get to finish before the stop turns cold (or, for Celery on Windows, a kill). */
  graceMs: number;
  /** Milliseconds after the cold step before the kill. Default 5000. */
  hardAfterMs?: number;
  /** The Celery worker's node name, as it reported it (for the remote `shutdown` on Windows). */
  node?: string;
  /** Whether the worker said it is ready: before that it holds no message, and Celery does not hear remote control. */
  ready: boolean;
  /** Windows' folder (`%SystemRoot%`), for taskkill.exe. Default `C:\Windows`. */
  systemRoot?: string;
}

/** `taskkill /PID <pid> /T /F` by its full path (a PATH without System32 still finds it): the process and its children. */
export function taskkill(pid: number, systemRoot = 'C:\\Windows'): { command: string; args: string[] } {
  return { command: path.win32.join(systemRoot, 'System32', 'taskkill.exe'), args: ['/PID', String(pid), '/T', '/F'] };
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The steps that stop a worker of `kind` on `platform`, in order of time. */
export function stopPlan(o: StopPlanOptions): StopStep[] {
  const windows = (o.platform ?? process.platform) === 'win32';
  const hardAt = o.graceMs + (o.hardAfterMs ?? 5000);
  const tree = taskkill(o.pid, o.systemRoot);
  const killTree = (atMs: number, say: string): StopStep => ({ atMs, action: { do: 'kill-tree', ...tree }, say });
  const late = `Worker still running ${seconds(o.graceMs)} after the stop began`;
  if (o.kind === 'typescript') {
    // The CLI hears the channel from its first moment (before it is ready, a request ends it at once).
    const orSignal = windows ? {} : { orSignal: 'SIGTERM' as const };
    return [
      { atMs: 0, action: { do: 'message', mode: 'warm', ...orSignal }, say: 'Stopping the worker: warm shutdown (running tasks finish)' },
      { atMs: o.graceMs, action: { do: 'message', mode: 'cold', ...orSignal }, say: `${late}: cold shutdown (running tasks are aborted; their messages go back to their queues)` },
      windows
        ? killTree(hardAt, `Worker still running: killing it and its child processes (taskkill /T /F)`)
        : { atMs: hardAt, action: { do: 'signal', signal: 'SIGKILL' }, say: 'Worker still running: killing it (SIGKILL)' },
    ];
  }
  if (!windows) {
    return [
      { atMs: 0, action: { do: 'signal', signal: 'SIGTERM' }, say: 'Stopping the worker: warm shutdown (SIGTERM; running tasks finish)' },
      { atMs: o.graceMs, action: { do: 'signal', signal: 'SIGQUIT' }, say: `${late}: cold shutdown (SIGQUIT)` },
      { atMs: hardAt, action: { do: 'signal', signal: 'SIGKILL' }, say: 'Worker still running: killing it (SIGKILL)' },
    ];
  }
  // Celery on Windows: remote control is the only polite way in, and it is heard only once the worker consumes.
  if (!o.ready || !o.node) return [killTree(0, 'Stopping the worker before it was ready: killing it and its child processes (taskkill /T /F)')];
  return [
    { atMs: 0, action: { do: 'remote-shutdown', node: o.node }, say: `Stopping the worker: warm shutdown (remote control shutdown to ${o.node}; running tasks finish)` },
    killTree(o.graceMs, `${late}: killing it and its child processes (taskkill /T /F); messages of tasks it ran with acks_late come back after the visibility timeout`),
  ];
}

/** The parts of a ChildProcess a stop uses. */
export type StoppableChild = Pick<ChildProcess, 'pid' | 'connected' | 'exitCode' | 'signalCode' | 'kill' | 'send' | 'once'>;

export interface StopHooks {
  /** Send Celery's remote control `shutdown` to `node` (the extension's Control client). */
  remoteShutdown(node: string): Promise<void>;
  /** Run a command to its end, resolving with its exit code. Default: spawn it, hidden, output ignored. */
  run?(command: string, args: readonly string[]): Promise<number | null>;
  log?(level: 'info' | 'warn', line: string): void;
}

/** Run a command to its end (no shell: the arguments go as they are); resolves with its exit code, null if it could not run. */
export function runCommand(command: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', windowsHide: true, shell: false });
    child.once('error', () => resolve(null));
    child.once('exit', (code) => resolve(code));
  });
}

/**
 * Take the steps on `child` at their times, until it exits: resolves then (at once if it already has). The first
 * step is taken before this returns.
 */
export function runStopPlan(child: StoppableChild, steps: readonly StopStep[], hooks: StopHooks): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const log = hooks.log ?? (() => undefined);
  const run = hooks.run ?? runCommand;
  let gone = false;
  const kill = (signal: NodeJS.Signals) => {
    try {
      child.kill(signal);
    } catch {
      // Gone meanwhile.
    }
  };
  const act = (step: StopStep, first: boolean) => {
    if (gone) return;
    log(first ? 'info' : 'warn', step.say);
    const a = step.action;
    switch (a.do) {
      case 'message': {
        const fallback = (why: string) => {
          if (gone) return;
          if (a.orSignal) {
            log('warn', `Cannot ask the worker over its IPC channel (${why}): sending ${a.orSignal}`);
            kill(a.orSignal);
          } else {
            log('warn', `Cannot ask the worker over its IPC channel (${why})`);
          }
        };
        if (!child.connected) {
          fallback('it is closed');
          break;
        }
        try {
          child.send(shutdownMessage(a.mode), (err: Error | null) => { if (err) fallback(err.message); });
        } catch (err) {
          fallback(err instanceof Error ? err.message : String(err));
        }
        break;
      }
      case 'signal':
        kill(a.signal);
        break;
      case 'remote-shutdown':
        hooks.remoteShutdown(a.node).catch((err: unknown) => {
          log('warn', `Cannot send the shutdown request to ${a.node} (${err instanceof Error ? err.message : String(err)}): the worker is killed when the grace period ends`);
        });
        break;
      case 'kill-tree':
        void run(a.command, a.args).then((code) => {
          if (gone || code === 0) return;
          log('warn', `${path.win32.basename(a.command)} ${code === null ? 'could not run' : `exited with ${code}`}: killing the worker process itself`);
          kill('SIGKILL');
        });
        break;
    }
  };
  return new Promise<void>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    child.once('exit', () => {
      gone = true;
      for (const t of timers) clearTimeout(t);
      resolve();
    });
    steps.forEach((step, i) => {
      if (step.atMs <= 0) act(step, i === 0);
      else timers.push(setTimeout(() => act(step, i === 0), step.atMs));
    });
  });
}
