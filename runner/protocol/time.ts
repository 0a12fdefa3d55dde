/**
 * Celery's date formats: ISO-8601 with an offset in message headers; in results (`date_done`) naive UTC up to
 * Celery 5.2, with an offset from 5.3 on.
 */
import type { CeleryLayout } from './celery-version';

/** `2026-11-24T06:40:09.933000+00:00`, as Python's `datetime.isoformat()` writes an aware UTC time. */
export function isoWithOffset(date: Date): string {
  return microsecondsUtc(date) + '+00:00';
}

/** `2026-11-24T06:40:22.533000`: Celery 5.2's `date_done` (naive UTC, microseconds). */
export function naiveUtc(date: Date): string {
  return microsecondsUtc(date);
}

let lastAwareMs = NaN;
let lastAware = '';

/**
 * A result's `date_done` as the layout's Celery writes it: `2026-11-24T06:40:22.533000+00:00` (5.3 and later, the
 * default: `app.now().isoformat()` of an aware time) or `2026-11-24T06:40:22.533000` (5.2: naive UTC). The text of
 * the last millisecond is kept, as for the naive form.
 */
export function dateDoneText(date: Date, layout?: CeleryLayout): string {
  if (layout === '5.2') return microsecondsUtc(date);
  const ms = date.getTime();
  if (ms !== lastAwareMs) {
    lastAware = microsecondsUtc(date) + '+00:00';
    lastAwareMs = ms;
  }
  return lastAware;
}

let lastMs = NaN;
let lastText = '';

/**
 * toISOString() without its `Z`, milliseconds written as microseconds (sliced: a regex per result costs more).
 * The text of the last millisecond is kept: a busy worker ends many tasks in the same one.
 */
function microsecondsUtc(date: Date): string {
  const ms = date.getTime();
  if (ms === lastMs) return lastText;
  // Years beyond 9999 come out as `+010000-...`: still one `.mmmZ` ending.
  const text = date.toISOString().slice(0, -1) + '000';
  lastMs = ms;
  lastText = text;
  return text;
}

/**
 * Parse a Celery date: ISO-8601 with or without offset (naive means UTC, as with `enable_utc`), or a number of
 * seconds since the epoch. Returns null for null/undefined; throws on anything unreadable.
 */
export function parseCeleryDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  let date: Date;
  if (typeof value === 'number' && Number.isFinite(value)) {
    date = new Date(value * 1000);
  } else {
    if (typeof value !== 'string') throw new Error(`expected an ISO-8601 date, got ${JSON.stringify(value)}`);
    const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
    if (!m) throw new Error(`expected an ISO-8601 date, got ${JSON.stringify(value)}`);
    // JS Date keeps milliseconds only; Python writes microseconds.
    const fraction = m[3] ? m[3].slice(0, 4) : '';
    const zone = m[4] ?? 'Z';
    date = new Date(`${m[1]}T${m[2]}${fraction}${zone}`);
  }
  // Out of Date's range (a timestamp of 1e21 seconds, a month 13): refused, not an Invalid Date that compares false with every time.
  if (Number.isNaN(date.getTime())) throw new Error(`invalid date ${JSON.stringify(value)}`);
  return date;
}
