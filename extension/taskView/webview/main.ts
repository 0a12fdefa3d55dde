/// <reference lib="dom" />
/**
 * The task view's page (runs in the webview, bundled to dist/task-view.js): draws the task the extension sends,
 * and sends back what the user asks. No framework, no remote content: the CSP allows this script and the stylesheet
 * only. The edited-args editor keeps what the user typed while the task updates underneath it.
 */
import { el, type Child } from '../../webview/dom';
import type { ShownValue, TaskLink, TaskModel, TraceLine, ViewRequest, ViewUpdate } from '../protocol';

declare function acquireVsCodeApi(): { postMessage(message: ViewRequest): void };

const vscode = acquireVsCodeApi();
const root = document.getElementById('task')!;
let model: TaskModel | undefined;
let editing = false;
let busy: string | undefined;
let problem: string | undefined;
/** The editor's text, kept across redraws. */
let draft = { args: '', kwargs: '' };
/** An edited retry was sent: the editor closes once it went through. */
let sentEdit = false;

function send(request: ViewRequest): void {
  vscode.postMessage(request);
}

function when(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function duration(seconds: number): string {
  if (seconds < 1) return `+${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `+${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  return `+${Math.round(seconds / 60)} min`;
}

function stateBadge(state: string | undefined): HTMLElement {
  return el('span', { class: `state state-${state ?? 'UNKNOWN'}` }, state ?? 'not seen');
}

function taskLink(link: TaskLink): HTMLElement {
  const a = el('a', { href: '#', class: 'task-link', 'data-task': link.id, title: link.id }, `${link.name ?? 'task'}[${link.id.slice(0, 8)}]`);
  a.addEventListener('click', (e) => {
    e.preventDefault();
    send({ type: 'open', id: link.id });
  });
  return el('span', { class: 'linked' }, a, ' ', stateBadge(link.state));
}

function button(label: string, action: () => void, why?: string, primary = false): HTMLButtonElement {
  const b = el('button', { type: 'button', class: primary ? 'primary' : 'secondary', ...(why ? { title: `Not available: ${why}` } : {}) }, label);
  b.disabled = why !== undefined || busy !== undefined;
  b.addEventListener('click', action);
  return b;
}

function section(title: string, ...children: Child[]): HTMLElement {
  return el('section', { 'aria-label': title }, el('h2', {}, title), ...children);
}

function value(shown: ShownValue): HTMLElement {
  const text = 'json' in shown ? JSON.stringify(shown.json, null, 2) ?? 'undefined' : shown.text;
  return el('div', {}, el('pre', { class: 'value' }, text), el('p', { class: 'muted source' }, `from ${shown.source}`));
}

/** The traceback: the user's frames as links, runs of runner frames folded. */
function trace(lines: TraceLine[]): HTMLElement {
  const out = el('div', { class: 'trace' });
  for (let i = 0; i < lines.length;) {
    const line = lines[i]!;
    if (line.kind === 'runner') {
      let j = i;
      while (j < lines.length && lines[j]!.kind === 'runner') j++;
      const frames = lines.slice(i, j).filter((l) => /^\s*(at |File ")/.test(l.text)).length;
      out.append(el('details', { class: 'runner-frames' }, el('summary', {}, `${frames || j - i} runner frame${(frames || j - i) === 1 ? '' : 's'}`),
        el('pre', {}, lines.slice(i, j).map((l) => l.text).join('\n'))));
      i = j;
      continue;
    }
    if (line.kind === 'user' && line.file) {
      const a = el('a', { href: '#', class: 'frame', title: `Open ${line.file}:${line.line}` }, line.text.trim());
      const { file, line: at, column } = line;
      a.addEventListener('click', (e) => {
        e.preventDefault();
        send({ type: 'openFrame', file, line: at ?? 1, ...(column ? { column } : {}) });
      });
      out.append(el('div', { class: 'frame-line' }, a));
    } else {
      out.append(el('pre', { class: 'trace-text' }, line.text));
    }
    i++;
  }
  return out;
}

function editor(m: TaskModel): HTMLElement {
  const args = el('textarea', { id: 'edit-args', rows: '4', spellcheck: 'false', 'aria-label': 'args (a JSON array)' });
  const kwargs = el('textarea', { id: 'edit-kwargs', rows: '3', spellcheck: 'false', 'aria-label': 'kwargs (a JSON object)' });
  args.value = draft.args;
  kwargs.value = draft.kwargs;
  const message = el('p', { class: 'validation', role: 'alert' });
  const go = button('Retry with These Args', () => {
    sentEdit = true;
    send({ type: 'retryEdited', args: args.value, kwargs: kwargs.value });
  }, m.cannot.retry, true);
  const check = () => {
    draft = { args: args.value, kwargs: kwargs.value };
    const wrong = shape(args.value, 'array', 'args') ?? shape(kwargs.value, 'object', 'kwargs');
    message.textContent = wrong ?? '';
    go.disabled = wrong !== undefined || busy !== undefined || m.cannot.retry !== undefined;
  };
  args.addEventListener('input', check);
  kwargs.addEventListener('input', check);
  check();
  return el('div', { class: 'editor' },
    el('label', { for: 'edit-args' }, 'args (a JSON array)'), args,
    el('label', { for: 'edit-kwargs' }, 'kwargs (a JSON object)'), kwargs,
    message,
    el('div', { class: 'actions' }, go, button('Cancel', () => { editing = false; draw(); })));
}

function shape(text: string, want: 'array' | 'object', what: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return `${what}: not valid JSON (${(err as Error).message})`;
  }
  const ok = want === 'array' ? Array.isArray(parsed) : typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  return ok ? undefined : `${what} must be a JSON ${want}`;
}

function draw(): void {
  const m = model;
  if (!m) return;
  root.setAttribute('aria-busy', 'false');
  const facts = [
    m.queue && `queue ${m.queue}`,
    m.worker && `worker ${m.worker}`,
    m.retries ? `${m.retries} retr${m.retries === 1 ? 'y' : 'ies'}` : undefined,
    m.runtime !== undefined ? `ran ${m.runtime < 1 ? `${(m.runtime * 1000).toPrecision(3)} ms` : `${m.runtime.toFixed(2)} s`}` : undefined,
  ].filter(Boolean).join(' · ');
  const header = el('header', {},
    el('h1', {}, m.name, ' ', stateBadge(m.state), m.live ? el('span', { class: 'live', title: 'Updates as the task moves' }, 'live') : undefined),
    el('p', { class: 'id' }, m.id),
    facts ? el('p', { class: 'muted' }, facts) : undefined,
    m.deadLettered ? el('p', { class: 'reason' }, `In the dead-letter list: ${m.reason ?? ''}`) : undefined);
  const related = el('div', { class: 'related' },
    m.retryOf && el('p', {}, 'Retry of ', taskLink(m.retryOf)),
    m.retriedAs.length > 0 && el('p', { class: 'retried-as' }, 'Retried as ', ...m.retriedAs.flatMap((r, i) => [i ? ', ' : '', taskLink(r)])),
    m.parent && el('p', {}, 'Sent by ', taskLink(m.parent)),
    m.root && (!m.parent || m.root.id !== m.parent.id) && el('p', {}, 'Root ', taskLink(m.root)));
  const actions = el('div', { class: 'actions', role: 'toolbar' },
    button('Retry', () => send({ type: 'retry' }), m.cannot.retry, true),
    button('Retry with Edited Args…', () => {
      editing = true;
      draft = { args: m.editable?.args ?? '[]', kwargs: m.editable?.kwargs ?? '{}' };
      draw();
    }, m.cannot.retry),
    button('Debug', () => send({ type: 'debug' }), m.cannot.retry),
    button('Revoke', () => send({ type: 'revoke' }), m.cannot.revoke),
    button('Copy as CLI Command', () => send({ type: 'copy', as: 'call' }), m.cannot.copy),
    button('Copy as Python send_task', () => send({ type: 'copy', as: 'sendTask' }), m.cannot.copy));
  const status = el('p', { class: problem ? 'problem' : 'muted', role: 'status' }, problem ?? busy ?? '');
  const parts: Child[] = [header, related, actions, status, editing ? editor(m) : undefined];
  if (m.exception) parts.push(section('Exception', el('pre', { class: 'exception' }, m.exception.summary), m.exception.trace.length ? trace(m.exception.trace) : undefined));
  parts.push(section('Timeline', m.timeline.length
    ? el('ol', { class: 'timeline' }, ...m.timeline.map((t) => el('li', { class: t.bad ? 'bad' : '' },
      el('span', { class: 'time' }, when(t.time)), el('span', { class: 'since' }, t.since !== undefined ? duration(t.since) : ''), el('span', { class: 'what' }, t.label))))
    : el('p', { class: 'muted' }, 'No event of this task was seen (its worker may not send events: start Celery workers with -E).')));
  if (m.args) parts.push(section('Args', value(m.args)));
  if (m.kwargs) parts.push(section('Kwargs', value(m.kwargs)));
  if (m.result) parts.push(section('Result', value(m.result)));
  if (m.children.length) {
    parts.push(section(`Children (${m.childCount})`, el('ul', { class: 'children' }, ...m.children.map((c) => el('li', {}, taskLink(c))))));
  }
  if (m.canvas.length) {
    parts.push(section('Canvas (from its message)', el('ul', { class: 'canvas' }, ...m.canvas.map((c) => el('li', {}, el('span', { class: 'muted' }, `${c.role}: `), c.task)))));
  }
  root.replaceChildren(...parts.filter((p): p is Node => p instanceof Node));
}

window.addEventListener('message', (event: MessageEvent<ViewUpdate>) => {
  const update = event.data;
  if (update.type === 'model') {
    // A task that became another state keeps an open editor; a different task would not reach this tab.
    model = update.model;
    problem = undefined;
  } else if (update.type === 'busy') {
    busy = update.what;
    if (busy) problem = undefined;
    else if (sentEdit && !problem) editing = false;
    if (!busy) sentEdit = false;
  } else if (update.type === 'problem') {
    problem = update.message;
  }
  draw();
});

send({ type: 'ready' });
