/**
 * Canvas across languages: Celery 5.2.6's own client sends a chain, a link and a link_error mixing Python tasks
 * (a real Celery worker on queue `py`) and TypeScript tasks (a Radish worker on queue `ts`); each worker publishes
 * the next step for the other, and Python reads the end result.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { requireCelery, startCeleryWorker, stopAllCeleryWorkers } from '../support/celery';
import { startRedis, type TestRedis } from '../support/redis';

const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

/** Build and send the canvas with Celery's client, wait for it, print one JSON line. */
const CLIENT = `
import json, sys
sys.path.insert(0, sys.argv[1])
from celery import chain
from celery_app.app import make_app
app = make_app('canvas_client')
s = app.signature
out = {}
c = chain(s('tasks.add', args=(1, 2), queue='py'), s('ts.double', queue='ts'),
          s('tasks.mul', args=(10,), queue='py'), s('ts.inc', queue='ts')).apply_async()
out['chain'] = c.get(timeout=30)
ids, p = [], c
while p is not None:
    ids.append(p.id)
    p = p.parent
out['chain_ids'] = ids
ok = s('ts.double', args=(21,), queue='ts').apply_async(link=s('tasks.mul', args=(10,), queue='py', task_id='cb-' + sys.argv[2]))
out['linked'] = [ok.get(timeout=30), app.AsyncResult('cb-' + sys.argv[2]).get(timeout=30)]
bad = s('ts.fail', args=('no',), queue='ts').apply_async(link_error=s('tasks.echo', args=('err',), queue='py', task_id='eb-' + sys.argv[2]))
out['errback'] = [bad.id, app.AsyncResult('eb-' + sys.argv[2]).get(timeout=30)]
print(json.dumps(out))
`;

function runClient(brokerUrl: string, tag: string): Promise<Record<string, unknown>> {
  return new Promise((ok, fail) => {
    execFile(PYTHON, ['-c', CLIENT, resolve(__dirname), tag], {
      timeout: 120_000, env: { ...process.env, RADISH_TEST_BROKER: brokerUrl, PYTHONIOENCODING: 'utf-8' },
    }, (err, stdout, stderr) => {
      if (err) fail(new Error(`celery client failed: ${err.message}\n${stderr}`));
      else ok(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>);
    });
  });
}

describe('interop: canvas (chain, link, link_error) across Celery and Radish workers', function () {
  this.timeout(120_000);
  let server: TestRedis;
  let app: Radish;
  let radish: Worker;
  const log: string[] = [];

  before(async function () {
    requireCelery(this);
    server = await startRedis();
    app = new Radish({ broker: server.url });
    app.task('ts.double', (x: number) => x * 2);
    app.task('ts.inc', (x: number) => x + 1);
    app.task('ts.fail', (msg: string) => { throw new Error(msg); });
    radish = new Worker(app, { queues: ['ts'], concurrency: 1, hostname: 'radish@canvas', logger: createLogger('info', (l) => log.push(l)) });
    await Promise.all([startCeleryWorker(server.url, { queues: ['py'], concurrency: 1, pool: 'solo' }), radish.start()]);
  });

  after(async () => {
    await stopAllCeleryWorkers();
    await radish?.stop({ cold: true });
    await app?.close();
    await server?.stop();
  });

  it('runs a Python-sent chain through both workers, and fires links and errbacks both ways', async () => {
    const out = await runClient(server.url, 'x1');
    // ((1 + 2) * 2) * 10 + 1: Python, TypeScript, Python, TypeScript.
    assert.equal(out.chain, 61, log.join('\n'));
    assert.equal((out.chain_ids as string[]).length, 4, 'each result names its parent, back to the head');
    assert.deepEqual(out.linked, [42, 420], 'a Radish task called its Python link with its result');
    const [failedId, echoed] = out.errback as [string, unknown];
    assert.deepEqual(echoed, { args: [failedId, 'err'], kwargs: {} }, 'a Radish failure called its Python errback with the task id');
  });
});
