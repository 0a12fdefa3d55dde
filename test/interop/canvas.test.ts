/**
 * Canvas across languages: Celery 5.2.6's own client sends a chain, a link and a link_error mixing Python tasks
 * (a real Celery worker on queue `py`) and TypeScript tasks (a Radish worker on queue `ts`); each worker publishes
 * the next step for the other, and Python reads the end result. Then chords and groups both ways: Python's chord
 * over TypeScript tasks, Radish's chord over Python tasks, chords whose headers mix both, and groups saved by one
 * side and read back by the other.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import type { TaskFailedError } from '../../runner/protocol/result';
import { until } from '../support/wait';
import { requireCelery, startCeleryWorker, stopAllCeleryWorkers } from '../support/celery';
import { redisHarness } from '../support/redis';

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

/**
 * Celery's client with chords and groups; prints one JSON line. Modes:
 *   chords           a chord of TS tasks with a Python callback, one with a failing TS member, mixed headers
 *   restore GID      GroupResult.restore(GID).get(): a group a Radish client saved
 *   group            send a group of Python and TS tasks, save it, print its id and ids
 */
const CHORDS = `
import json, sys
sys.path.insert(0, sys.argv[1])
from celery import chord, group
from celery.result import GroupResult
from celery_app.app import make_app
app = make_app('chord_client')
s = app.signature
mode = sys.argv[2]
out = {}
def failure(task_id):
    e = app.AsyncResult(task_id).get(timeout=30, propagate=False)
    return {'type': type(e).__name__, 'module': type(e).__module__, 'message': str(e)}
if mode == 'chords':
    res = chord([s('ts.double', args=(i,), queue='ts') for i in range(5)])(s('tasks.collect', kwargs={'tag': 'py'}, queue='py'))
    out['ts_header'] = res.get(timeout=30)
    out['ts_header_ids'] = [r.id for r in res.parent.results]
    bad = chord([s('ts.double', args=(1,), queue='ts'), s('ts.fail', args=('no',), queue='ts')])(s('tasks.collect', queue='py'))
    out['ts_failed'] = failure(bad.id)
    out['ts_failed_member'] = bad.parent.results[1].id
    mixed = [s('tasks.add', args=(1, 1), queue='py'), s('ts.double', args=(2,), queue='ts'),
             s('tasks.mul', args=(3, 3), queue='py'), s('ts.inc', args=(4,), queue='ts')]
    out['mixed_py_callback'] = chord(mixed)(s('tasks.collect', queue='py')).get(timeout=30)
    out['mixed_ts_callback'] = chord([m.clone() for m in mixed])(s('ts.collect', args=('ts',), queue='ts')).get(timeout=30)
elif mode == 'restore':
    g = GroupResult.restore(sys.argv[3], app=app)
    out['ids'] = [r.id for r in g.results]
    out['results'] = g.get(timeout=30)
elif mode == 'group':
    g = group(s('tasks.add', args=(2, 3), queue='py'), s('ts.double', args=(21,), queue='ts')).apply_async()
    g.save()
    out['id'] = g.id
    out['ids'] = [r.id for r in g.results]
print(json.dumps(out))
`;

function runPython(script: string, brokerUrl: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((ok, fail) => {
    execFile(PYTHON, ['-c', script, resolve(__dirname), ...args], {
      timeout: 120_000, env: { ...process.env, RADISH_TEST_BROKER: brokerUrl, PYTHONIOENCODING: 'utf-8' },
    }, (err, stdout, stderr) => {
      if (err) fail(new Error(`celery client failed: ${err.message}\n${stderr}`));
      else ok(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>);
    });
  });
}

const runClient = (brokerUrl: string, tag: string): Promise<Record<string, unknown>> => runPython(CLIENT, brokerUrl, [tag]);

