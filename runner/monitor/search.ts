/**
 * Search inside tasks: one query language for the task history and the failures, matched in the runner with
 * bounded work, so the Tasks view, the Failed view, their bulk actions and the CLI find the same tasks.
 *
 * A query is space-separated terms, all of which must match (case-insensitive substrings):
 *
 *     args:order-42        the positional arguments (the history's Python repr, a failure's JSON)
 *     kwargs:customer      the keyword arguments
 *     result:ok            the return value (a failure's stored result too)
 *     exc:Timeout          the exception: its type and message (a dead letter's reason too), not the traceback,
 *                          whose frames name every function on the stack
 *     name:emails          the task name
 *     id:6f1c              the task id
 *     state:FAILURE        the state, exactly; `state:FAILURE,RETRY` for either
 *     order-42             a bare word: any of id, name, args, kwargs, result, exception, traceback
 *
 * A value with spaces goes in double quotes (`exc:"timed out"`). A word whose prefix is not one of these
 * (`http://host`) is a bare word, as typed.
 *
 *     const query = parseQuery('exc:Timeout args:order-42');
 *     const found = await searchHistory(history, query, { limit: 200 });
 *     found.items; found.cutShort; // what matched, and whether the search stopped early (and why)
 */
import type { DeadLetterRecord } from '../broker/transport';
import type { TaskMessage } from '../protocol/message';
import type { ResultMeta } from '../protocol/result';
import type { TaskFilter, TaskHistory, TaskRecord } from './history';

/** The fields a term may name. */
export const QUERY_FIELDS = ['name', 'state', 'id', 'args', 'kwargs', 'result', 'exc'] as const;
export type QueryField = (typeof QUERY_FIELDS)[number];

/** A parsed query: per field, the substrings that must all be found (lower case); `state` lists accepted states. */
export interface SearchQuery {
  /** The query as typed, trimmed: what a summary quotes. */
  text: string;
  name: string[];
  id: string[];
  args: string[];
  kwargs: string[];
  result: string[];
  exc: string[];
  /** Bare words: each must be found in some field. */
  any: string[];
  /** Each entry is a set of accepted states (upper case), all of which must hold: `state:A,B` is one entry. */
  state: string[][];
}

/** The text of one task, field by field, as a query sees it. Absent fields match no term on them. */
export interface Searchable {
  id?: string;
  name?: string;
  state?: string;
  args?: string;
  kwargs?: string;
  result?: string;
  /** Exception type and message, and a dead letter's reason. */
  exc?: string;
  /** Searched by bare words only. */
  traceback?: string;
}

const ALIASES: Readonly<Record<string, QueryField>> = { exception: 'exc', error: 'exc', task: 'name' };
/** A term: an optional `field:` prefix, then a value, double-quoted or up to the next space. */
const TERM = /(?:([A-Za-z]+):)?(?:"((?:[^"\\]|\\.)*)"|(\S+))/g;

/** Read a query; never throws (an unknown prefix is a bare word, an unclosed quote runs to the next space). */
export function parseQuery(text: string): SearchQuery {
  const query: SearchQuery = { text: text.trim(), name: [], id: [], args: [], kwargs: [], result: [], exc: [], any: [], state: [] };
  for (const m of query.text.matchAll(TERM)) {
    const prefix = m[1]?.toLowerCase();
    const field = prefix === undefined ? undefined : (QUERY_FIELDS as readonly string[]).includes(prefix) ? prefix as QueryField : ALIASES[prefix];
    let value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3] ?? '';
    if (prefix !== undefined && field === undefined) value = `${m[1]}:${value}`;
    if (value === '') continue;
    if (field === 'state') query.state.push(value.toUpperCase().split(',').filter(Boolean));
    else if (field) query[field].push(value.toLowerCase());
    else query.any.push(value.toLowerCase());
  }
  return query;
}

/** Whether a query has no terms (it matches everything). */
export function isEmptyQuery(q: SearchQuery): boolean {
  return !q.name.length && !q.id.length && !q.state.length && !needsRecords(q);
}

