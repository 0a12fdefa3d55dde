/**
 * `radish beat`: sends the app's periodic tasks (declared with `app.schedule`) when they are due.
 *
 * Several schedulers may run; one is active. It holds a lock in Redis (SET NX PX) and keeps refreshing it;
 * the others stand by and take over once the lock is released (stop) or expires (a crashed holder).
 * The lock only keeps the standbys idle: what prevents a doubled tick is the claim. Each schedule's last run
 * time lives in a Redis hash, and a tick is sent only after a compare-and-set moved that time from the value
 * this scheduler read to the tick's due time; a second scheduler (a lock lost to a long pause, or a restart)
 * finds the time already moved and sends nothing.
 *
 * Delivery is at most once per tick: the claim comes before the send, so a crash between the two loses that
 * tick rather than risking sending it twice. A schedule seen for the first time is anchored at that moment and
 * first sent one interval (or at the next crontab match) later, as Celery beat does. After a time with no
 * scheduler running, a schedule whose due time passed is sent once, for its latest missed due time, not once per
 * missed tick (Celery's behaviour too). Due times come from the schedulers' clocks: keep their hosts in NTP sync.
 *
 * The active scheduler publishes its schedules (./schedules.ts) when it takes the lock and every `publishInterval`,
 * so the cockpit and `radish schedules` can list, pause, resume and run them. A paused schedule (a flag in Redis)
 * is skipped by every scheduler: the claim checks it (beat_claim.lua); once resumed it counts from the resume time.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Radish, ScheduleEntry } from '../app';
import type { SharedStore } from '../broker/shared-store';
import { scripts } from '../broker/scripts';
import { createLogger, type Logger } from '../log';
import { dueNow, nextDue } from '../schedule';
import { errorMessage } from '../errors';
import { beatOwner, publishSchedules } from './schedules';

/** One tick sent by a scheduler. */
export interface SentTick {
  schedule: string;
  task: string;
  /** The due time the tick was sent for (ms since the epoch). */
  due: number;
  taskId: string;
}

export interface BeatOptions {
  /** Default: `info` level on stderr. */
  logger?: Logger;
  /**
   * Lock TTL in ms, refreshed every third of it. A standby takes over at most this long after the active scheduler
   * died without releasing the lock. Default 10 000.
   */
  lockTimeout?: number;
  /** Longest sleep between two checks, in ms (also how fast a standby notices a free lock). Default 1 000. */
  maxInterval?: number;
  /** The clock, ms since the epoch. Default `Date.now` (tests pass a fake one and call `tick()`). */
  now?: () => number;
  /** Called after each tick this scheduler sent. */
  onSent?: (tick: SentTick) => void;
  /**
   * How often the active scheduler publishes its schedules again, in ms (it also does when it takes the lock), so a
   * reader sees them even after someone deleted the key. Default 30 000.
   */
  publishInterval?: number;
}

/**
 * The task id of a tick: a UUID derived from the schedule name and due time, so that the same tick always carries
 * the same id (a doubled tick would be visible as a repeated id; results of a tick are easy to find).
 */
