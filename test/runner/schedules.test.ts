/**
 * `radish beat`'s schedules seen from outside (runner/beat/schedules.ts) on a private redis-server: published by
 * the active scheduler, listed with next and last run, paused for every scheduler (the active one, a standby that
 * takes over, one started later), resumed from the resume time, sent now without moving the last run; and
 * `radish schedules` on the command line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { Beat, type SentTick } from '../../runner/beat/beat';
import { listSchedules, pauseSchedule, resumeSchedule, runScheduleNow, UnknownScheduleError, type ScheduleState } from '../../runner/beat/schedules';
import { Keys } from '../../runner/broker/keys';
import { scripts } from '../../runner/broker/scripts';
import { createLogger } from '../../runner/log';
import { decodeTaskMessage } from '../../runner/protocol/message';
import { Worker } from '../../runner/worker/worker';
import { redisHarness } from '../support/redis';
import { delay, until } from '../support/wait';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const quiet = createLogger('critical');
const CLI = resolve(__dirname, '../../dist/radish.js');
const T0 = t('2026-03-01T12:00:00.000Z');

interface Run { code: number | null; stdout: string; stderr: string }

function radish(args: string[]): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('beat schedules seen from outside (redis)', function () {
  this.timeout(30_000);
  const h = redisHarness();
  const keys = new Keys();
  const apps: Radish[] = [];
  const beats: Beat[] = [];
  const workers: Worker[] = [];
  let now = T0;

  function makeApp(): Radish {
    const app = new Radish({ broker: h.server.url, routes: { 'tasks.*': 'periodic' } });
    app.schedule('tick', { task: 'tasks.tick', every: 10, args: [1], kwargs: { unit: 'kg' }, options: { priority: 3, expires: 60 } });
    app.schedule('nightly', { task: 'reports.nightly', cron: '30 2 * * *' });
    apps.push(app);
    return app;
  }
  function makeBeat(sent: SentTick[]): Beat {
    const b = new Beat(makeApp(), { logger: quiet, lockTimeout: 1_000, maxInterval: 50, now: () => now, onSent: (s) => sent.push(s) });
    beats.push(b);
    return b;
  }
  /** A client app (no schedules of its own): what the extension and the CLI use. */
  function client(): Radish {
    const app = new Radish({ broker: h.server.url });
    apps.push(app);
    return app;
  }
  async function tickState(app: Radish): Promise<ScheduleState> {
    const found = (await listSchedules(app, now)).schedules.find((s) => s.name === 'tick');
    assert.ok(found, 'the tick schedule is listed');
    return found;
  }
  async function queued(): Promise<string[]> {
    // Priority 3: its messages are in the queue's priority-3 list.
    return (await h.redis.lrange(keys.queue('periodic', 3), 0, -1)).reverse().map((m) => decodeTaskMessage(m).id);
  }

  beforeEach(() => { now = T0; });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await Promise.all(beats.splice(0).map((b) => b.stop()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('the active scheduler publishes its schedules (resolved queue, args, timing); list shows next and last run', async () => {
    const a = makeBeat([]);
    const b = makeBeat([]);
    await a.tick();
    await b.tick();
    assert.deepEqual([a.active, b.active], [true, false]);
    const listing = await listSchedules(client(), now);
    assert.equal(listing.activeBeat, a.token.replace(/:[^:]*$/, ''));
    assert.deepEqual(listing.schedules.map((s) => s.name), ['nightly', 'tick']);
    const [nightly, tick] = listing.schedules as [ScheduleState, ScheduleState];
    assert.deepEqual(
      { task: tick.task, args: tick.args, kwargs: tick.kwargs, queue: tick.queue, priority: tick.priority, every: tick.every, cron: tick.cron, options: tick.options },
      { task: 'tasks.tick', args: [1], kwargs: { unit: 'kg' }, queue: 'periodic', priority: 3, every: 10, cron: undefined, options: { expires: 60 } },
    );
    assert.deepEqual([tick.lastRun, iso(tick.nextRun), tick.pausedAt], [undefined, '2026-03-01T12:00:10.000Z', undefined], 'not run yet');
    assert.deepEqual([nightly.cron, nightly.queue, iso(nightly.nextRun)], ['30 2 * * *', 'celery', '2026-03-02T02:30:00.000Z']);
    // A later tick moves last and next run.
    now += 10_000;
    await a.tick();
    const moved = await tickState(client());
    assert.deepEqual([iso(moved.lastRun), iso(moved.nextRun)], ['2026-03-01T12:00:10.000Z', '2026-03-01T12:00:20.000Z']);
  });

  it('a schedule no longer declared leaves the list when the next active scheduler publishes', async () => {
    await makeBeat([]).tick();
    const other = new Radish({ broker: h.server.url });
    apps.push(other);
    other.schedule('tick', { task: 'tasks.tick', every: 10 });
    await beats[0]!.stop();
    const b = new Beat(other, { logger: quiet, lockTimeout: 1_000, now: () => now });
    beats.push(b);
    await b.tick();
    assert.deepEqual((await listSchedules(client(), now)).schedules.map((s) => s.name), ['tick']);
  });

  it('pause binds the active scheduler, a standby that takes over and one started later; resume counts from the resume time', async () => {
    const sent: SentTick[] = [];
    const a = makeBeat(sent);
    const b = makeBeat(sent);
    await a.tick();
    await b.tick();
    now = T0 + 10_000;
    await a.tick();
    assert.deepEqual(sent.map((s) => iso(s.due)), ['2026-03-01T12:00:10.000Z'], 'one tick before the pause');
    const c = client();
    assert.equal(await pauseSchedule(c, 'tick', now + 1), true);
    assert.equal(await pauseSchedule(c, 'tick', now + 2), false, 'paused already');
    const paused = await tickState(c);
    assert.deepEqual([iso(paused.pausedAt), paused.nextRun], [iso(T0 + 10_001), undefined]);

    now += 10_000;
    await a.tick();
    assert.equal(sent.length, 1, 'the active scheduler skips the paused tick');
    // The active one stops: the standby takes over and skips it too.
    await a.stop();
    now += 10_000;
    await b.tick();
    assert.ok(b.active);
    assert.equal(sent.length, 1, 'the standby that took over skips it');
    // A scheduler started later (the others gone) skips it as well.
    await b.stop();
    const later = makeBeat(sent);
    now += 10_000;
    await later.tick();
    assert.ok(later.active);
    assert.equal(sent.length, 1, 'a scheduler started later skips it');
    assert.deepEqual(await queued(), [sent[0]!.taskId]);
    assert.equal(iso((await tickState(c)).lastRun), '2026-03-01T12:00:10.000Z', 'skipped ticks do not move the last run');

    // Resumed at T0+45s: the ticks missed meanwhile are not sent; the next is one interval after the resume.
    now = T0 + 45_000;
    assert.equal(await resumeSchedule(c, 'tick', now), true);
    assert.equal(await resumeSchedule(c, 'tick', now), false, 'not paused any more');
    const resumed = await tickState(c);
    assert.deepEqual([iso(resumed.lastRun), iso(resumed.nextRun)], ['2026-03-01T12:00:10.000Z', '2026-03-01T12:00:55.000Z']);
    await later.tick();
    assert.equal(sent.length, 1, 'nothing is sent at the resume');
    now = T0 + 54_999;
    await later.tick();
    assert.equal(sent.length, 1);
    now = T0 + 55_000;
    await later.tick();
    await later.tick();
    assert.deepEqual(sent.map((s) => iso(s.due)), ['2026-03-01T12:00:10.000Z', '2026-03-01T12:00:55.000Z']);
    assert.deepEqual(await queued(), sent.map((s) => s.taskId));
    const after = await tickState(c);
    assert.deepEqual([iso(after.lastRun), iso(after.nextRun)], ['2026-03-01T12:00:55.000Z', '2026-03-01T12:01:05.000Z']);
  });

  it('a schedule that never ran has no last run, paused and resumed too; its first tick is one interval after the resume', async () => {
    const sent: SentTick[] = [];
    const a = makeBeat(sent);
    await a.tick();
    const c = client();
    assert.deepEqual([(await tickState(c)).lastRun, iso((await tickState(c)).nextRun)], [undefined, '2026-03-01T12:00:10.000Z']);
    await pauseSchedule(c, 'tick', now);
    now = T0 + 35_000;
    await a.tick();
    await resumeSchedule(c, 'tick', now);
    assert.deepEqual([(await tickState(c)).lastRun, iso((await tickState(c)).nextRun)], [undefined, '2026-03-01T12:00:45.000Z']);
    now = T0 + 44_999;
    await a.tick();
    assert.equal(sent.length, 0);
    now = T0 + 45_000;
    await a.tick();
    assert.deepEqual(sent.map((s) => iso(s.due)), ['2026-03-01T12:00:45.000Z']);
    assert.equal(iso((await tickState(c)).lastRun), '2026-03-01T12:00:45.000Z');
  });

  it('the claim refuses a paused schedule even when the scheduler read it unpaused', async () => {
    await h.redis.hset(keys.beatLastRun, 'tick', '1000');
    await h.redis.hset(keys.beatPaused, 'tick', '1500');
    const run = () => scripts.beatClaim.run<number>(h.redis, [keys.beatLastRun, keys.beatPaused, keys.beatAnchor], ['tick', '1000', 2000, '0']);
    assert.equal(await run(), -1);
    assert.equal(await h.redis.hget(keys.beatLastRun, 'tick'), '1000');
    await h.redis.hdel(keys.beatPaused, 'tick');
    assert.equal(await run(), 1);
    assert.equal(await h.redis.hget(keys.beatLastRun, 'tick'), '2000');
  });

  it('run now sends the task with its args, kwargs and queue (a worker runs it) and leaves the last run where it was', async () => {
    const beat = makeBeat([]);
    await beat.tick();
    now += 10_000;
    await beat.tick();
    const before = await tickState(client());
    const workerApp = new Radish({ broker: h.server.url });
    apps.push(workerApp);
    workerApp.task('tasks.tick', (n: number, unit: string) => `${n} ${unit}`);
    const w = new Worker(workerApp, { queues: ['periodic'], logger: quiet });
    workers.push(w);
    await w.start();
    const c = client();
    const sent = await runScheduleNow(c, 'tick');
    assert.deepEqual([sent.task, sent.queue], ['tasks.tick', 'periodic']);
    assert.equal(await (await c.asyncResult(sent.id)).get({ timeout: 10_000 }), '1 kg');
    const after = await tickState(c);
    assert.deepEqual([iso(after.lastRun), iso(after.nextRun)], ['2026-03-01T12:00:10.000Z', '2026-03-01T12:00:20.000Z']);
    assert.deepEqual([after.lastRun, after.nextRun], [before.lastRun, before.nextRun]);
    await assert.rejects(runScheduleNow(c, 'nope'), (err: unknown) => err instanceof UnknownScheduleError && /published: nightly, tick/.test(err.message));
    await assert.rejects(pauseSchedule(c, 'nope'), UnknownScheduleError);
  });

  it('radish schedules list | pause | resume | run', async () => {
    // A lock that outlives the CLI's start-up: the listing names the active beat.
    const active = new Beat(makeApp(), { logger: quiet, lockTimeout: 60_000, now: () => now });
    beats.push(active);
    await active.tick();
    const url = h.server.url;
    assert.match((await radish(['--help'])).stdout, /^ {2}schedules list \[--json\] \| pause NAME \| resume NAME \| run NAME$/m);
    const listed = await radish(['schedules', 'list', '--broker', url]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^tick {2}tasks\.tick {2}every 10 s {2}next 2026-03-01 12:00:10 {2}last - {2}queue periodic$/m);
    assert.match(listed.stdout, /^nightly {2}reports\.nightly {2}cron 30 2 \* \* \* \(UTC\) {2}next 2026-03-02 02:30:00/m);
    assert.match(listed.stdout, /2 schedule\(s\); active beat: /);

    const paused = await radish(['schedules', 'pause', 'tick', '--broker', url]);
    assert.deepEqual([paused.code, paused.stdout], [0, 'Paused tick: every radish beat skips its ticks until it is resumed.\n']);
    assert.ok(await h.redis.hexists(keys.beatPaused, 'tick'));
    const json = await radish(['schedules', 'list', '--json', '--broker', url]);
    const listing = JSON.parse(json.stdout) as { schedules: ScheduleState[] };
    assert.equal(typeof listing.schedules.find((s) => s.name === 'tick')?.pausedAt, 'number');

    const resumed = await radish(['schedules', 'resume', 'tick', '--broker', url]);
    assert.deepEqual([resumed.code, resumed.stdout], [0, 'Resumed tick: its next tick is counted from now.\n']);
    assert.equal(await h.redis.hexists(keys.beatPaused, 'tick'), 0);

    const run = await radish(['schedules', 'run', 'tick', '--broker', url]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await queued(), [run.stdout.trim()]);

    const unknown = await radish(['schedules', 'pause', 'nope', '--broker', url]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no schedule named "nope" was published by radish beat \(published: nightly, tick\)/);
    const usage = await radish(['schedules', 'pause', '--broker', url]);
    assert.deepEqual([usage.code, usage.stderr], [2, 'radish: error: schedules pause needs a schedule name (radish schedules list shows them)\n']);
  });

  it('a real radish beat publishes on start and honours a pause made while it runs, and logs it', async () => {
    const app = makeApp();
    const sent: SentTick[] = [];
    const lines: string[] = [];
    app.schedule('fast', { task: 'tasks.fast', every: 0.2 });
    const b = new Beat(app, { logger: createLogger('info', (l) => lines.push(l)), maxInterval: 50, onSent: (s) => sent.push(s) });
    beats.push(b);
    await b.start();
    const c = client();
    let listing = await listSchedules(c);
    for (let i = 0; i < 40 && !listing.schedules.some((s) => s.name === 'fast'); i++) {
      await delay(50);
      listing = await listSchedules(c);
    }
    assert.ok(listing.schedules.some((s) => s.name === 'fast'), 'published on start');
    await pauseSchedule(c, 'fast');
    await until(() => lines.some((l) => l.includes('Scheduler: fast is paused: its ticks are skipped until it is resumed')), () => `the pause logged:\n${lines.join('\n')}`, 5_000);
    // Counted once the beat has seen the pause: a tick it claimed just before may still be sending when pauseSchedule returns.
    const count = sent.filter((s) => s.schedule === 'fast').length;
    await delay(600);
    assert.equal(sent.filter((s) => s.schedule === 'fast').length, count, 'no tick once the pause returned');
    await resumeSchedule(c, 'fast');
    await until(() => sent.filter((s) => s.schedule === 'fast').length > count, 'a tick after the resume', 5_000);
    assert.ok(lines.some((l) => l.includes('Scheduler: fast was resumed')), lines.join('\n'));
  });
});
