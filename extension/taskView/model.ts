/**
 * The task view's page content, built from what is known of a task: its history record (the events), its stored
 * result, its dead-letter record, and the tasks linked to it. Pure: the panel reads the sources, this shapes them.
 */
import type { DeadLetter, ResultMeta, TaskCallSpec, TaskRecord, TaskRecordEvent } from '../../runner/index';
import type { CanvasEntry, ShownValue, TaskLink, TaskModel, TimelineEntry, TraceLine } from './protocol';

export interface TaskSources {
  id: string;
  record: TaskRecord | null;
  meta: ResultMeta | null;
  /** Its dead-letter record, when it has one. */
  letter?: DeadLetter;
  parent?: TaskLink;
  root?: TaskLink;
  children: TaskLink[];
  retryOf?: TaskLink;
  retriedAs: TaskLink[];
  /** How to send it again, or why it cannot be. */
  call: TaskCallSpec | { problem: string };
  /** Whether a traceback's file is the user's (a workspace file outside dependencies): linked, not collapsed. */
  isUserFile: (file: string) => boolean;
  /** Seconds since the epoch of a stored result's `date_done` (naive UTC or with an offset), or undefined. */
  parseDate: (text: string) => number | undefined;
}

const MOVING = new Set(['PENDING', 'SENT', 'RECEIVED', 'STARTED', 'RETRY']);
const READY = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

export function buildModel(src: TaskSources): TaskModel {
  const { record, meta, letter } = src;
  const task = letter?.task;
  const state = stateOf(src);
  const call = 'problem' in src.call ? undefined : src.call;
  const model: TaskModel = {
    id: src.id,
    name: record?.name ?? task?.name ?? meta?.name ?? letter?.record.task ?? '(name not known)',
    state,
    deadLettered: letter !== undefined,
    reason: letter?.record.reason,
    queue: meta?.queue || letter?.record.queue || record?.queue || record?.routingKey || undefined,
    worker: record?.hostname ?? meta?.worker ?? letter?.record.worker,
    retries: record?.retries ?? meta?.retries ?? task?.retries,
    runtime: record?.runtime,
    parent: src.parent,
    root: src.root,
    retryOf: src.retryOf,
    retriedAs: src.retriedAs,
    timeline: timeline(src),
    children: src.children,
    childCount: Math.max(record?.children.length ?? 0, src.children.length),
    canvas: task ? canvasOf(task.embed) : [],
    live: MOVING.has(state),
    cannot: {
      retry: 'problem' in src.call ? src.call.problem : undefined,
      copy: 'problem' in src.call ? src.call.problem : undefined,
      revoke: MOVING.has(state) ? undefined : `it has ended (${state})`,
    },
  };
  const args = shown(meta?.args, task?.args, record?.args);
  const kwargs = shown(meta?.kwargs, task?.kwargs, record?.kwargs);
  if (args) model.args = args;
  if (kwargs) model.kwargs = kwargs;
  if (state === 'SUCCESS') {
    if (meta?.status === 'SUCCESS') model.result = { json: meta.result, source: 'the stored result' };
    else if (record?.result !== undefined) model.result = { text: record.result, source: 'the events (Python repr)' };
  }
  const exception = exceptionOf(src);
  if (exception) model.exception = exception;
  if (call) model.editable = { args: JSON.stringify(call.args), kwargs: JSON.stringify(call.kwargs) };
  return model;
}

function stateOf({ record, meta, letter }: TaskSources): string {
  // Events can be missed (a worker without -E); a stored outcome cannot be undone by them.
  if (meta && READY.has(meta.status) && !(record && READY.has(record.state))) return meta.status;
  return record?.state ?? (letter ? 'FAILURE' : meta?.status ?? 'PENDING');
}

/** Exact JSON from the stored result or the message; else the repr the events carried. */
function shown(stored: unknown, message: unknown, repr: string | undefined): ShownValue | undefined {
  if (stored !== undefined) return { json: stored, source: 'the stored result' };
  if (message !== undefined) return { json: message, source: 'the message' };
  if (repr !== undefined) return { text: repr, source: 'the events (Python repr)' };
  return undefined;
}

function seconds(value: number): string {
  return value < 1 ? `${(value * 1000).toPrecision(3)} ms` : `${value.toFixed(value < 10 ? 2 : 1)} s`;
}

