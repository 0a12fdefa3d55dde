/**
 * Canvas nested as Python projects nest it, sent by Celery 5.2.6's own client (test/interop/canvas_scenarios.py):
 * chains whose next step is a group, a chord or another chain; groups and chords inside chord headers; the
 * parent_id/root_id every child carries; errors through chords and chains; several links and errbacks; exceptions
 * with several arguments. Each scenario runs once on TypeScript tasks served by a Radish worker and once on their
 * Python twins served by a real Celery worker, and must give the same outcome (and the value Celery's canvas
 * gives). The `mixed_*` scenarios run one canvas across both workers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Radish } from '../../runner/app';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { requireCelery, startCeleryWorker, stopAllCeleryWorkers } from '../support/celery';
import { redisHarness } from '../support/redis';

const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

/** Python's `ExpectedException(*args)`: rebuilt by Python as celery_app.tasks.ExpectedException, args apart. */
class ExpectedException extends Error {
  override readonly name = 'ExpectedException';
  readonly excModule = 'celery_app.tasks';
  readonly args: unknown[];
  constructor(...args: unknown[]) {
    super(args.map(String).join(', '));
    this.args = args;
  }
}

function scenarios(brokerUrl: string, prefix: string, names: string[] = []): Promise<Record<string, unknown>> {
  return new Promise((ok, fail) => {
    execFile(PYTHON, [resolve(__dirname, 'canvas_scenarios.py'), prefix, ...names], {
      cwd: __dirname, timeout: 300_000, maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, RADISH_TEST_BROKER: brokerUrl, PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1' },
    }, (err, stdout, stderr) => {
      if (err) return fail(new Error(`canvas_scenarios.py ${prefix} failed: ${err.message}\n${stderr}`));
      for (const line of stderr.split('\n')) if (line.startsWith('canvas_scenarios:')) console.log(`      ${line}`);
      ok(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>);
    });
  });
}

/** What Celery's canvas gives for each scenario (checked on the Celery worker too). */
const EXPECTED: Record<string, unknown> = {
  chain_to_group: [4, 5],
  chain_to_chord: 9,
  group_of_chains_gets_the_result: [14, 14],
  chain_of_chords: 42,
  chord_then_group_then_task: 15,
  // Celery flattens a nested group where it stands, its members reversed (its deque's extendleft).
  group_nested_in_chord_header: { results: [4, 2, 6], tag: null },
  chain_in_chord_header: { results: [3, 10], tag: null },
  chain_ending_in_group_in_chord_header: { results: [[3, 4], 10], tag: null },
  chord_nested_in_chord_header: { results: [6, 10], tag: null },
  nested_chain_group_chord: { results: [101, [1001, 2001]], tag: null },
  parent_ids_in_a_group: [[true, true, 0], [true, true, 1], [true, true, 2]],
  parent_ids_in_a_chord: { header: [[true, true, 0], [true, true, 1], [true, true, 2]], callback: [true, true, 3] },
  chord_member_fails: {
    callback: { type: 'ChordError', module: 'celery.exceptions', args: ["Dependency <member> raised ExpectedException('member failed', 'x')"] },
    errback_got_callback_id: true,
  },
  chain_failure_fails_what_follows: { type: 'ExpectedException', module: 'celery_app.tasks', args: ['2', 'broke', 'the chain'] },
  chain_failure_fails_the_chord_after_it: { type: 'ExpectedException', module: 'celery_app.tasks', args: ['broke', 'before the chord'] },
  exception_with_arguments: {
    type: 'ExpectedException', module: 'celery_app.tasks', args: ['Task expected to fail', 'test'],
    repr: "ExpectedException('Task expected to fail', 'test')",
  },
  errbacks_get_the_failed_id: [true, true],
  several_links_get_the_result: [5, 6],
  mixed_chain_group_chord: [10, 11],
  mixed_nested_chord_header: { results: [[3, 4], 10], tag: null },
};

describe('interop: nested canvas from Celery\'s client, on a Radish worker as on a Celery worker', function () {
  this.timeout(600_000);
  let app: Radish;
  let radish: Worker;
  const log: string[] = [];
  let onRadish: Record<string, unknown>;
  let onCelery: Record<string, unknown>;

  before(function () {
    requireCelery(this);
  });
  after(async () => {
    await stopAllCeleryWorkers();
    await radish?.stop({ cold: true });
    await app?.close();
  });
  const h = redisHarness({ flush: false });
  before(async () => {
    app = new Radish({ broker: h.server.url, routes: { 'ts.*': 'ts', 'tasks.*': 'py' } });
    app.task('ts.add', (x: number, y: number) => x + y);
    app.task('ts.xsum', (numbers: number[]) => numbers.reduce((a, b) => a + b, 0));
    app.task('ts.collect', (results: unknown[], tag: string | null = null) => ({ results, tag, by: 'radish' }));
    app.task('ts.seen', (taskId: string) => taskId);
    app.task('ts.fail_args', (...args: unknown[]) => { throw new ExpectedException(...args); });
    app.task('ts.ids', { bind: true }, (task, i: number) => [task.request.rootId, task.request.parentId, i]);
    app.task('ts.collect_ids', { bind: true }, (task, results: unknown, i: number) => [results, [task.request.rootId, task.request.parentId, i]]);
    radish = new Worker(app, { queues: ['ts'], concurrency: 4, hostname: 'radish@nested', logger: createLogger('info', (l) => log.push(l)) });
    await Promise.all([startCeleryWorker(h.server.url, { queues: ['py'], concurrency: 4, pool: 'prefork' }), radish.start()]);
    const all = Object.keys(EXPECTED).filter((n) => !n.startsWith('mixed_'));
    [onRadish, onCelery] = await Promise.all([scenarios(h.server.url, 'ts'), scenarios(h.server.url, 'tasks', all)]);
    // Celery 5.2.6's own join of a saved chord header races: now and then it reads a member that has ended as None
    // (chain_ending_in_group_in_chord_header gave [[3, 4], None] in 1 run of 3 here). A scenario whose Celery outcome
    // is not Celery's documented value is run on Celery again (twice at most), said in the output, and compared
    // with the first outcome that is; Radish's outcome is taken from its one run, with no second chance.
    for (const name of all) {
      for (let again = 1; again <= 2 && !isDeepStrictEqual(onCelery[name], EXPECTED[name]); again++) {
        console.log(`      Celery 5.2.6 gave ${JSON.stringify(onCelery[name])} for ${name}; running it on Celery again (${again} of 2)`);
        onCelery[name] = (await scenarios(h.server.url, 'tasks', [name]))[name];
      }
    }
  });

  for (const name of Object.keys(EXPECTED)) {
    it(`${name.replace(/_/g, ' ')}`, () => {
      const got = onRadish[name];
      assert.deepEqual(got, EXPECTED[name], `on Radish: ${JSON.stringify(got, null, 1)}\nRadish worker log (last 40 lines):\n${log.slice(-40).join('\n')}`);
      if (!name.startsWith('mixed_')) assert.deepEqual(onCelery[name], got, 'the same on a Celery worker');
    });
  }
});