/** Whether a query looks inside the records (args, kwargs, result, exception, bare words), not only at the index. */
export function needsRecords(q: SearchQuery): boolean {
  return q.args.length + q.kwargs.length + q.result.length + q.exc.length + q.any.length > 0;
}

/**
 * The history's cheap filter for a query of name, state and id terms only, or undefined when the query needs more
 * (several states in one term, several values of a field, or terms inside the records).
 */
export function cheapFilter(q: SearchQuery): TaskFilter | undefined {
  if (needsRecords(q) || q.name.length > 1 || q.id.length > 1 || q.state.length > 1 || (q.state[0]?.length ?? 1) > 1) return undefined;
  const filter: TaskFilter = {};
  if (q.name[0] !== undefined) filter.name = q.name[0];
  if (q.id[0] !== undefined) filter.id = q.id[0];
  if (q.state[0]?.[0] !== undefined) filter.state = q.state[0][0];
  return filter;
}

function has(text: string | undefined, words: readonly string[]): boolean {
  if (words.length === 0) return true;
  if (text === undefined) return false;
  const lower = text.toLowerCase();
  return words.every((w) => lower.includes(w));
}

/** Whether the index entry (state and name) can still match: a record need not be loaded when it cannot. */
function indexMatches(q: SearchQuery, entry: { id: string; state?: string; name?: string; indexed: boolean }): boolean {
  if (!has(entry.id, q.id)) return false;
  if (!entry.indexed) return true; // not indexed yet: the record decides
  if (!q.state.every((states) => entry.state !== undefined && states.includes(entry.state))) return false;
  return has(entry.name, q.name);
}

/** Whether a task's text matches every term of the query. */
export function matches(q: SearchQuery, s: Searchable): boolean {
  if (!has(s.id, q.id) || !has(s.name, q.name) || !has(s.args, q.args) || !has(s.kwargs, q.kwargs)
    || !has(s.result, q.result) || !has(s.exc, q.exc)) return false;
  if (!q.state.every((states) => s.state !== undefined && states.includes(s.state.toUpperCase()))) return false;
  if (q.any.length === 0) return true;
  const all = [s.id, s.name, s.args, s.kwargs, s.result, s.exc, s.traceback].filter((t) => t !== undefined).join('\n').toLowerCase();
  return q.any.every((w) => all.includes(w));
}

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
 * The history's records that match, newest first. Reads ids and index entries in chunks of 500 (state, name and id
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
  let more = false;
  for (let start = 0; start < examine; start += CHUNK) {
    const entries = await history.slice(start, Math.min(start + CHUNK, examine) - 1);
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
    if (entries.length < CHUNK && entries.length < examine - start) break;
    if (start + CHUNK >= examine) more = (await history.slice(examine, examine)).length > 0;
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

/** Dead letters read per round trip. */
const LETTER_PAGE = 500;

/**
 * The failed tasks that match, as the Failed view lists them: the dead letters newest first (each with its stored
 * FAILURE), then the stored failures that have no dead letter (a Celery worker's). Looks at no more than `examine`
 * dead letters (read in pages of 500) and `examine` stored failures (the backend scans a bounded keyspace).
 */
export async function searchFailures(inspector: FailureSource, q: SearchQuery, options: SearchOptions = {}): Promise<SearchResult<FailedEntry>> {
  const { limit, examine, countAll } = bounds(options);
  const [letterCount, metas] = await Promise.all([inspector.deadLetterCount(), inspector.failedResults(examine, Math.max(20_000, examine * 2))]);
  const unlettered = new Map(metas.map((meta) => [meta.task_id, meta]));
  const letters: FailedLetter[] = [];
  for (let offset = 0; offset < Math.min(letterCount, examine); offset += LETTER_PAGE) {
    const page = await inspector.deadLetters(offset, Math.min(LETTER_PAGE, examine - offset));
    letters.push(...page);
    if (page.length === 0) break;
  }
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
  const more = letterCount > letters.length || metas.length >= examine;
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