export function tickTaskId(schedule: string, due: number): string {
  const h = createHash('sha1').update(`radish.beat\0${schedule}\0${due}`).digest('hex');
  // Shaped as a version-5 (name-based, SHA-1) UUID with the RFC 4122 variant.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class Beat {
  readonly logger: Logger;
  /** This scheduler's lock token: who it is, plus a random part so two in one process differ. */
  readonly token = `${hostname()}:${process.pid}:${randomUUID()}`;
  private readonly lockTimeout: number;
  private readonly maxInterval: number;
  private readonly now: () => number;
  private holding = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private lastHolder: string | undefined;
  private readonly publishInterval: number;
  /** When this scheduler last published its schedules (its clock); undefined: not since it took the lock. */
  private publishedAt: number | undefined;
  /** Schedules seen paused at the last pass: a change is logged once, not at every pass. */
  private paused = new Set<string>();

  constructor(readonly app: Radish, private readonly options: BeatOptions = {}) {
    this.logger = options.logger ?? createLogger('info');
    this.lockTimeout = options.lockTimeout ?? 10_000;
    this.maxInterval = options.maxInterval ?? 1_000;
    this.now = options.now ?? Date.now;
    this.publishInterval = options.publishInterval ?? 30_000;
  }

  /** Whether this scheduler holds the lock (is the one sending). */
  get active(): boolean {
    return this.holding;
  }

  /** Connect and start the scheduling loop (returns once connected). */
  async start(): Promise<void> {
    if (this.running) return;
    await this.app.broker();
    this.running = true;
    const names = this.app.schedules.map((s) => `${s.name} (${s.task})`).join(', ') || 'none';
    this.logger.log('info', `beat: Starting... ${this.app.schedules.length} schedule(s): ${names}`);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let wait = this.maxInterval;
      try {
        wait = await this.tick();
      } catch (err) {
        // Redis away, say: keep trying; the lock expires on its own if we cannot refresh it.
        this.logger.log('error', `beat: ${errorMessage(err)}`);
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = undefined;
    }
  }

  /**
   * One pass: take or keep the lock, then send what is due. Resolves with the ms to wait before the next pass.
   * Public so tests can drive a scheduler with a fake clock.
   */
  async tick(): Promise<number> {
    if (!(await this.holdLock())) return this.maxInterval;
    const store = await this.app.requireSharedStore('radish beat');
    const now = this.now();
    if (this.publishedAt === undefined || now - this.publishedAt >= this.publishInterval) {
      await publishSchedules(this.app, store, beatOwner(this.token), now);
      this.publishedAt = now;
    }
    const { redis, keys } = store;
    const [lastRuns, paused, anchors] = await Promise.all([redis.hgetall(keys.beatLastRun), redis.hgetall(keys.beatPaused), redis.hgetall(keys.beatAnchor)]);
    let wait = Math.min(this.maxInterval, this.lockTimeout / 3);
    this.logPauses(new Set(Object.keys(paused)));
    for (const entry of this.app.schedules) {
      // Paused: not even anchored. A resume is seen within maxInterval, the longest wait.
      if (paused[entry.name] !== undefined) continue;
      const anchor = anchors[entry.name] === undefined ? undefined : Number(anchors[entry.name]);
      const last = await this.process(store, entry, lastRuns[entry.name], anchor, now);
      if (last !== undefined) wait = Math.min(wait, nextDue(entry.timing, Math.max(last, anchor ?? -Infinity)) - now);
    }
    return Math.max(10, wait);
  }

  private logPauses(now: ReadonlySet<string>): void {
    for (const entry of this.app.schedules) {
      const [was, is] = [this.paused.has(entry.name), now.has(entry.name)];
      if (is && !was) this.logger.log('info', `Scheduler: ${entry.name} is paused: its ticks are skipped until it is resumed`);
      if (was && !is) this.logger.log('info', `Scheduler: ${entry.name} was resumed: its next tick is counted from the resume`);
    }
    this.paused = new Set(now);
  }

  /**
   * Send one schedule's tick if due; resolves with its last run time after that (undefined: someone else moved it,
   * or it was paused meanwhile). A resumed schedule counts from its anchor (the resume time) when that is later than
   * its last run.
   */
  private async process(store: SharedStore, entry: ScheduleEntry, raw: string | undefined, anchor: number | undefined, now: number): Promise<number | undefined> {
    const { redis, keys } = store;
    const claim = (due: number, first: boolean) =>
      scripts.beatClaim.run<number>(redis, [keys.beatLastRun, keys.beatPaused, keys.beatAnchor], [entry.name, raw ?? '', due, first ? '1' : '0']);
    if (raw === undefined) return (await claim(now, true)) === 1 ? now : undefined;
    const last = Number(raw);
    const due = dueNow(entry.timing, Math.max(last, anchor ?? -Infinity), now);
    if (due === undefined) return last;
    if ((await claim(due, false)) !== 1) return undefined;
    const taskId = tickTaskId(entry.name, due);
    this.logger.log('info', `Scheduler: Sending due task ${entry.name} (${entry.task})`);
    try {
      await this.app.send(entry.task, entry.args ?? [], entry.kwargs ?? {}, { ...entry.options, taskId });
    } catch (err) {
      this.logger.log('error', `Scheduler: Message error: ${errorMessage(err)}; tick ${new Date(due).toISOString()} of ${entry.name} is lost`);
      return due;
    }
    this.options.onSent?.({ schedule: entry.name, task: entry.task, due, taskId });
    return due;
  }

  private async holdLock(): Promise<boolean> {
    const { redis, keys } = await this.app.requireSharedStore('radish beat');
    if (this.holding) {
      if ((await scripts.refreshLock.run<number>(redis, [keys.beatLock], [this.token, this.lockTimeout])) === 1) return true;
      this.holding = false;
      this.logger.log('warning', 'beat: lost the scheduler lock (expired while this scheduler was paused?); standing by');
    }
    if ((await redis.set(keys.beatLock, this.token, 'PX', this.lockTimeout, 'NX')) === 'OK') {
      this.holding = true;
      this.lastHolder = undefined;
      this.publishedAt = undefined;
      this.logger.log('info', 'beat: acquired the scheduler lock; this scheduler is active');
      return true;
    }
    const holder = (await redis.get(keys.beatLock)) ?? 'nobody';
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      this.logger.log('info', `beat: another scheduler is active (${beatOwner(holder)}); standing by`);
    }
    return false;
  }

  /** Stop the loop and release the lock so a standby takes over at once; idempotent. Leaves the app open. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      this.wake?.();
      await this.loop;
      if (this.holding) {
        this.holding = false;
        const { redis, keys } = await this.app.requireSharedStore('radish beat');
        await scripts.releaseLock.run<number>(redis, [keys.beatLock], [this.token]).catch(() => 0);
        this.logger.log('info', 'beat: released the scheduler lock');
      }
    })();
    return this.stopping;
  }
}
