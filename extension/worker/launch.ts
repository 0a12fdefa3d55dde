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
  return {
    ...common,
    command: s.runtime.command,
    args: [...s.runtime.args, '-m', 'celery', '-A', plan.app, 'worker', '-l', s.level, '-E', '-Q', s.queues,
      '-c', String(s.concurrency), ...(windows ? ['-P', 'threads'] : []), '-n', s.hostname],
    // The log channel reads UTF-8; on Windows a pipe would otherwise get the ANSI code page. A user's choice stays.
    env: { PYTHONIOENCODING: 'utf-8', ...s.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  };
}

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
