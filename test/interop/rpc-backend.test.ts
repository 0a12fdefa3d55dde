/**
 * The rpc:// result backend between Radish and real Celery 5.2.6 (Debian's /usr/bin/python3, py-amqp) on RabbitMQ:
 * a Celery client (result_backend='rpc://') gets a Radish worker's results and exceptions, a Radish client gets a
 * Celery worker's, and both clients refuse a chord on rpc://. The Python side is test/interop/celery_rpc_peer.py.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { TaskFailedError } from '../../runner/protocol/result';
import { Worker } from '../../runner/worker/worker';
import { rabbitVhost } from '../support/rabbitmq';

const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
const PEER = resolve(__dirname, 'celery_rpc_peer.py');

/** Python's `ValueError`, as a Radish task throws it (a JS TypeError reaches Python as builtins.TypeError). */
class ValueError extends Error {
  override readonly name = 'ValueError';
}

function celeryMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import celery, amqp; print(celery.__version__)'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return `cannot run ${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} cannot import celery and amqp: ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

/** Run the peer to its end; resolves with its stdout's last line as JSON. */
function peer<T>(broker: string, args: string[], timeoutMs = 60_000): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(PYTHON, [PEER, ...args], { env: { ...process.env, RPC_PEER_BROKER: broker }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`celery_rpc_peer ${args[0]} exited ${code ?? signal}:\n${err}${out}`));
      try {
        resolvePromise(JSON.parse(last) as T);
      } catch {
        reject(new Error(`celery_rpc_peer ${args[0]} printed no JSON:\n${out}\n${err}`));
      }
    });
  });
}

/** A Celery worker consuming `queue`; resolves once it says it is ready. */
function celeryWorker(broker: string, queue: string): Promise<{ child: ChildProcess; log: () => string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(PYTHON, [PEER, 'worker', queue], { env: { ...process.env, RPC_PEER_BROKER: broker }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`the Celery worker was not ready within 30 s:\n${log}`)), 30_000);
    const hear = (d: Buffer): void => {
      log += d.toString();
      if (/ready\./.test(log)) {
        clearTimeout(timer);
        resolvePromise({ child, log: () => log });
      }
    };
    child.stdout.on('data', hear);
    child.stderr.on('data', hear);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the Celery worker exited ${code}:\n${log}`)); });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Outcome {
  id: string;
  ok?: unknown;
  error?: string;
  module?: string;
  args?: string[];
}

describe('the rpc:// result backend between Radish and Celery 5.2.6 on RabbitMQ', function () {
  this.timeout(90_000);
  const rabbit = rabbitVhost();
  const lines: string[] = [];
  let app: Radish;
  let workers: Worker[] = [];
  let children: ChildProcess[] = [];

  before(function () {
    const missing = celeryMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
  });

  beforeEach(() => {
    lines.length = 0;
    app = new Radish({ broker: rabbit.url, backend: 'rpc://' });
    app.task('tasks.add', (x: number, y: number) => x + y);
    app.task('tasks.fail', () => { throw new ValueError('boom'); });
    app.task('tasks.type_error', () => { throw new TypeError('not a number'); });
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ cold: true })));
    workers = [];
    await Promise.all(children.map(stopChild));
    children = [];
    await app.close();
  });

  it("a Celery client gets a Radish worker's results and exceptions (several at once, waited for in another order)", async () => {
    const w = new Worker(app, { logger: createLogger('info', (l) => lines.push(l)), hostname: 'radish@rpc', concurrency: 2 });
    workers.push(w);
    await w.start();
    const outcomes = await peer<Outcome[]>(rabbit.url, ['client', JSON.stringify([
      { name: 'tasks.add', args: [2, 3] },
      { name: 'tasks.fail' },
      { name: 'tasks.add', args: [40, 2] },
      { name: 'tasks.type_error' },
    ])]);
    assert.deepEqual(outcomes.map(({ id: _id, ...o }) => o), [
      { ok: 5 },
      { error: 'ValueError', module: 'builtins', args: ['boom'] },
      { ok: 42 },
      { error: 'TypeError', module: 'builtins', args: ['not a number'] },
    ]);
    assert.ok(lines.some((l) => l.includes(`tasks.add[${outcomes[0]!.id}] succeeded`)), lines.join('\n'));
  });

  it("a Radish client gets a Celery worker's results and exceptions", async () => {
    const worker = await celeryWorker(rabbit.url, 'rpcpy');
    children.push(worker.child);
    const sent = await Promise.all([
      app.send('peer.add', [2, 3], {}, { queue: 'rpcpy' }),
      app.send('peer.fail', [], {}, { queue: 'rpcpy' }),
      app.send('peer.add', [20, 22], {}, { queue: 'rpcpy' }),
    ]);
    // The last first: the others' results come meanwhile and are kept.
    assert.equal(await sent[2]!.get({ timeout: 20_000 }), 42);
    assert.equal(await sent[0]!.get({ timeout: 20_000 }), 5);
    const err = await sent[1]!.get({ timeout: 20_000 }).then(() => assert.fail('should have failed'), (e: unknown) => e);
    assert.ok(err instanceof TaskFailedError, String(err));
    assert.equal(err.excType, 'ValueError');
    assert.equal(err.excModule, 'builtins');
    assert.deepEqual(err.excMessage, ['boom']);
    assert.match(err.remoteTraceback ?? '', /raise ValueError\('boom'\)/);
    assert.ok(/peer\.add\[.*\] succeeded/.test(worker.log()), worker.log());
  });

  it('both clients refuse a chord on rpc:// before sending anything (Celery: NotImplementedError)', async () => {
    const celery = await peer<{ refused: boolean; error?: string; message?: string }>(rabbit.url, ['chord']);
    assert.equal(celery.refused, true);
    assert.equal(celery.error, 'NotImplementedError');
    assert.match(celery.message ?? '', /does not support chords/);
    await assert.rejects(app.chord([app.signature('peer.add', [1, 1])], app.signature('peer.add', [1])),
      { name: 'NotImplementedError', message: /rpc:\/\/ result backend cannot run chords/ });
    assert.equal((await rabbit.vhost.queue('celery'))?.messagesReady ?? 0, 0, 'nothing was sent by either');
  });
});
