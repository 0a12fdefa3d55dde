/**
 * How `celery inspect` / `celery control` print each node's reply (celery/bin/base.py `pretty()`), so `radish inspect`
 * reads the same whether it asked a Radish or a Python worker:
 *
 *     ->  w1@vm: OK
 *         * tasks.add [rate_limit=10/s]
 *
 * Lists become `* item` lines (`- empty -` when empty), `{"ok": ...}` / `{"error": ...}` their text, other objects
 * Python's `json.dumps(sort_keys=True, indent=4)`, other values Python's `str()`. Celery colours these on a terminal
 * (and drops the colours when piped); Radish never colours.
 */
import { pyRepr } from './protocol/pyrepr';

/** Python's `textwrap`-less `celery.utils.text.indent`: every line, empty ones included, gets `n` spaces. */
function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text.split('\n').map((line) => pad + line).join('\n');
}

/** Python's `str()` of a JSON value: a string as itself, anything else as its repr. */
function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}

/** A string as Python's json.dumps writes it (ensure_ascii: every non-ASCII UTF-16 unit as a `\uXXXX` escape). */
function jsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Python's `json.dumps(value, sort_keys=True, indent=4)` for JSON values. */
export function pyJsonDumps(value: unknown, level = 0): string {
  const pad = (n: number) => ' '.repeat(4 * n);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : Number.isNaN(value) ? 'NaN' : '-Infinity';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad(level + 1) + pyJsonDumps(v, level + 1)).join(',\n')}\n${pad(level)}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    const record = value as Record<string, unknown>;
    return `{\n${keys.map((k) => `${pad(level + 1)}${jsonString(k)}: ${pyJsonDumps(record[k], level + 1)}`).join(',\n')}\n${pad(level)}}`;
  }
  return jsonString(String(value));
}

/** Celery's `pretty(reply)`: whether the node said OK or ERROR, and the text to show under it. */
export function prettyReply(reply: unknown): { status: 'OK' | 'ERROR'; text: string } {
  if (Array.isArray(reply)) {
    return { status: 'OK', text: reply.length ? reply.map((item) => `* ${pythonStr(item)}`).join('\n') : '- empty -' };
  }
  if (typeof reply === 'object' && reply !== null) {
    const record = reply as Record<string, unknown>;
    if ('ok' in record) return { status: 'OK', text: indent(prettyReply(record.ok).text, 4) };
    if ('error' in record) return { status: 'ERROR', text: indent(prettyReply(record.error).text, 4) };
    // Celery highlights it with pygments, whose output ends with a newline: a last line of just the indent.
    return { status: 'OK', text: pyJsonDumps(reply) + '\n' };
  }
  return { status: 'OK', text: pythonStr(reply) };
}

/** One node's reply as Celery's CLI prints it: `->  node: OK`, then the text indented by 4. Ends with a newline. */
export function formatReply(node: string, reply: unknown): string {
  const { status, text } = prettyReply(reply);
  return `->  ${node}: ${status}\n${indent(text, 4)}\n`;
}

/** Celery's closing line: `\n1 node online.` / `\n3 nodes online.` */
export function nodesOnline(count: number): string {
  return `\n${count} ${count === 1 ? 'node' : 'nodes'} online.\n`;
}