function field(e: TaskRecordEvent, name: string): string | undefined {
  const v = e[name];
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

function entryOf(e: TaskRecordEvent): TimelineEntry {
  const at = { type: e.type, time: e.timestamp };
  switch (e.type) {
    case 'task-sent': return { ...at, label: `sent to ${field(e, 'queue') ?? field(e, 'routing_key') ?? 'its queue'}` };
    case 'task-received': return { ...at, label: `received by ${e.hostname}` };
    case 'task-started': return { ...at, label: `started on ${e.hostname}` };
    case 'task-retried': return { ...at, label: `retry: ${field(e, 'exception') ?? 'retried'}`, bad: true };
    case 'task-succeeded': {
      const runtime = Number(e.runtime);
      return { ...at, label: Number.isFinite(runtime) ? `succeeded in ${seconds(runtime)}` : 'succeeded' };
    }
    case 'task-failed': return { ...at, label: `failed: ${field(e, 'exception') ?? 'failed'}`, bad: true };
    case 'task-revoked': {
      const how = [e.terminated ? 'terminated' : '', e.expired ? 'expired' : ''].filter(Boolean).join(', ');
      return { ...at, label: `revoked${how ? ` (${how})` : ''}`, bad: true };
    }
    case 'task-rejected': return { ...at, label: 'rejected by the worker', bad: true };
    default: return { ...at, label: e.type };
  }
}

/** The events in time order with the time each step took; a dead-letter record and a stored result when no event says so. */
function timeline({ record, meta, letter, parseDate }: TaskSources): TimelineEntry[] {
  const entries = (record?.events ?? []).map(entryOf);
  if (letter && letter.record.time) {
    entries.push({ type: 'dead-lettered', label: `dead-lettered: ${letter.record.reason}`, time: letter.record.time, bad: true });
  }
  const done = meta?.date_done ? parseDate(meta.date_done) : undefined;
  if (meta && done !== undefined && !entries.some((e) => ['task-succeeded', 'task-failed', 'task-revoked'].includes(e.type))) {
    entries.push({ type: 'stored', label: `${meta.status} stored${meta.worker ? ` by ${meta.worker}` : ''}`, time: done, bad: meta.status !== 'SUCCESS' });
  }
  entries.sort((a, b) => a.time - b.time);
  for (let i = 1; i < entries.length; i++) entries[i]!.since = Math.max(0, entries[i]!.time - entries[i - 1]!.time);
  return entries;
}

/** Celery's chain is stored last step first; shown in the order the steps run. */
function canvasOf(embed: { callbacks: { task: string }[] | null; errbacks: { task: string }[] | null; chain: { task: string }[] | null; chord: { task: string } | null }): CanvasEntry[] {
  return [
    ...[...(embed.chain ?? [])].reverse().map((s): CanvasEntry => ({ role: 'chain step', task: s.task })),
    ...(embed.callbacks ?? []).map((s): CanvasEntry => ({ role: 'callback', task: s.task })),
    ...(embed.errbacks ?? []).map((s): CanvasEntry => ({ role: 'errback', task: s.task })),
    ...(embed.chord ? [{ role: 'chord callback' as const, task: embed.chord.task }] : []),
  ];
}

/** `ValueError: cannot use 'seven'` from Celery's `{exc_type, exc_message}`, else the text as it is. */
function exceptionText(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  const exc = value as { exc_type?: unknown; exc_message?: unknown };
  if (typeof exc.exc_type === 'string') {
    const message = Array.isArray(exc.exc_message) ? exc.exc_message.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(', ') : exc.exc_message === undefined ? '' : String(exc.exc_message);
    return message ? `${exc.exc_type}: ${message}` : exc.exc_type;
  }
  return JSON.stringify(value);
}

function exceptionOf({ record, meta, letter, isUserFile }: TaskSources): TaskModel['exception'] {
  const fromMeta = meta && meta.status !== 'SUCCESS' ? exceptionText(meta.result) : undefined;
  const summary = fromMeta ?? exceptionText(letter?.record.exception) ?? record?.exception ?? (letter ? letter.record.reason : undefined);
  if (!summary) return undefined;
  const traceback = (meta && meta.status !== 'SUCCESS' ? meta.traceback : null) ?? letter?.record.traceback ?? record?.traceback ?? '';
  const trace = traceLines(traceback, isUserFile);
  // A JavaScript stack starts with the message the summary already says.
  if (trace[0]?.kind === 'text' && trace[0].text.trim() === summary.trim()) trace.shift();
  return { summary, trace };
}

const JS_FRAME = /^\s*at (?:.*? \()?((?:\/|[A-Za-z]:[\\/]|file:\/\/)[^\s():]+?):(\d+):(\d+)\)?\s*$/;
const PY_FRAME = /^\s*File "([^"]+)", line (\d+)/;

/**
 * A traceback (JavaScript or Python) line by line: frames in the user's files are links, other frames (the
 * runner's, Node's, Celery's, dependencies') are "runner" lines the page folds away; a Python frame's source line
 * goes with its frame.
 */
export function traceLines(traceback: string, isUserFile: (file: string) => boolean): TraceLine[] {
  const lines: TraceLine[] = [];
  let previous: TraceLine | undefined;
  for (const text of traceback.replace(/\s+$/, '').split('\n')) {
    if (!text.trim()) continue;
    const js = JS_FRAME.exec(text);
    const py = js ? null : PY_FRAME.exec(text);
    const m = js ?? py;
    if (m) {
      const file = m[1]!.replace(/^file:\/\//, '');
      const user = isUserFile(file);
      const line: TraceLine = { text, kind: user ? 'user' : 'runner', ...(user ? { file, line: Number(m[2]) } : {}) };
      if (user && js) line.column = Number(m[3]);
      lines.push(line);
      previous = py ? line : undefined;
    } else if (previous && /^\s{4,}\S/.test(text)) {
      // The source line Python prints under its frame.
      lines.push({ text, kind: previous.kind === 'user' ? 'text' : 'runner' });
    } else if (/^\s*at /.test(text)) {
      lines.push({ text, kind: 'runner' });
      previous = undefined;
    } else {
      lines.push({ text, kind: 'text' });
      previous = undefined;
    }
  }
  return lines;
}
