/// <reference lib="dom" />
/**
 * The Metrics view's page (runs in the webview, bundled to dist/metrics-view.js with its stylesheet and uPlot's):
 * a range picker, a task and a queue picker, totals, and uPlot charts of throughput, failures, runtime p50/p95 and,
 * per queue, depth and the oldest message's age. Colours come from VS Code's theme variables and follow a theme
 * change. No remote content: the CSP allows this script and the stylesheet only.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { el } from '../../webview/dom';
import { RANGES, type MetricsModel, type MetricsRequest, type MetricsSelection, type MetricsUpdate } from '../protocol';

declare function acquireVsCodeApi(): { postMessage(message: MetricsRequest): void };

const vscode = acquireVsCodeApi();
const root = document.getElementById('metrics')!;
let model: MetricsModel | undefined;
let problem: { message: string; fix?: string } | undefined;
let loading = false;
/** The selection last asked for, until a model for it arrives (a model for an earlier one is not drawn meanwhile). */
let wanted: MetricsSelection | undefined;
const plots: { plot: uPlot; holder: HTMLElement }[] = [];
const HEIGHT = 150;

function send(request: MetricsRequest): void {
  vscode.postMessage(request);
}

/** A theme colour by its VS Code variable, with a fallback for a theme that lacks it. */
function color(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(`--vscode-${name}`).trim() || fallback;
}

function palette() {
  return {
    fg: color('foreground', '#ccc'),
    grid: color('charts-lines', 'rgba(128,128,128,0.25)'),
    blue: color('charts-blue', '#3794ff'),
    red: color('charts-red', '#f14c4c'),
    yellow: color('charts-yellow', '#cca700'),
    orange: color('charts-orange', '#d18616'),
    green: color('charts-green', '#89d185'),
    purple: color('charts-purple', '#b180d7'),
  };
}

