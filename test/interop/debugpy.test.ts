/**
 * A Celery worker debugged as the extension starts it (extension/worker/launch.ts, `debugPort`): debugpy listening on
 * a local port and waiting for a client before Celery starts, the solo pool. A small Debug Adapter Protocol client
 * (the protocol VS Code's Python debugger speaks to debugpy) attaches, sets a breakpoint in a task of
 * examples/django-celery, and a task sent by a Radish client stops there with its args in scope; continued, its
 * result arrives. Needs Debian's python3-debugpy (setup.sh installs it).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEBUGPY_BOOT, DEBUGPY_LISTENING, launchSpec } from '../../extension/worker/launch';
import { Radish } from '../../runner/app';
import { requireCelery } from '../support/celery';
import { redisHarness } from '../support/redis';
import { until } from '../support/wait';

const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

interface DapMessage { seq: number; type: string; command?: string; event?: string; success?: boolean; message?: string; body?: Record<string, unknown>; request_seq?: number }

/** A Debug Adapter Protocol client over TCP: requests answered by their responses, events kept in order. */
class DapClient {
  private seq = 0;
  private buffer = Buffer.alloc(0);
  private readonly waiting = new Map<number, (m: DapMessage) => void>();
  readonly events: DapMessage[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, end).toString())?.[1]);
        if (this.buffer.length < end + 4 + length) return;
        const msg = JSON.parse(this.buffer.subarray(end + 4, end + 4 + length).toString()) as DapMessage;
        this.buffer = this.buffer.subarray(end + 4 + length);
        if (msg.type === 'response') this.waiting.get(msg.request_seq!)?.(msg);
        else if (msg.type === 'event') this.events.push(msg);
      }
    });
  }

  static async connect(port: number, timeoutMs: number): Promise<DapClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((ok, fail) => {
          const s = new Socket();
          s.once('error', fail);
          s.connect(port, '127.0.0.1', () => ok(s));
        });
        return new DapClient(socket);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Send a request; resolves with its response (without waiting when `wait` is false: debugpy answers attach late). */
  request(command: string, args: Record<string, unknown> = {}): Promise<DapMessage> {
    const seq = ++this.seq;
    const body = JSON.stringify({ seq, type: 'request', command, arguments: args });
    const answered = new Promise<DapMessage>((ok) => this.waiting.set(seq, ok));
    this.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return answered;
  }

  async event(name: string, timeoutMs: number): Promise<DapMessage> {
    let found: DapMessage | undefined;
    await until(() => (found = this.events.find((e) => e.event === name)) !== undefined, `the ${name} event`, timeoutMs);
    return found!;
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('a Celery worker under debugpy, started as the extension starts it: a breakpoint in a task stops it', function () {
  this.timeout(120_000);
  before(function () {
    requireCelery(this);
    const debugpy = spawnSync(PYTHON, ['-c', 'import debugpy'], { encoding: 'utf8' });
    if (debugpy.status !== 0) {
      console.log(`      skipped: ${PYTHON} cannot import debugpy (run setup.sh, which installs python3-debugpy)`);
      this.skip();
    }
  });
  const h = redisHarness();
  let dir: string | undefined;
  let worker: ChildProcess | undefined;
  let dap: DapClient | undefined;
  let app: Radish | undefined;

  afterEach(async () => {
    dap?.close();
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGKILL');
      await exited;
    }
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('waits for the debugger, stops at the line with the args in scope, and continues to the result', async () => {
    dir = mkdtempSync(join(tmpdir(), 'radish-debugpy-'));
    cpSync(resolve(__dirname, '../../examples/django-celery'), dir, { recursive: true });
    const port = await freePort();
    const spec = launchSpec({ kind: 'python', app: 'shop', cwd: dir }, {
      extensionPath: resolve(__dirname, '../..'), runtime: { command: PYTHON, args: [] }, queues: 'celery',
      concurrency: 4, level: 'info', hostname: 'debugpy@%h', env: { ...process.env, CELERY_BROKER_URL: h.server.url, PYTHONDONTWRITEBYTECODE: '1' },
      debugPort: port,
    });
    assert.deepEqual(spec.args.slice(0, 3), ['-c', DEBUGPY_BOOT, String(port)]);
    assert.ok(spec.args.includes('solo'), 'the solo pool: the task runs in the process debugpy watches');
    let log = '';
    worker = spawn(spec.command, spec.args, { cwd: dir, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    worker.stderr!.on('data', (d: Buffer) => { log += d.toString(); });

    // The line the extension attaches on (debugpy takes one client: nothing may probe its port).
    await until(() => log.split('\n').some((l) => DEBUGPY_LISTENING.exec(l)?.[1] === String(port)), 'debugpy listening', 30_000);
    dap = await DapClient.connect(port, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.doesNotMatch(log, / ready\./, 'Celery waits for the debugger');
    await dap.request('initialize', { adapterID: 'debugpy', clientID: 'radish-test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    const attached = dap.request('attach', { justMyCode: true, subProcess: false });
    await dap.event('initialized', 30_000);
    const file = join(dir, 'orders', 'tasks.py');
    const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes("logger.info('Confirming order")) + 1;
    const set = await dap.request('setBreakpoints', { source: { path: file }, breakpoints: [{ line }] });
    assert.equal(set.success, true, JSON.stringify(set));
    await dap.request('configurationDone');
    await attached;
    await until(() => / ready\./.test(log), 'the Celery worker ready once attached', 60_000);

    app = new Radish({ broker: h.server.url });
    const sent = await app.send('orders.tasks.send_confirmation', [42, 'ada@example.com']);
    const stopped = await dap.event('stopped', 30_000);
    const threadId = stopped.body!.threadId as number;
    const trace = await dap.request('stackTrace', { threadId, startFrame: 0, levels: 1 });
    const top = (trace.body!.stackFrames as { id: number; line: number; source: { path: string } }[])[0]!;
    assert.deepEqual([top.source.path, top.line], [file, line]);
    const scopes = await dap.request('scopes', { frameId: top.id });
    const locals = (scopes.body!.scopes as { name: string; variablesReference: number }[]).find((s) => /local/i.test(s.name))!;
    const vars = await dap.request('variables', { variablesReference: locals.variablesReference });
    const value = (name: string) => (vars.body!.variables as { name: string; value: string }[]).find((v) => v.name === name)?.value;
    assert.deepEqual([value('order_id'), value('email')], ['42', "'ada@example.com'"]);
    await dap.request('continue', { threadId });
    assert.deepEqual(await sent.get({ timeout: 30_000 }), { order_id: 42, email: 'ada@example.com', status: 'sent' });
  });
});
