/**
 * The search query language, shared by the task history search, the failure search, the views' filters and the CLI.
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
 *     matches(query, { name: 'orders.process', args: "('order-42',)", exc: 'TimeoutError: took too long' }); // true
 */
import type { IndexEntry, TaskFilter } from './history';

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

/** Whether `text` holds every one of the (lower-case) words; no words: true. */
function has(text: string | undefined, words: readonly string[]): boolean {
  if (words.length === 0) return true;
  if (text === undefined) return false;
  const lower = text.toLowerCase();
  return words.every((w) => lower.includes(w));
}

/** Whether the index entry (state and name) can still match: a record need not be loaded when it cannot. */
export function indexMatches(q: SearchQuery, entry: IndexEntry): boolean {
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
