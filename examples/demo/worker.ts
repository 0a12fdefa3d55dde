/** The worker as a user runs it: the `radish` CLI in a child process, its log captured for the demo to show. */
import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute, relative } from 'node:path';

export class WorkerProcess {
  private output = '';
  private readonly child: ChildProcess;
  private readonly exit: Promise<number | null>;

  /** @param argv arguments after `node`, e.g. `[<repo>/dist/radish.js, 'worker', '-A', ...]`. */
  constructor(readonly argv: readonly string[], brokerUrl: string) {
    this.child = spawn(process.execPath, argv, {
      // The tasks module reads its broker from RADISH_BROKER_URL, as a deployed worker would.
      env: { ...process.env, RADISH_BROKER_URL: brokerUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => { this.output += chunk.toString(); });
    this.child.stderr?.on('data', (chunk: Buffer) => { this.output += chunk.toString(); });
    this.exit = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', () => resolve(null));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything the worker printed so far (stdout and stderr, in arrival order). */
  get log(): string {
    return this.output;
  }

  /** The command line, relative to `cwd`, for showing the user what to type. */
  commandLine(cwd: string): string {
    return ['node', ...this.argv.map((a) => (isAbsolute(a) ? relative(cwd, a) || '.' : a))].join(' ');
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolve once the log says `ready`; reject if the worker exits first or `timeoutMs` passes. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!/\bready\b/.test(this.output)) {
      if (!this.running) throw new Error(`worker exited (code ${this.child.exitCode}) before it was ready: ${this.lastLine()}`);
      if (Date.now() > deadline) throw new Error(`worker not ready after ${timeoutMs / 1000}s: ${this.lastLine() || 'no output'}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private lastLine(): string {
    return this.output.trim().split('\n').pop() ?? '';
  }

  /** Warm shutdown (SIGTERM): resolves with the exit code; SIGKILLs and rejects if it takes over `timeoutMs`. */
  async stop(timeoutMs: number): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    const code = await Promise.race([this.exit, timer]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`worker did not stop within ${timeoutMs / 1000}s of SIGTERM; killed it`);
    }
    return code;
  }
}
