/**
 * Celery beat's schedules in Python source, read as literals (Python is never run), so the Schedules view lists a
 * Celery project's periodic tasks and can send one now.
 *
 * Where a project declares them:
 * - in a settings module, at module level: Django's `CELERY_BEAT_SCHEDULE` (any `<NAMESPACE>_` prefix),
 *   `beat_schedule` in `celeryconfig.py`, Celery 3's `CELERYBEAT_SCHEDULE`;
 * - on an app: `app.conf.beat_schedule = {...}`, `app.conf['beat_schedule'] = {...}`,
 *   `app.conf.update(beat_schedule=...)` or with a dict.
 * A table may be a name bound at module level to one. Each entry is `'name': {'task': ..., 'schedule': ...,
 * 'args': ..., 'kwargs': ..., 'options': {'queue': ..., 'priority': ...}}` (or `dict(task=..., ...)`); the schedule
 * is kept as written (`crontab(minute=0, hour='*\/3')`, `30.0`, `timedelta(minutes=5)`), since Celery evaluates it.
 *
 * Left out, without failing: `add_periodic_task(...)` calls (made at run time, in a signal handler), computed tables,
 * entries whose task name is not a literal. Entries whose args or kwargs are not literals are kept and say why they
 * cannot be sent from here.
 */
import { dottedName, pythonValue, type PythonValue } from './python-literals';
import { closingIndex, logicalLines, splitArguments, type LogicalLine, type Token } from './python-tokens';
import { assignment, calls, confItemKey, keyword, statements } from './python-statements';

/** One entry of a Celery `beat_schedule`, as written. */
export interface CeleryBeatEntry {
  /** The entry's key in the table. */
  name: string;
  task: string;
  /** The schedule as written in the source, whitespace collapsed: `crontab(minute=0, hour='*\/3')`, `30.0`. */
  schedule: string;
  /** Seconds between runs, when the schedule is a number literal. */
  seconds?: number;
  /** Positional arguments; undefined when there are none written (Celery sends []) or they cannot be read. */
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** From the entry's `options`, when literal. */
  queue?: string;
  priority?: number;
  /** Why the entry cannot be sent from here (its args or kwargs are not literals); undefined when it can. */
  unreadable?: string;
  /** Where the table is set: `CELERY_BEAT_SCHEDULE`, `app.conf.beat_schedule`... */
  setting: string;
  file: string;
  /** 0-based line of the entry's key. */
  line: number;
}

const HINT = /beat_schedule|BEAT_SCHEDULE|CELERYBEAT_SCHEDULE/;
const SETTING = /^(?:beat_schedule|CELERYBEAT_SCHEDULE|[A-Z][A-Z0-9_]*_BEAT_SCHEDULE)$/;

/** Whether a text may declare a beat schedule at all (a cheap test before reading it). */
export function mayDeclareBeatSchedule(text: string): boolean {
  return HINT.test(text);
}

/** A dict display's entries with their tokens: `{k: v, ...}` or `dict(k=v, ...)`; undefined for anything else. */
function dictEntries(tokens: readonly Token[]): { key: Token[]; value: Token[] }[] | undefined {
  const first = tokens[0];
  if (first?.text === '{' && closingIndex(tokens, 0) === tokens.length - 1) {
    const entries: { key: Token[]; value: Token[] }[] = [];
    for (const part of splitArguments(tokens.slice(1, -1))) {
      let depth = 0;
      const colon = part.findIndex((t) => {
        if (t.kind === 'op' && '([{'.includes(t.text)) depth++;
        else if (t.kind === 'op' && ')]}'.includes(t.text)) depth--;
        return depth === 0 && t.kind === 'op' && t.text === ':';
      });
      if (colon > 0) entries.push({ key: part.slice(0, colon), value: part.slice(colon + 1) });
    }
    return entries;
  }
  const open = tokens.findIndex((t) => t.kind === 'op' && t.text === '(');
  if (open > 0 && dottedName(tokens.slice(0, open)) === 'dict' && closingIndex(tokens, open) === tokens.length - 1) {
    return splitArguments(tokens.slice(open + 1, -1)).flatMap((arg) => {
      const kw = keyword(arg);
      return kw ? [{ key: [{ ...arg[0]!, kind: 'string' as const, text: JSON.stringify(kw.name) }], value: kw.value }] : [];
    });
  }
  return undefined;
}

/** A literal as JSON, or undefined when it is not one (a name, a call, a set...). */
function json(v: PythonValue): { ok: true; value: unknown } | { ok: false } {
  switch (v.kind) {
    case 'str':
    case 'num':
    case 'bool':
      return { ok: true, value: v.value };
    case 'none':
      return { ok: true, value: null };
    case 'list':
    case 'tuple': {
      const items: unknown[] = [];
      for (const item of v.items) {
        const j = json(item);
        if (!j.ok) return j;
        items.push(j.value);
      }
      return { ok: true, value: items };
    }
    case 'dict': {
      const out: Record<string, unknown> = {};
      for (const { key, value } of v.entries) {
        const j = json(value);
        if (key.kind !== 'str' || !j.ok) return { ok: false };
        out[key.value] = j.value;
      }
      return { ok: true, value: out };
    }
    default:
      return { ok: false };
  }
}

