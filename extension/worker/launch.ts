/**
 * The local worker's command line and spawn options, per OS, and what its "ready" line says. No VS Code here:
 * tested under mocha, the Windows form included.
 *
 * Never a shell: the arguments go as an array (a path with spaces, `%h` in a node name and `&` in a queue name
 * reach the worker as they are), and nothing is a `.cmd` shim: a Radish worker is `node dist/radish.js worker`
 * (VS Code's own runtime or `radish.nodePath`), a Celery worker `python -m celery` (never `celery.cmd`).
 */
import type { StdioOptions } from 'node:child_process';
import * as path from 'node:path';
import type { Command } from './interpreter';

export type LaunchPlan =
  | { kind: 'typescript'; module: string; cwd: string }
  | { kind: 'python'; app: string; cwd: string };

export interface LaunchSettings {
  /** Default `process.platform`. */
  platform?: NodeJS.Platform;
  /** The extension's folder (dist/radish.js is the runner's CLI). */
  extensionPath: string;
  /** What runs the worker: Node for a Radish worker, Python for Celery (`py -3` has an argument). */
  runtime: Command;
  /** Comma-separated queue names. */
  queues: string;
  concurrency: number;
  level: string;
  /** The node name, `%h` and all (the worker expands it). */
  hostname: string;
  /** The environment it inherits (the broker URL in it). */
  env: NodeJS.ProcessEnv;
  /** Run under the debugger: a Radish worker's `--debug` (one task process waiting for a debugger, no time limits). */
  debug?: boolean;
  /**
   * A Celery worker under the debugger: debugpy listening on this local port, waiting for VS Code's debugger before
   * Celery starts, with the solo pool (one task at a time, in the process debugpy watches).
   */
  debugPort?: number;
}

export interface Launch {
  command: string;
  args: string[];
  /** The whole environment. */
  env: NodeJS.ProcessEnv;
  stdio: StdioOptions;
  /** No console window for the worker on Windows. */
  windowsHide: true;
  shell: false;
}

/**
 * How to start the worker. A Radish worker gets an IPC channel, over which it is stopped on every OS
 * (extension/worker/stop.ts). A Celery worker on Windows runs the threads pool: its default prefork pool does not
 * work there (tasks hang or fail in billiard), and threads keep `-c`.
 */
export function launchSpec(plan: LaunchPlan, s: LaunchSettings): Launch {
  const windows = (s.platform ?? process.platform) === 'win32';
  const common = { windowsHide: true, shell: false } as const;
  if (plan.kind === 'typescript') {
    return {
      ...common,
      command: s.runtime.command,
      args: [...s.runtime.args, path.join(s.extensionPath, 'dist', 'radish.js'), 'worker', '-A', plan.module, '-Q', s.queues,
        '-c', String(s.concurrency), '-l', s.level, '-n', s.hostname, '-E', '--result-extended', ...(s.debug ? ['--debug'] : [])],
      // In desktop VS Code process.execPath is Electron: this makes it behave as plain Node.
      env: { ...s.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    };
  }
  const start = s.debugPort === undefined ? ['-m', 'celery'] : ['-c', DEBUGPY_BOOT, String(s.debugPort)];
  const pool = s.debugPort !== undefined ? ['-P', 'solo'] : windows ? ['-P', 'threads'] : [];
  return {
    ...common,
    command: s.runtime.command,
    args: [...s.runtime.args, ...start, '-A', plan.app, 'worker', '-l', s.level, '-E', '-Q', s.queues,
      '-c', s.debugPort !== undefined ? '1' : String(s.concurrency), ...pool, '-n', s.hostname],
    // The log channel reads UTF-8; on Windows a pipe would otherwise get the ANSI code page. A user's choice stays.
    env: { PYTHONIOENCODING: 'utf-8', ...s.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  };
}

/**
 * Celery under debugpy: listen on the port given first, say so on stderr (the line {@link DEBUGPY_LISTENING} reads:
 * debugpy takes one client, so nothing may probe the port), wait for the debugger, then run `celery` with the rest
 * of the arguments, as `python -m celery` would.
 */
export const DEBUGPY_BOOT = [
  'import runpy, sys, debugpy',
  'port = int(sys.argv[1])',
  "debugpy.listen(('127.0.0.1', port))",
  "print('radish: debugpy listens on 127.0.0.1:%d; Celery starts once the debugger attaches' % port, file=sys.stderr, flush=True)",
  'debugpy.wait_for_client()',
  "sys.argv = ['celery'] + sys.argv[2:]",
  "runpy.run_module('celery', run_name='__main__', alter_sys=True)",
].join('\n');

/** The line of the Celery worker started under debugpy that says where the debugger may attach: its port. */
export const DEBUGPY_LISTENING = /^radish: debugpy listens on 127\.0\.0\.1:(\d+)/;

const READY = /(?:^|\s)(\S+@\S+) ready\./;

/**
 * Whether a line of the worker's log says it is ready, and the node name it gives (`radish` and Celery both log
 * `<node> ready.`): the name it is known by on the broker, `%h` expanded as the worker did it. `{}` when the line
 * says ready without a name; undefined when it is not the ready line.
 */
export function readyLine(line: string): { node?: string } | undefined {
  const m = READY.exec(line);
  if (m) return { node: m[1]! };
  return / ready\.|celery@.* ready/.test(line) ? {} : undefined;
}
