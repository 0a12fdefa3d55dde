/**
 * Which Celery the fleet runs, where that shows on the wire. Celery 5.3 changed what its peers write, and 5.6 writes
 * the same: three more headers on every task message (`replaced_task_nesting`, `stamped_headers`, `stamps`),
 * numbered plain group members, the chord's group id in its callback's options, a timezone-aware `date_done`, and
 * some remote-control replies reworded. Whatever writes one of those asks for a {@link CeleryLayout};
 * {@link celeryLayout} is the one place that tells the two apart.
 */
import { errorMessage } from '../errors';

/** `'5.3'`: what Celery 5.3 and later write (5.6 today); `'5.2'`: what Celery up to 5.2 writes (Debian's 5.2.6). */
export type CeleryLayout = '5.2' | '5.3';

/** The Celery a worker or client writes for unless told otherwise: the Celery most users run. */
export const DEFAULT_CELERY_VERSION = '5.6';

/**
 * The layout of a Celery version (`'5.6'`, `'5.2.6'`, `'6'`): `'5.3'` from 5.3 on. Throws RangeError for anything that
 * is not dot-separated numbers.
 */
export function celeryLayout(version: string): CeleryLayout {
  const text = version.trim();
  if (!/^\d+(\.\d+)*$/.test(text)) throw new RangeError(`not a Celery version: ${JSON.stringify(version)} (say e.g. '5.6' or '5.2.6')`);
  const [major = 0, minor = 0] = text.split('.').map(Number);
  return major > 5 || (major === 5 && minor >= 3) ? '5.3' : '5.2';
}

/**
 * The Celery version a worker or client follows: `given`, else the `RADISH_CELERY_VERSION` environment variable,
 * else {@link DEFAULT_CELERY_VERSION}; trimmed. Throws an Error naming the `celeryVersion` option when it is not a
 * version.
 */
export function resolveCeleryVersion(given?: string): string {
  const version = (given ?? (process.env.RADISH_CELERY_VERSION || DEFAULT_CELERY_VERSION)).trim();
  try {
    celeryLayout(version);
  } catch (err) {
    throw new Error(`celeryVersion: ${errorMessage(err)}`);
  }
  return version;
}