/** Celery beat's schedules declared in a Python source text, in source order (the last table per setting). Never throws. */
export function findCeleryBeatSchedules(file: string, text: string, lines: readonly LogicalLine[] = logicalLines(text)): CeleryBeatEntry[] {
  if (!mayDeclareBeatSchedule(text)) return [];
  try {
    return read(file, text, lines);
  } catch {
    return [];
  }
}

function read(file: string, text: string, lines: readonly LogicalLine[]): CeleryBeatEntry[] {
  /** Module-level names bound to tokens: what `CELERY_BEAT_SCHEDULE = SCHEDULE` and `'schedule': EVERY` refer to. */
  const names = new Map<string, Token[]>();
  const tables = new Map<string, Token[]>();
  const resolve = (tokens: Token[]): Token[] => {
    const name = tokens.length === 1 && tokens[0]!.kind === 'name' ? tokens[0]!.text : undefined;
    return (name !== undefined && names.get(name)) || tokens;
  };
  for (const line of lines) {
    for (const statement of statements(line.tokens)) {
      const [targets, assigned] = assignment(statement);
      for (const call of calls(assigned ?? statement)) {
        const callee = call.callee.split('.');
        if (callee[callee.length - 1] !== 'update' || callee[callee.length - 2] !== 'conf') continue;
        for (const arg of call.args) {
          const kw = keyword(arg);
          if (kw) {
            if (kw.name === 'beat_schedule') tables.set('app.conf.beat_schedule', resolve(kw.value));
            continue;
          }
          for (const { key, value } of dictEntries(resolve(arg)) ?? []) {
            const k = pythonValue(key);
            if (k.kind === 'str' && k.value === 'beat_schedule') tables.set('app.conf.beat_schedule', resolve(value));
          }
        }
      }
      if (!assigned) continue;
      for (const target of targets) {
        const name = dottedName(target);
        if (name !== undefined && !name.includes('.') && line.indent === 0) {
          names.set(name, resolve(assigned));
          if (SETTING.test(name)) tables.set(name, resolve(assigned));
        } else if (name === 'conf.beat_schedule' || name?.endsWith('.conf.beat_schedule')) {
          tables.set('app.conf.beat_schedule', resolve(assigned));
        } else if (confItemKey(target) === 'beat_schedule') {
          tables.set('app.conf.beat_schedule', resolve(assigned));
        }
      }
    }
  }
  const lineOf = (offset: number) => text.slice(0, offset).split(/\r\n|\r|\n/).length - 1;
  const asWritten = (tokens: readonly Token[]) => text.slice(tokens[0]!.start, tokens[tokens.length - 1]!.end).replace(/\s+/g, ' ')
    .replace(/\( /g, '(').replace(/,? \)/g, ')');
  const entries: CeleryBeatEntry[] = [];
  for (const [setting, table] of tables) {
    for (const { key, value } of dictEntries(table) ?? []) {
      const name = pythonValue(key);
      const fields = dictEntries(resolve(value));
      if (name.kind !== 'str' || !fields) continue;
      const field = new Map(fields.flatMap(({ key: k, value: v }) => {
        const kv = pythonValue(k);
        return kv.kind === 'str' ? [[kv.value, v] as const] : [];
      }));
      const task = field.get('task');
      const schedule = field.get('schedule');
      const taskName = task && pythonValue(resolve(task));
      if (taskName?.kind !== 'str' || !schedule?.length) continue;
      const entry: CeleryBeatEntry = { name: name.value, task: taskName.value, schedule: asWritten(schedule), setting, file, line: lineOf(key[0]!.start) };
      const scheduleValue = pythonValue(resolve(schedule));
      if (scheduleValue.kind === 'num') entry.seconds = scheduleValue.value;
      const problems: string[] = [];
      for (const which of ['args', 'kwargs'] as const) {
        const written = field.get(which);
        if (!written) continue;
        const j = json(pythonValue(resolve(written)));
        const shapeOk = j.ok && (which === 'args' ? Array.isArray(j.value) : typeof j.value === 'object' && j.value !== null && !Array.isArray(j.value));
        if (!j.ok || !shapeOk) problems.push(`its ${which} (${asWritten(written)}) are not literals`);
        else if (which === 'args') entry.args = j.value as unknown[];
        else entry.kwargs = j.value as Record<string, unknown>;
      }
      if (problems.length) entry.unreadable = `${problems.join(' and ')}: Radish reads them without running Python`;
      const options = field.get('options');
      const opts = options ? json(pythonValue(resolve(options))) : undefined;
      if (opts?.ok && typeof opts.value === 'object' && opts.value !== null) {
        const { queue, priority } = opts.value as { queue?: unknown; priority?: unknown };
        if (typeof queue === 'string' && queue) entry.queue = queue;
        if (typeof priority === 'number' && Number.isInteger(priority)) entry.priority = priority;
      }
      entries.push(entry);
    }
  }
  return entries;
}
