/**
 * Search inside tasks: one query language for the task history and the failures, matched in the runner with
 * bounded work, so the Tasks view, the Failed view, their bulk actions and the CLI find the same tasks.
 *
 * The query language (parseQuery, matches) is in ./query.ts and re-exported here.
 *
 *     const query = parseQuery('exc:Timeout args:order-42');
 *     const found = await searchHistory(history, query, { limit: 200 });
 *     found.items; found.cutShort; // what matched, and whether the search stopped early (and why)
 */
import type { DeadLetterRecord } from '../broker/transport';
import type { TaskMessage } from '../protocol/message';
import type { ResultMeta } from '../protocol/result';
import type { TaskHistory, TaskRecord } from './history';
import { cheapFilter, indexMatches, matches, needsRecords, type SearchQuery, type Searchable } from './query';

export * from './query';

/** A history record as a query sees it. */
export function searchableRecord(r: TaskRecord): Searchable {
  return {
    id: r.id, name: r.name, state: r.state, args: r.args, kwargs: r.kwargs, result: r.result,
    exc: r.exception, traceback: r.traceback,
  };
}

export interface SearchOptions {
  /** Matches returned at most. Default 200. */
  limit?: number;
  /** Tasks (or failures) looked at most, newest first. Default 10,000 (the history's and the dead-letter list's bound). */
  examine?: number;
  /**
   * Keep counting matches beyond `limit` (up to `examine` looked at), so `matched` is the whole count: what a bulk
   * action says ("1,000 of 2,340 matching"). Default false: the search stops at `limit + 1` matches.
   */
  countAll?: boolean;
}

export const SEARCH_DEFAULTS = { limit: 200, examine: 10_000 } as const;

/** What a search found, and how far it looked. */
export interface SearchResult<T> {
  /** The first `limit` matches, newest first. */
  items: T[];
  /** Matches counted: all of them within what was looked at with `countAll`, else at most `limit + 1`. */
  matched: number;
  /** Tasks looked at. */
  examined: number;
  /**
   * Why the search may have missed matches, if it did: `limit` (more matched than are returned), `examine` (it stopped
   * after looking at `examine` tasks, and there were more).
   */
  cutShort?: 'limit' | 'examine';
}

function bounds(options: SearchOptions): { limit: number; examine: number; countAll: boolean } {
  const limit = Math.max(0, Math.floor(options.limit ?? SEARCH_DEFAULTS.limit));
  const examine = Math.max(1, Math.floor(options.examine ?? SEARCH_DEFAULTS.examine));
  return { limit, examine, countAll: options.countAll === true };
}

/** Ids read (with their index entries) and records loaded per round trip. */
const CHUNK = 500;

/**
 * The history's records that match, newest first. Reads the newest `examine` ids once, then their index entries in chunks of 500 (state, name and id
 * terms are decided there without loading a record), loads the records that can still match, and stops at
 * `limit + 1` matches (or, with `countAll`, after `examine` tasks). A query of one name, one state and one id term
 * takes the history's own filter, as the Tasks view always has.
 */
export async function searchHistory(history: TaskHistory, q: SearchQuery, options: SearchOptions = {}): Promise<SearchResult<TaskRecord>> {
  const { limit, examine, countAll } = bounds(options);
  const cheap = cheapFilter(q);
  if (cheap && !countAll) {
    const items = await history.recent({ limit: limit + 1, filter: cheap });
    // recent() looks at no more than maxTasks, as the history holds: examined is an upper bound, as said.
    const examined = Math.min(await history.count(), history.maxTasks);
    return { items: items.slice(0, limit), matched: items.length, examined, cutShort: items.length > limit ? 'limit' : undefined };
  }
  const deep = needsRecords(q);
  const items: TaskRecord[] = [];
  let matched = 0;
  let examined = 0;
  // The ids are read once (one more than examined, to know whether there were more): events move tasks to the top
  // while a search runs, and reading chunk by chunk by position would see a task twice or never.
  const all = await history.newest(examine + 1);
  const more = all.length > examine;
  const ids = [...new Set(all.slice(0, examine))];
  for (let start = 0; start < ids.length; start += CHUNK) {
    const entries = await history.entries(ids.slice(start, start + CHUNK));
    examined += entries.length;
    const candidates = entries.filter((e) => indexMatches(q, e)).map((e) => e.id);
    // Without terms inside the records, a candidate is a match: only those returned need loading.
    const toLoad = deep ? candidates : candidates.slice(0, Math.max(0, limit - items.length));
    const loaded = new Map((await history.load(toLoad)).map((r) => [r.id, r]));
    for (const id of candidates) {
      if (matched > limit && !countAll) break;
      const record = loaded.get(id);
      if (deep && (!record || !matches(q, searchableRecord(record)))) continue;
      if (!deep && record && !matches(q, searchableRecord(record))) continue; // a state not indexed yet
      matched++;
      if (record && items.length < limit) items.push(record);
    }
    if (matched > limit && !countAll) break;
  }
  const cutShort = matched > limit ? 'limit' : more ? 'examine' : undefined;
  return { items, matched, examined, cutShort };
}

/**
 * A dead-letter record as the Inspector reads it (its `DeadLetter`), named here by its shape: the monitor sits
 * below the clients and does not import them.
 */
export interface FailedLetter {
  /** The record exactly as stored: the handle for replay and discard. */
  stored: string;
  record: DeadLetterRecord;
  task?: TaskMessage;
  error?: string;
}