/** A theme colour (`#rgb`, `#rrggbb`, `#rrggbbaa`) with `alpha`, for an area under a line; a colour in another form as it is. */
function translucent(colour: string, alpha: number): string {
  let hex = /^#([0-9a-f]{3,8})$/i.exec(colour)?.[1];
  if (!hex) return colour;
  if (hex.length <= 4) hex = [...hex].map((h) => h + h).join('');
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex!.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

const number = (n: number): string => n.toLocaleString('en-US');

function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '–';
  if (s === 0) return '0';
  if (s < 1) return `${s < 0.01 ? (s * 1000).toFixed(1) : Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function select(selection: Partial<MetricsSelection>): void {
  if (!model) return;
  // From what was last asked for, not from what is shown: two quick picks make one selection.
  const next: MetricsSelection = { ...(wanted ?? model.selection), ...selection };
  if (!next.task) delete next.task;
  if (!next.queue) delete next.queue;
  wanted = next;
  loading = true;
  draw();
  send({ type: 'select', selection: next });
}

const same = (a: MetricsSelection, b: MetricsSelection): boolean =>
  a.hours === b.hours && (a.task ?? '') === (b.task ?? '') && (a.queue ?? '') === (b.queue ?? '');

function toolbar(m: MetricsModel): HTMLElement {
  const shown = wanted ?? m.selection;
  const ranges = el('div', { class: 'ranges', role: 'radiogroup', 'aria-label': 'Range' });
  for (const r of RANGES) {
    const on = r.hours === shown.hours;
    const b = el('button', { type: 'button', role: 'radio', 'aria-checked': String(on), class: on ? 'range on' : 'range', 'data-hours': String(r.hours) }, r.label);
    b.addEventListener('click', () => select({ hours: r.hours }));
    ranges.append(b);
  }
  const picker = (label: string, id: string, all: string, names: string[], value: string | undefined, pick: (v: string) => void) => {
    const s = el('select', { id, 'aria-label': label });
    // A selection no longer in the range's names stays offered, so the picker says what is shown.
    const options = value && !names.includes(value) ? [...names, value] : names;
    for (const [v, text] of [['', all], ...options.map((n) => [n, n])] as [string, string][]) {
      const o = el('option', { value: v }, text);
      if (v === (value ?? '')) o.selected = true;
      s.append(o);
    }
    s.addEventListener('change', () => pick(s.value));
    return el('label', { class: 'picker' }, `${label} `, s);
  };
  const refresh = el('button', { type: 'button', class: 'icon', title: 'Refresh', 'aria-label': 'Refresh' }, '↻');
  refresh.addEventListener('click', () => {
    loading = true;
    draw();
    send({ type: 'refresh' });
  });
  const read = new Date(m.readAt).toLocaleTimeString(undefined, { hour12: false });
  return el('div', { class: 'toolbar' }, ranges,
    picker('Task', 'task', 'All tasks', m.taskNames, shown.task, (v) => select({ task: v })),
    picker('Queue', 'queue', 'All queues', m.queueNames, shown.queue, (v) => select({ queue: v })),
    el('span', { class: 'muted updated' }, loading ? 'reading…' : `updated ${read}`), refresh);
}

function tiles(m: MetricsModel): HTMLElement {
  const t = m.totals;
  const range = RANGES.find((r) => r.hours === m.selection.hours)?.label ?? `${m.selection.hours} h`;
  const tile = (label: string, value: string, cls = '') => el('div', { class: `tile ${cls}`, 'data-metric': label }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label));
  return el('div', { class: 'tiles', 'aria-label': `Totals over the last ${range}` },
    tile('tasks', number(t.throughput)),
    tile('failed', number(t.failed), t.failed ? 'bad' : ''),
    tile('retried', number(t.retried)),
    tile('revoked', number(t.revoked)),
    // Only where some message could not run: most fleets never have one.
    t.deadLettered > 0 && tile('dead-lettered', number(t.deadLettered), 'bad'),
    tile('p50', seconds(t.p50)),
    tile('p95', seconds(t.p95)));
}

interface Line {
  label: string;
  stroke: string;
  values: (number | null)[];
  fill?: boolean;
  format?: (v: number) => string;
}

/** How a chart's y axis goes: counts and samples (from 0, at least 0..1), durations from 0, or runtimes on a log scale. */
type YScale = 'counts' | 'samples' | 'durations' | 'log';

function yScale(kind: YScale): uPlot.Scale {
  // An idle range is a flat line at 0, not a zoom into noise.
  if (kind === 'log') return { distr: 3, log: 10 };
  return { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(kind === 'durations' ? 0.001 : 1, max ?? 0) * 1.1] };
}

function chart(title: string, id: string, m: MetricsModel, lines: Line[], axis: (v: number) => string, kind: YScale = 'counts'): HTMLElement {
  const box = el('section', { class: 'chart', id: `chart-${id}` }, el('h2', {}, title));
  const colors = palette();
  const latest = newest(lines, m.times.length, kind);
  // A log axis is marked at powers of ten only (1 ms, 10 ms, 100 ms...), not at every step between them.
  const decades = kind === 'log'
    ? { filter: (_u: uPlot, splits: number[]) => splits.map((v) => (Number.isInteger(Math.round(Math.log10(v) * 1e6) / 1e6) ? v : null)) }
    : {};
  const opts: uPlot.Options = {
    width: 400,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: yScale(kind) },
    // Away from the cursor, the legend shows the newest step with data rather than dashes.
    hooks: { setCursor: [(u) => { if (u.cursor.idx === null || u.cursor.idx === undefined) u.setLegend({ idx: latest }, false); }] },
    axes: [
      { stroke: colors.fg, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } },
      {
        stroke: colors.fg, grid: { stroke: colors.grid, width: 1, ...decades }, ticks: { stroke: colors.grid, width: 1, ...decades }, size: 60, ...decades,
        values: (_u, ticks) => ticks.map((v) => (v === null || v === undefined ? '' : axis(v))),
      },
    ],
    series: [
      { value: (_u, v) => (v === null ? '–' : new Date(v * 1000).toLocaleString(undefined, { hour12: false, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })) },
      ...lines.map((l) => ({
        label: l.label, stroke: l.stroke, width: 1.5, spanGaps: false, points: { show: m.times.length <= 30 },
        ...(l.fill ? { fill: translucent(l.stroke, 0.18) } : {}),
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : (l.format ?? axis)(v)),
      })),
    ],
  };
  const data: uPlot.AlignedData = [m.times, ...lines.map((l) => l.values)];
  const holder = el('div', { class: 'plot' });
  box.append(holder);
  // Drawn once the section is in the page, at its width; the legend shows the newest step with data.
  queueMicrotask(() => {
    const plot = new uPlot({ ...opts, width: plotWidth(holder) }, data, holder);
    plot.setLegend({ idx: latest });
    plots.push({ plot, holder });
  });
  return box;
}

function plotWidth(holder: HTMLElement): number {
  return Math.max(240, Math.floor(holder.getBoundingClientRect().width));
}

/**
 * The newest step with data: for counts, one that is not 0 (a step nobody wrote to reads 0); for samples (runtimes,
 * queues), one that is not null. The last step when none is.
 */
function newest(lines: Line[], steps: number, kind: YScale): number {
  const has = kind === 'counts' ? (v: number | null | undefined) => (v ?? 0) !== 0 : (v: number | null | undefined) => v !== null && v !== undefined;
  for (let i = steps - 1; i >= 0; i--) if (lines.some((l) => has(l.values[i]))) return i;
  return Math.max(0, steps - 1);
}

/** A step's count as a rate per minute: over the minutes the step holds (a step the range cuts holds fewer). */
function perMinute(values: number[], minutes: number[]): (number | null)[] {
  return values.map((v, i) => (minutes[i] ? v / minutes[i]! : null));
}

/** Some step of a queue has messages waiting but no age: its oldest message carries no send stamp (Celery's). */
function ageUnknown(m: MetricsModel): boolean {
  return m.queues.some((q) => q.depth.some((d, i) => d !== null && d > 0 && q.oldestAge[i] === null));
}

function charts(m: MetricsModel): HTMLElement {
  const c = palette();
  const step = m.stepMinutes;
  const minutes = m.minutes;
  const rate = (v: number) => (Number.isInteger(v) ? number(v) : v.toFixed(1));
  const unit = step === 1 ? 'per minute' : `per minute, ${step}-minute steps`;
  const grid = el('div', { class: 'charts' },
    chart(`Throughput (${unit})`, 'throughput', m, [
      { label: 'ran', stroke: c.blue, values: perMinute(m.throughput, minutes), fill: true },
      { label: 'succeeded', stroke: c.green, values: perMinute(m.succeeded, minutes) },
    ], rate),
    chart(`Failures (${unit})`, 'failures', m, [
      { label: 'failed', stroke: c.red, values: perMinute(m.failed, minutes), fill: true },
      { label: 'retried', stroke: c.yellow, values: perMinute(m.retried, minutes) },
      { label: 'revoked', stroke: c.purple, values: perMinute(m.revoked, minutes) },
      ...(m.totals.deadLettered > 0 ? [{ label: 'dead-lettered', stroke: c.orange, values: perMinute(m.deadLettered, minutes) }] : []),
    ], rate),
    chart('Runtime (log scale)', 'runtime', m, [
      { label: 'p50', stroke: c.blue, values: m.p50 },
      { label: 'p95', stroke: c.orange, values: m.p95 },
    ], (v) => seconds(v), 'log'));
  const colors = [c.blue, c.green, c.orange, c.purple, c.yellow, c.red];
  const queues = m.queues;
  if (queues.length) {
    grid.append(
      chart('Queue depth (messages waiting)', 'depth', m, queues.map((q, i) => ({ label: q.queue, stroke: colors[i % colors.length]!, values: q.depth })), (v) => number(Math.round(v)), 'samples'),
      chart('Oldest waiting message', 'age', m, queues.map((q, i) => ({ label: q.queue, stroke: colors[i % colors.length]!, values: q.oldestAge })), (v) => seconds(v), 'durations'));
    // A gap in the age chart where messages wait: say why rather than leave it to be read as an outage.
    if (ageUnknown(m)) {
      grid.querySelector('#chart-age')!.append(el('p', { class: 'muted chart-note' }, 'Age unknown where the oldest message has no send stamp: sent by Celery.'));
    }
  } else {
    grid.append(el('section', { class: 'chart note' }, el('h2', {}, 'Queues'), el('p', { class: 'muted' }, 'No queue was sampled in this range: one worker of the fleet samples every queue once a minute.')));
  }
  return grid;
}

function empty(m: MetricsModel): HTMLElement {
  const range = RANGES.find((r) => r.hours === m.selection.hours)?.label ?? `${m.selection.hours} h`;
  return el('section', { class: 'empty' },
    el('h2', {}, `No metrics in the last ${range}`),
    el('p', {}, 'No worker has written any history in this range yet. Radish workers write it to Redis (the broker, or the result backend beside RabbitMQ) once a minute, whether or not this view is open.'),
    el('p', {}, 'Start a worker (Radish: Start Worker, or ', el('code', {}, 'radish worker'), ') and run some tasks: each minute shows once it has ended (the charts end at the last whole minute). Workers started with ', el('code', {}, '--no-metrics-history'), ' and Celery\'s own workers write none.'),
    ...(m.selection.task || m.selection.queue ? [el('p', {}, 'A task or queue is picked: pick "All tasks" and "All queues" to see everything.')] : []));
}

function draw(): void {
  for (const p of plots.splice(0)) p.plot.destroy();
  root.replaceChildren();
  root.setAttribute('aria-busy', String(loading || !model));
  if (problem) {
    root.append(el('div', { class: 'problem', role: 'alert' }, el('p', {}, problem.message), problem.fix ? el('p', { class: 'muted' }, problem.fix) : undefined));
  }
  if (!model) {
    if (!problem) root.append(el('p', { class: 'muted' }, 'Reading the metrics history…'));
    return;
  }
  root.append(toolbar(model));
  if (model.empty) {
    root.append(empty(model));
    return;
  }
  root.append(tiles(model), charts(model));
}

window.addEventListener('message', (event: MessageEvent<MetricsUpdate>) => {
  const update = event.data;
  if (update.type === 'model') {
    // A model for an earlier pick (a poll that was under way): the one asked for follows.
    if (wanted && !same(wanted, update.model.selection)) return;
    wanted = undefined;
    model = update.model;
    problem = undefined;
    loading = false;
  } else if (update.type === 'loading') {
    loading = true;
  } else {
    problem = { message: update.message, ...(update.fix ? { fix: update.fix } : {}) };
    wanted = undefined;
    loading = false;
  }
  draw();
});

// Resized: the charts take the new width. A theme change: they take its colours.
let resize: number | undefined;
window.addEventListener('resize', () => {
  if (resize !== undefined) clearTimeout(resize);
  resize = window.setTimeout(() => {
    for (const p of plots) p.plot.setSize({ width: plotWidth(p.holder), height: HEIGHT });
  }, 100);
});
new MutationObserver(() => draw()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

send({ type: 'ready' });
