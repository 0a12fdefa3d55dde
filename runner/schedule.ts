/**
 * When periodic tasks are due: intervals and 5-field crontab expressions, as pure functions of times in
 * milliseconds since the epoch (no clock is read here, so every rule is testable with fixed dates).
 *
 * Crontab fields are `minute hour day-of-month month day-of-week`, in UTC (the server's local time zone would
 * make a schedule fire at different instants on different hosts, and twice or never across DST changes).
 * Each field takes `*`, numbers, lists (`1,15`), ranges (`1-5`) and steps (`*\/15`, `0-30/10`). Day of week is
 * 0-6 from Sunday (7 is Sunday too). As in cron, when both day of month and day of week are restricted, a day
 * matching either one fires.
 */

/** A parsed crontab expression: the allowed values of each field. */
export interface Crontab {
  readonly expr: string;
  readonly minute: ReadonlySet<number>;
  readonly hour: ReadonlySet<number>;
  readonly dayOfMonth: ReadonlySet<number>;
  readonly month: ReadonlySet<number>;
  readonly dayOfWeek: ReadonlySet<number>;
  /** Whether day of month / day of week were `*` (cron's OR-rule applies only when both are restricted). */
  readonly anyDayOfMonth: boolean;
  readonly anyDayOfWeek: boolean;
}

/** How often a schedule is due: every `ms` milliseconds after the last run, or on crontab matches. */
export type Timing = { readonly kind: 'interval'; readonly ms: number } | { readonly kind: 'crontab'; readonly crontab: Crontab };

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

function parseField(text: string, field: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  const bad = (why: string) => new Error(`crontab ${field.name} ${JSON.stringify(text)}: ${why}`);
  const int = (s: string) => {
    if (!/^\d+$/.test(s)) throw bad(`${JSON.stringify(s)} is not a number`);
    const n = Number(s);
    if (n < field.min || n > field.max) throw bad(`${n} is outside ${field.min}-${field.max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') throw bad(`cannot read ${JSON.stringify(part)}`);
    const step = stepText === undefined ? 1 : int(stepText);
    if (step < 1) throw bad('a step must be at least 1');
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [field.min, field.max];
    else if (range.includes('-')) {
      const [a, b] = range.split('-');
      [lo, hi] = [int(a ?? ''), int(b ?? '')];
      if (lo > hi) throw bad(`range ${range} runs backwards`);
    } else {
      lo = int(range);
      // `5/15` means from 5 to the end in steps of 15, as in Vixie cron.
      hi = stepText === undefined ? lo : field.max;
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

/** Parse a 5-field crontab expression (UTC); throws an Error naming the bad field. */
export function parseCrontab(expr: string): Crontab {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`crontab ${JSON.stringify(expr)}: expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parts.map((p, i) => parseField(p, FIELDS[i]!)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (dayOfWeek.delete(7)) dayOfWeek.add(0);
  return { expr, minute, hour, dayOfMonth, month, dayOfWeek, anyDayOfMonth: parts[2] === '*', anyDayOfWeek: parts[4] === '*' };
}

function dayMatches(c: Crontab, d: Date): boolean {
  const dom = c.dayOfMonth.has(d.getUTCDate());
  const dow = c.dayOfWeek.has(d.getUTCDay());
  if (c.anyDayOfMonth || c.anyDayOfWeek) return dom && dow;
  return dom || dow;
}

const MINUTE = 60_000;
/** Far enough to cross every leap-year combination (Feb 29 on a Monday recurs within 28 years). */
const SEARCH_LIMIT_MS = 29 * 366 * 86_400_000;

/** The first crontab match strictly after `after` (ms), on a whole UTC minute. Throws if it never matches. */
export function nextCrontab(c: Crontab, after: number): number {
  const d = new Date(Math.floor(after / MINUTE) * MINUTE + MINUTE);
  const limit = after + SEARCH_LIMIT_MS;
  while (d.getTime() <= limit) {
    if (!c.month.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(c, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!c.hour.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
    } else if (!c.minute.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
    } else {
      return d.getTime();
    }
  }
  throw new Error(`crontab ${JSON.stringify(c.expr)} never matches`);
}

/** A timing from a schedule declaration: `every` seconds or a `cron` expression (exactly one). */
export function parseTiming(spec: { every?: number; cron?: string }): Timing {
  if ((spec.every === undefined) === (spec.cron === undefined)) throw new Error('a schedule needs exactly one of every (seconds) or cron');
  if (spec.cron !== undefined) return { kind: 'crontab', crontab: parseCrontab(spec.cron) };
  const every = spec.every!;
  if (!Number.isFinite(every) || every <= 0) throw new Error(`every must be a positive number of seconds, got ${every}`);
  return { kind: 'interval', ms: Math.round(every * 1000) };
}

/** The first due time after a run at `last` (ms). */
export function nextDue(t: Timing, last: number): number {
  return t.kind === 'interval' ? last + t.ms : nextCrontab(t.crontab, last);
}

/**
 * The due time to run now, or undefined when nothing is due: the LATEST due time after `last` that is not after
 * `now`. When several were missed (no scheduler ran), only the latest one is returned, so a schedule catches up
 * with one run, not one per missed tick (Celery beat's behaviour). Intervals stay on their grid (`last + k*ms`).
 */
export function dueNow(t: Timing, last: number, now: number): number | undefined {
  if (t.kind === 'interval') {
    if (now < last + t.ms) return undefined;
    return last + Math.floor((now - last) / t.ms) * t.ms;
  }
  // Past a long outage, start the walk a year back: the latest match is all that matters.
  const from = Math.max(last, now - 366 * 86_400_000);
  let due = nextCrontab(t.crontab, from);
  if (due > now) return undefined;
  for (let next = nextCrontab(t.crontab, due); next <= now; next = nextCrontab(t.crontab, due)) due = next;
  return due;
}
