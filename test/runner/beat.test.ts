/**
 * `radish beat`: next-fire rules on fixed dates, then schedulers on a private redis-server: one active at a time,
 * every tick sent exactly once across two schedulers, a takeover and a restart.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Radish } from '../../runner/app';
import { Beat, type SentTick } from '../../runner/beat/beat';
import { dueNow, nextCrontab, parseCrontab, parseTiming } from '../../runner/schedule';
import { Keys } from '../../runner/broker/keys';
import { scripts } from '../../runner/broker/scripts';
import { createLogger } from '../../runner/log';
import { decodeTaskMessage } from '../../runner/protocol/message';
import { redisHarness } from '../support/redis';
import { delay, until } from '../support/wait';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const next = (expr: string, after: string) => iso(nextCrontab(parseCrontab(expr), t(after)));
const quiet = createLogger('critical');
const CLI = resolve(__dirname, '../../dist/radish.js');

describe('beat schedules (pure)', () => {
  it('crontab: steps, lists, ranges, in UTC, strictly after the given time', () => {
    assert.equal(next('*/5 * * * *', '2026-03-01T12:03:20Z'), '2026-03-01T12:05:00.000Z');
    assert.equal(next('*/5 * * * *', '2026-03-01T12:05:00Z'), '2026-03-01T12:10:00.000Z');
    assert.equal(next('0,30 8-9 * * *', '2026-03-01T09:30:00Z'), '2026-03-02T08:00:00.000Z');
    assert.equal(next('10-50/20 * * * *', '2026-03-01T12:31:00Z'), '2026-03-01T12:50:00.000Z');
    assert.equal(next('0 0 1 * *', '2026-12-15T00:00:00Z'), '2027-01-01T00:00:00.000Z');
    assert.equal(next('59 23 31 12 *', '2026-01-01T00:00:00Z'), '2026-12-31T23:59:00.000Z');
  });

  it('crontab: day of week (7 is Sunday) and cron\'s OR-rule when both day fields are restricted', () => {
    // 2026-03-06 is a Friday.
    assert.equal(next('30 9 * * 1-5', '2026-03-06T10:00:00Z'), '2026-03-09T09:30:00.000Z');
    assert.equal(next('0 12 * * 7', '2026-03-06T10:00:00Z'), '2026-03-08T12:00:00.000Z');
    assert.equal(next('0 12 * * 0', '2026-03-06T10:00:00Z'), '2026-03-08T12:00:00.000Z');
    // The 13th, or any Friday: Friday 2026-03-06 comes before the 13th.
    assert.equal(next('0 0 13 * 5', '2026-03-01T00:00:00Z'), '2026-03-06T00:00:00.000Z');
    // Only Feb 29: the next leap year.
    assert.equal(next('0 0 29 2 *', '2026-03-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  });

  it('crontab: a bad expression names its field; one that never matches says so', () => {
    assert.throws(() => parseCrontab('* * * *'), /expected 5 fields/);
    assert.throws(() => parseCrontab('60 * * * *'), /minute "60": 60 is outside 0-59/);
    assert.throws(() => parseCrontab('* 5-2 * * *'), /hour "5-2": range 5-2 runs backwards/);
    assert.throws(() => parseCrontab('*/0 * * * *'), /step must be at least 1/);
    assert.throws(() => parseCrontab('* * * jan *'), /month "jan"/);
    assert.throws(() => nextCrontab(parseCrontab('0 0 30 2 *'), t('2026-01-01T00:00:00Z')), /never matches/);
    assert.throws(() => parseTiming({}), /exactly one of every/);
    assert.throws(() => parseTiming({ every: 5, cron: '* * * * *' }), /exactly one of every/);
    assert.throws(() => parseTiming({ every: 0 }), /positive/);
  });

  it('interval: due one interval after the last run; after a gap, due once, for the latest missed tick', () => {
    const every = parseTiming({ every: 10 });
    assert.equal(dueNow(every, 1_000, 10_999), undefined);
    assert.equal(dueNow(every, 1_000, 11_000), 11_000);
    assert.equal(dueNow(every, 1_000, 55_000), 51_000, 'five missed: one run, on the grid');
  });

  it('crontab: after a gap, due once, for the latest missed match', () => {
    const hourly = parseTiming({ cron: '0 * * * *' });
    assert.equal(dueNow(hourly, t('2026-03-01T12:00:00Z'), t('2026-03-01T12:59:59Z')), undefined);
    assert.equal(iso(dueNow(hourly, t('2026-03-01T12:00:00Z'), t('2026-03-01T17:20:00Z'))!), '2026-03-01T17:00:00.000Z');
    const yearly = parseTiming({ cron: '0 0 1 1 *' });
    assert.equal(iso(dueNow(yearly, t('2020-01-01T00:00:00Z'), t('2026-03-01T00:00:00Z'))!), '2026-01-01T00:00:00.000Z');
  });
});

describe('beat schedulers (redis)', function () {
  this.timeout(30_000);
  const h = redisHarness();
  const keys = new Keys();
  const apps: Radish[] = [];
  const beats: Beat[] = [];

  function makeApp(every = 1): Radish {
    const app = new Radish({ broker: h.server.url, routes: { 'tasks.*': 'periodic' } });
    app.schedule('tick', { task: 'tasks.tick', every, args: [1] });
    apps.push(app);
    return app;
  }
  function makeBeat(app: Radish, sent: SentTick[], options: { now?: () => number } = {}): Beat {
    const b = new Beat(app, { logger: quiet, lockTimeout: 1_000, maxInterval: 50, onSent: (s) => sent.push(s), ...options });
    beats.push(b);
    return b;
  }
  /** Task ids in the queue, oldest first. */
  async function queued(): Promise<string[]> {
    return (await h.redis.lrange(keys.queue('periodic'), 0, -1)).reverse().map((m) => decodeTaskMessage(m).id);
  }
  /** Every tick sent exactly once, each in the queue once, due times one interval apart (none skipped). */
  async function assertEachTickOnce(sent: SentTick[], intervalMs: number): Promise<void> {
    const dues = sent.map((s) => s.due).sort((a, b) => a - b);
    assert.equal(new Set(dues).size, dues.length, `a due time was sent twice: ${dues.map(iso)}`);
    for (let i = 1; i < dues.length; i++) assert.equal(dues[i]! - dues[i - 1]!, intervalMs, `a tick was skipped: ${dues.map(iso)}`);
    const ids = await queued();
    assert.equal(new Set(ids).size, ids.length, 'a message was doubled in the queue');
    assert.deepEqual(new Set(ids), new Set(sent.map((s) => s.taskId)));
  }

  afterEach(async () => {
    await Promise.all(beats.splice(0).map((b) => b.stop()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('fake clock: a new schedule is anchored, sent one interval later, once; a gap is caught up once; a restart does not resend', async () => {
    let now = t('2026-03-01T12:00:00.000Z');
    const sent: SentTick[] = [];
    const first = makeBeat(makeApp(10), sent, { now: () => now });
    await first.tick();
    assert.equal(sent.length, 0, 'first sight only anchors the schedule');
    now += 9_999;
    await first.tick();
    assert.equal(sent.length, 0);
    now += 1;
    await first.tick();
    await first.tick();
    assert.deepEqual(sent.map((s) => iso(s.due)), ['2026-03-01T12:00:10.000Z']);
    const message = decodeTaskMessage((await h.redis.lrange(keys.queue('periodic'), 0, -1))[0]!);
    assert.deepEqual([message.name, message.args, message.id], ['tasks.tick', [1], sent[0]!.taskId]);
    await first.stop();
    // Nobody runs for 55 s: five ticks missed. A new scheduler sends the latest once, then nothing more at that time.
    now += 55_000;
    const second = makeBeat(makeApp(10), sent, { now: () => now });
    await second.tick();
    await second.tick();
    assert.deepEqual(sent.map((s) => iso(s.due)), ['2026-03-01T12:00:10.000Z', '2026-03-01T12:01:00.000Z']);
    assert.equal(await h.redis.llen(keys.queue('periodic')), 2);
  });

  it('fake clock: a standby sends nothing while the lock is held, and takes over when it expires', async () => {
    let now = t('2026-03-01T12:00:00.000Z');
    const sent: SentTick[] = [];
    const a = makeBeat(makeApp(10), sent, { now: () => now });
    const b = makeBeat(makeApp(10), sent, { now: () => now });
    await a.tick();
    await b.tick();
    assert.deepEqual([a.active, b.active], [true, false]);
    now += 10_000;
    await b.tick();
    assert.equal(sent.length, 0, 'the standby sent nothing');
    // The holder dies without releasing: once the lock expires (1 s, real time) the standby takes over.
    await delay(1_100);
    await b.tick();
    assert.deepEqual([b.active, sent.length], [true, 1]);
    // The old holder wakes up: it finds its lock gone and sends nothing.
    await a.tick();
    assert.deepEqual([a.active, sent.length], [false, 1]);
  });

  it('the claim is a compare-and-set: of two schedulers that read the same last run, one sends', async () => {
    await h.redis.hset(keys.beatLastRun, 'tick', '1000');
    const hashes = [keys.beatLastRun, keys.beatPaused, keys.beatAnchor];
    const claim = () => scripts.beatClaim.run<number>(h.redis, hashes, ['tick', '1000', 2000, '0']);
    assert.deepEqual([await claim(), await claim()], [1, 0]);
    assert.equal(await h.redis.hget(keys.beatLastRun, 'tick'), '2000');
    const first = () => scripts.beatClaim.run<number>(h.redis, hashes, ['new', '', 5000, '1']);
    assert.deepEqual([await first(), await first()], [1, 0]);
  });

  it('radish beat -A MODULE: sends on schedule, logs in the house style, SIGTERM stops it and releases the lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radish-beat-'));
    const module = join(dir, 'tasks.ts');
    writeFileSync(module, `import { Radish } from 'radish';
export const app = new Radish();
app.schedule('often', { task: 'tasks.often', every: 0.3, kwargs: { x: 1 } });
`);
    const child = spawn(process.execPath, [CLI, 'beat', '-A', module, '--broker', h.server.url, '-l', 'info']);
    let log = '';
    child.stderr.on('data', (d: Buffer) => { log += d; });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      await until(() => /Sending due task often \(tasks\.often\)/.test(log), () => `the first tick sent; log:\n${log}`, 5_000);
      assert.match(log, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO\/MainProcess\] beat: Starting\.\.\. 1 schedule\(s\): often \(tasks\.often\)/m);
      assert.ok(await h.redis.get(keys.beatLock), 'it holds the lock');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, log);
    assert.match(log, /released the scheduler lock/);
    assert.equal(await h.redis.get(keys.beatLock), null);
    const [message] = await h.redis.lrange(keys.queue('celery'), 0, -1);
    assert.deepEqual(decodeTaskMessage(message!).kwargs, { x: 1 });
  });

  it('two schedulers, 1 s interval, 3.5 s: each tick sent once; stop the active one: the other takes over; a restart neither skips nor doubles', async function () {
    const sent: SentTick[] = [];
    const a = makeBeat(makeApp(), sent);
    const b = makeBeat(makeApp(), sent);
    await Promise.all([a.start(), b.start()]);
    // Times are kept relative to the anchor (the first pass's time), so a slow machine shifts nothing.
    await until(async () => (await h.redis.hget(keys.beatLastRun, 'tick')) !== null, 'the first pass', 2_000);
    const anchor = Number(await h.redis.hget(keys.beatLastRun, 'tick'));
    const at = (ms: number) => delay(Math.max(0, anchor + ms - Date.now()));
    await at(3_500);
    assert.equal([a, b].filter((x) => x.active).length, 1, 'one active scheduler');
    assert.equal(sent.length, 3, `3 ticks in 3.5 s, got ${sent.length}`);
    await assertEachTickOnce(sent, 1_000);

    const [active, standby] = a.active ? [a, b] : [b, a];
    await active.stop();
    assert.notEqual(await h.redis.get(keys.beatLock), active.token, 'stop released the lock');
    await at(5_500);
    assert.ok(standby.active, 'the standby took over');
    assert.equal(sent.length, 5, `5 ticks in 5.5 s, got ${sent.length}`);
    await assertEachTickOnce(sent, 1_000);

    // No scheduler from 5.5 s to 6.6 s: the tick due at 6 s finds none; a new one sends it at once, then carries on.
    await standby.stop();
    await at(6_600);
    assert.equal(sent.length, 5);
    const restarted = makeBeat(makeApp(), sent);
    await restarted.start();
    await at(6_800);
    assert.equal(sent.length, 6, 'the missed tick was sent on start');
    await at(7_500);
    assert.equal(sent.length, 7, `7 ticks in 7.5 s, got ${sent.length}`);
    await assertEachTickOnce(sent, 1_000);
  });
});
