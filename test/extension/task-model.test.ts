/**
 * The task view's content (extension/taskView/model.ts), from real inputs: a Celery 5.2.6 FAILURE result with its
 * traceback, and the history record and dead-letter record a Radish worker leaves for a failed task.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger, Inspector, Monitor, Radish, Worker, type ResultMeta } from '../../runner/index';
import { buildModel, traceLines, type TaskSources } from '../../extension/taskView/model';
import { parseCeleryDate } from '../../runner/protocol/time';
import { startRedis, type TestRedis } from '../support/redis';
import { until } from '../support/wait';

const ROOT = resolve(__dirname, '../..');
const celeryFailure = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/results/extended/failure_valueerror.1.FAILURE.json'), 'utf8')) as ResultMeta;

const base = (over: Partial<TaskSources>): TaskSources => ({
  id: 'x', record: null, meta: null, children: [], retriedAs: [], call: { problem: 'not in the history' },
  isUserFile: () => false, parseDate: (t) => (parseCeleryDate(t)?.getTime() ?? 0) / 1000, ...over,
});

describe('the task view model', () => {
  it("folds Celery's own frames and links the user's, with the source line under its frame", () => {
    const lines = traceLines(celeryFailure.traceback!, (f) => f.startsWith('/srv/celery-peer/'));
    const user = lines.filter((l) => l.kind === 'user');
    assert.deepEqual(user.map((l) => [l.file, l.line]), [['/srv/celery-peer/proj/tasks.py', 29]]);
    const userAt = lines.indexOf(user[0]!);
    assert.deepEqual(lines[userAt + 1], { text: '    raise ValueError(msg)', kind: 'text' });
    // Both celery/app/trace.py frames, with their source and caret lines, fold away.
    assert.equal(lines.filter((l) => l.kind === 'runner').length, 6);
    assert.deepEqual(lines.filter((l) => l.kind === 'text').map((l) => l.text), ['Traceback (most recent call last):', '    raise ValueError(msg)', 'ValueError: kaboom']);
  });

  it('shows a Celery failure from its stored result alone: state, exception, args, the time it was stored', () => {
    const model = buildModel(base({ id: celeryFailure.task_id, meta: celeryFailure }));
    assert.equal(model.name, 'tasks.fail');
    assert.equal(model.state, 'FAILURE');
    assert.equal(model.exception?.summary, 'ValueError: kaboom');
    assert.deepEqual(model.args, { json: ['kaboom'], source: 'the stored result' });
    assert.equal(model.queue, 'celery');
    assert.equal(model.worker, 'w1@vm');
    assert.deepEqual(model.timeline.map((t) => [t.type, t.label, t.time]), [['stored', 'FAILURE stored by w1@vm', Date.parse('2026-11-24T06:41:48.632Z') / 1000]]);
    assert.equal(model.live, false);
    assert.equal(model.cannot.revoke, 'it has ended (FAILURE)');
    assert.equal(model.cannot.retry, 'not in the history');
  });

  it("reads a 5.6 result's date_done with its offset", () => {
    const model = buildModel(base({ meta: { ...celeryFailure, date_done: '2026-11-24T06:41:48.632197+00:00' } }));
    assert.equal(model.timeline[0]?.time, Date.parse('2026-11-24T06:41:48.632Z') / 1000);
  });

  describe('a Radish failure, as a worker leaves it', () => {
    let redis: TestRedis;
    let app: Radish;
    before(async () => {
      redis = await startRedis();
      app = new Radish({ broker: redis.url });
    });
    after(async () => {
      await app.close();
      await redis.stop();
    });

    it('orders the events and the dead-letter record on one timeline, with the time between steps', async () => {
      app.task('tasks.div', (a: number, b: number) => {
        if (b === 0) throw new RangeError('division by zero');
        return a / b;
      });
      const worker = new Worker(app, { logger: createLogger('error', () => undefined), events: true });
      const monitor = Monitor.forApp(app);
      await monitor.start();
      await worker.start();
      try {
        const sent = await app.send('tasks.div', [1, 0]);
        await assert.rejects(sent.get({ timeout: 5000 }));
        const inspector = new Inspector(app);
        await until(async () => (await inspector.deadLetterCount()) > 0 && (await monitor.history.get(sent.id))?.state === 'FAILURE', 'the failure recorded');
        const [letter] = await inspector.deadLetters();
        const record = await monitor.history.get(sent.id);
        const model = buildModel(base({ id: sent.id, record, meta: await inspector.result(sent.id), letter: letter!, call: await inspector.callOf(record!), isUserFile: () => true }));
        assert.equal(model.state, 'FAILURE');
        assert.equal(model.deadLettered, true);
        assert.deepEqual(model.timeline.map((t) => t.type).sort(), ['dead-lettered', 'task-failed', 'task-received', 'task-started']);
        assert.ok(model.timeline.every((t, i) => i === 0 ? t.since === undefined : t.since! >= 0), 'each step says how long after the one before');
        assert.equal(model.exception?.summary, 'RangeError: division by zero');
        assert.ok(model.exception!.trace.some((l) => l.kind === 'user' && l.file?.endsWith('task-model.test.ts')), 'the frame in this file is a link');
        assert.notEqual(model.exception!.trace[0]?.text.trim(), 'RangeError: division by zero', 'the summary is not said twice');
        assert.deepEqual(model.editable, { args: '[1,0]', kwargs: '{}' });
        assert.equal(model.cannot.retry, undefined);
      } finally {
        await worker.stop();
        await monitor.close();
      }
    });
  });
});