/** What a failure search reads: the Inspector's dead-letter list and stored failures. */
export interface FailureSource {
  deadLetterCount(): Promise<number>;
  /** A page of the dead-letter list, newest first. */
  deadLetters(offset: number, limit: number): Promise<FailedLetter[]>;
  /** Stored FAILURE results, newest first, looking at no more than `scanBudget` keys. */
  failedResults(limit: number, scanBudget: number): Promise<ResultMeta[]>;
}

/** One failed task: a dead-letter record (with its stored FAILURE when there is one), or a stored FAILURE alone. */
export type FailedEntry =
  | { kind: 'letter'; letter: FailedLetter; meta?: ResultMeta }
  | { kind: 'result'; meta: ResultMeta };

/** A failed task's id (absent for an unreadable message). */
export function failedEntryId(entry: FailedEntry): string | undefined {
  return entry.kind === 'result' ? entry.meta.task_id : entry.letter.task?.id ?? entry.letter.record.task_id;
}

/** `TimeoutError: took too long` from a stored exception (`{exc_type, exc_message}`), or its JSON. */
function exceptionText(exception: unknown): string | undefined {
  if (exception === undefined || exception === null) return undefined;
  if (typeof exception === 'string') return exception;
  const e = exception as { exc_type?: unknown; exc_message?: unknown };
  if (typeof e.exc_type === 'string') {
    const message = Array.isArray(e.exc_message) ? e.exc_message.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(', ')
      : e.exc_message === undefined ? '' : typeof e.exc_message === 'string' ? e.exc_message : JSON.stringify(e.exc_message);
    return `${e.exc_type}: ${message}`;
  }
  return JSON.stringify(exception);
}

function jsonText(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

/** A failed task as a query sees it: arguments as JSON, the exception in words with its traceback. */
export function searchableFailure(entry: FailedEntry): Searchable {
  const meta = entry.meta;
  const metaExc = meta ? exceptionText(meta.result) : undefined;
  const metaTraceback = meta?.traceback ?? undefined;
  if (entry.kind === 'result') {
    return {
      id: meta!.task_id, name: meta!.name, state: 'FAILURE', args: jsonText(meta!.args), kwargs: jsonText(meta!.kwargs),
      result: jsonText(meta!.result), exc: metaExc, traceback: metaTraceback,
    };
  }
  const { task, record } = entry.letter;
  return {
    id: failedEntryId(entry), name: task?.name ?? record.task, state: 'FAILURE',
    args: task ? JSON.stringify(task.args) : undefined, kwargs: task ? JSON.stringify(task.kwargs) : undefined,
    result: meta ? jsonText(meta.result) : undefined,
    exc: [exceptionText(record.exception), record.reason, metaExc].filter(Boolean).join('\n'),
    traceback: record.traceback ?? metaTraceback,
  };
}

/**
 * The failed tasks that match, as the Failed view lists them: the dead letters newest first (each with its stored
 * FAILURE), then the stored failures that have no dead letter (a Celery worker's). Looks at no more than `examine`
 * dead letters (read at once) and `examine` stored failures (the backend scans a bounded keyspace).
 */
export async function searchFailures(inspector: FailureSource, q: SearchQuery, options: SearchOptions = {}): Promise<SearchResult<FailedEntry>> {
  const { limit, examine, countAll } = bounds(options);
  const [letterCount, metas] = await Promise.all([inspector.deadLetterCount(), inspector.failedResults(examine, Math.max(20_000, examine * 2))]);
  const unlettered = new Map(metas.map((meta) => [meta.task_id, meta]));
  // One read of the list (not page by page by offset: failures entering meanwhile would push records into the next
  // page twice), and each record once by its stored text, as discard and replay find it.
  const seen = new Set<string>();
  const letters = letterCount === 0 ? [] : (await inspector.deadLetters(0, Math.min(letterCount, examine)))
    .filter((letter) => !seen.has(letter.stored) && seen.add(letter.stored));
  const entries: FailedEntry[] = letters.map((letter) => {
    const id = failedEntryId({ kind: 'letter', letter });
    const meta = id === undefined ? undefined : unlettered.get(id);
    if (id !== undefined) unlettered.delete(id);
    return meta ? { kind: 'letter', letter, meta } : { kind: 'letter', letter };
  });
  for (const meta of unlettered.values()) entries.push({ kind: 'result', meta });
  const items: FailedEntry[] = [];
  let matched = 0;
  for (const entry of entries) {
    if (!matches(q, searchableFailure(entry))) continue;
    matched++;
    if (items.length < limit) items.push(entry);
    else if (!countAll) break;
  }
  const more = letterCount > examine || metas.length >= examine;
  return { items, matched, examined: entries.length, cutShort: matched > limit ? 'limit' : more ? 'examine' : undefined };
}

/**
 * How a search ended, in words, or undefined when it saw everything and returned every match:
 * `first 200 matches of "exc:Timeout"`, `searched the last 10,000 tasks`.
 */
export function searchSummary(result: SearchResult<unknown>, q: SearchQuery, noun = 'tasks'): string | undefined {
  if (result.cutShort === 'limit') {
    return `first ${result.items.length.toLocaleString('en-US')} matches${q.text ? ` of "${q.text}"` : ''}`;
  }
  if (result.cutShort === 'examine') return `searched the last ${result.examined.toLocaleString('en-US')} ${noun}`;
  return undefined;
}