describe('interop: canvas (chain, link, link_error) across Celery and Radish workers', function () {
  this.timeout(120_000);
  let app: Radish;
  let radish: Worker;
  const log: string[] = [];
  const recorded: unknown[][] = [];

  before(function () {
    requireCelery(this);
  });
  // Above the harness: mocha runs `after` hooks in the order they are defined, and these need Redis up.
  after(async () => {
    await stopAllCeleryWorkers();
    await radish?.stop({ cold: true });
    await app?.close();
  });
  // No flush between tests: the workers started once for them all keep their bindings.
  const h = redisHarness({ flush: false });
  before(async () => {
    // Routes, so that signatures this app sends without a queue go to the worker that has the task.
    app = new Radish({ broker: h.server.url, routes: { 'ts.*': 'ts', 'tasks.*': 'py' } });
    app.task('ts.double', (x: number) => x * 2);
    app.task('ts.inc', (x: number) => x + 1);
    app.task('ts.fail', (msg: string) => { throw new Error(msg); });
    app.task('ts.collect', (results: unknown[], tag: string | null = null) => ({ results, tag, by: 'radish' }));
    app.task('ts.record', (...args: unknown[]) => { recorded.push(args); return args; });
    radish = new Worker(app, { queues: ['ts'], concurrency: 1, hostname: 'radish@canvas', logger: createLogger('info', (l) => log.push(l)) });
    await Promise.all([startCeleryWorker(h.server.url, { queues: ['py'], concurrency: 1, pool: 'solo' }), radish.start()]);
  });

  it('runs a Python-sent chain through both workers, and fires links and errbacks both ways', async () => {
    const out = await runClient(h.server.url, 'x1');
    // ((1 + 2) * 2) * 10 + 1: Python, TypeScript, Python, TypeScript.
    assert.equal(out.chain, 61, log.join('\n'));
    assert.equal((out.chain_ids as string[]).length, 4, 'each result names its parent, back to the head');
    assert.deepEqual(out.linked, [42, 420], 'a Radish task called its Python link with its result');
    const [failedId, echoed] = out.errback as [string, unknown];
    assert.deepEqual(echoed, { args: [failedId, 'err'], kwargs: {} }, 'a Radish failure called its Python errback with the task id');
  });

  it("runs Celery's chords over TypeScript tasks, and fails one as Celery does when a TypeScript member fails", async () => {
    const out = await runPython(CHORDS, h.server.url, ['chords']);
    // The Radish worker that ran the last TypeScript member sent the Python callback every result, in header order.
    assert.deepEqual(out.ts_header, { results: [0, 2, 4, 6, 8], tag: 'py', by: 'celery' }, log.join('\n'));
    assert.deepEqual(out.ts_failed, {
      type: 'ChordError', module: 'celery.exceptions', message: `Dependency ${String(out.ts_failed_member)} raised Error('no')`,
    }, 'Python reads the ChordError a Radish worker stored, as its own');
    // Mixed headers: whichever worker ends the last member sends the callback, Python's or TypeScript's.
    assert.deepEqual(out.mixed_py_callback, { results: [2, 4, 9, 5], tag: null, by: 'celery' });
    assert.deepEqual(out.mixed_ts_callback, { results: [2, 4, 9, 5], tag: 'ts', by: 'radish' });
  });

  it('runs a Radish chord over Python tasks with a TypeScript callback, and a failing one as Celery does', async () => {
    const header = [[1, 2], [3, 4], [5, 6]].map((args) => app.signature('tasks.add', args));
    // No queue: the app's routes send the members to `py` and freeze `ts` into the callback for the Python worker.
    const ok = await app.chord(header, app.signature('ts.collect', ['sum']));
    assert.deepEqual(await ok.get({ timeout: 30_000 }), { results: [3, 7, 11], tag: 'sum', by: 'radish' }, log.join('\n'));
    const callback = app.signature('ts.collect', [], {}, { linkError: app.signature('ts.record', ['errback'], {}, { queue: 'ts' }) });
    const bad = await app.chord([app.signature('tasks.add', [1, 1]), app.signature('tasks.fail', ['no'])], callback);
    const err = await bad.get({ timeout: 30_000 }).then(() => assert.fail('the callback must fail'), (e: TaskFailedError) => e);
    assert.equal(err.excType, 'ChordError');
    assert.equal(err.message, `Dependency ${bad.parent!.ids[1]} raised ValueError('no')`, 'stored by the Celery worker');
    await until(() => recorded.length > 0, 'the errback, applied by the Celery worker', 30_000);
    assert.deepEqual(recorded, [[bad.id, 'errback']]);
  });

  it('runs Radish chords whose headers mix Python and TypeScript tasks, with either callback', async () => {
    const header = () => [app.signature('tasks.add', [1, 1]), app.signature('ts.double', [2]), app.signature('tasks.mul', [3, 3]), app.signature('ts.inc', [4])];
    const ts = await app.chord(header(), app.signature('ts.collect', ['ts']));
    const py = await app.chord(header(), app.signature('tasks.collect', [], { tag: 'py' }));
    assert.deepEqual(await ts.get({ timeout: 30_000 }), { results: [2, 4, 9, 5], tag: 'ts', by: 'radish' }, log.join('\n'));
    assert.deepEqual(await py.get({ timeout: 30_000 }), { results: [2, 4, 9, 5], tag: 'py', by: 'celery' });
    // Deleted by the worker that sent the callback, just after sending it.
    await until(async () => (await chordKeys(ts.parent!.id, py.parent!.id)).length === 0, 'both chords to delete their keys', 10_000);
  });

  it('sends a group of Python and TypeScript tasks from Radish, read back here and by Python; and reads one Python saved', async () => {
    const group = await app.group([app.signature('tasks.add', [2, 3]), app.signature('ts.double', [21]), app.signature('tasks.mul', [4, 5])]);
    assert.deepEqual(await group.get({ timeout: 30_000 }), [5, 42, 20]);
    await group.save();
    const restored = await runPython(CHORDS, h.server.url, ['restore', group.id]);
    assert.deepEqual(restored, { ids: group.ids, results: [5, 42, 20] }, "Python's GroupResult.restore() of a group Radish saved");
    const sent = await runPython(CHORDS, h.server.url, ['group']) as { id: string; ids: string[] };
    const theirs = await app.restoreGroup(sent.id);
    assert.deepEqual(theirs?.ids, sent.ids);
    assert.deepEqual(await theirs?.get({ timeout: 30_000 }), [5, 42]);
  });

  /** The chord keys (`.j`, `.t`, `.s`) left of these groups. */
  async function chordKeys(...groupIds: string[]): Promise<string[]> {
    const redis = (await app.backend()).redis!;
    return (await Promise.all(groupIds.map((gid) => redis.keys(`celery-taskset-meta-${gid}.*`)))).flat();
  }
});
