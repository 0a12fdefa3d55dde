/**
 * The bench's output: one table on stdout (system x metric, medians), Radish's ratio to each peer on the same broker
 * (Redis; RabbitMQ), the Radish-only measurements (memory, Queues view, scaling), Radish against its targets; and the
 * full record as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Environment } from './environment';
import type { LoadResult } from './load';
import { ceiling } from './cpu';
import type { Metric, Plan, RunResult } from './measure';
import type { MemoryResult, Rss } from './memory';
import type { BenchOptions } from './options';
import type { RefreshResult } from './refresh';
import type { ScalingResult } from './scaling';
import { median } from './stats';
import type { Broker } from './system';
import type { TargetCheck } from './targets';

export interface SystemReport {
  description: string;
  /** The peer's package version; absent for Radish and the baseline. */
  version?: string;
  /** The broker the tasks went through (results are in the bench's redis-server for every system). */
  broker: Broker;
  /** Median of the runs, per metric. */
  median: Partial<RunResult>;
  runs: RunResult[];
}

export interface BenchReport extends Environment {
  mode: 'quick' | 'full';
  consumers: BenchOptions['consumers'];
  runs: number;
  plan: Plan;
  systems: Record<string, SystemReport>;
  /** Systems not measured, and why (`run npm ci --prefix bench`, no Python Celery). */
  skipped: Record<string, string>;
  /**
   * Radish's median over each other Redis system's, per metric (throughput: > 1 is Radish faster; latency: < 1 is).
   */
  ratios: Record<string, Partial<RunResult>>;
  /** The RabbitMQ the -amqp systems ran on, when one of them was measured. */
  rabbitmq?: { version: string; url: string };
  /** Radish on RabbitMQ's (radish-amqp) median over each other RabbitMQ system's (celery-amqp), as `ratios`. */
  rabbitmqRatios: Record<string, Partial<RunResult>>;
  memory?: MemoryResult;
  refresh?: RefreshResult;
  scaling?: ScalingResult;
  load?: LoadResult;
  targets: TargetCheck[];
  /** What this run left out, said in the output too. */
  notes: string[];
}

const rate = (v: number) => Math.round(v).toLocaleString('en-US');
const COLUMNS: { metric: Metric; title: string; format: (v: number) => string }[] = [
  { metric: 'enqueue', title: 'enqueue/s', format: rate },
  { metric: 'bulk', title: 'bulk/s', format: rate },
  { metric: 'drain', title: 'drain/s', format: rate },
  { metric: 'p50', title: 'p50 ms', format: (v) => v.toFixed(2) },
  { metric: 'p99', title: 'p99 ms', format: (v) => v.toFixed(2) },
];

export function summarize(description: string, version: string | undefined, broker: Broker, runs: RunResult[]): SystemReport {
  const med: Partial<RunResult> = {};
  for (const { metric } of COLUMNS) {
    const values = runs.map((r) => r[metric]).filter((v): v is number => v !== undefined);
    if (values.length) med[metric] = median(values);
  }
  const cpu = runs.flatMap((r) => (r.cpu ? [r.cpu] : []));
  if (cpu.length) med.cpu = { total: median(cpu.map((c) => c.total)), redis: median(cpu.map((c) => c.redis)) };
  return { description, ...(version === undefined ? {} : { version }), broker, median: med, runs };
}

/**
 * Radish's median (the system `radish`, on `broker`) over every other system's on the same broker, metric by metric
 * (where both have one). Systems on another broker are left out: Radish on Redis over Celery on RabbitMQ would
 * compare the brokers as much as the libraries.
 */
export function ratiosToPeers(systems: Record<string, SystemReport>, radishName = 'radish', broker: Broker = 'redis'): Record<string, Partial<RunResult>> {
  const radish = systems[radishName]?.median;
  if (!radish || systems[radishName]!.broker !== broker) return {};
  const out: Record<string, Partial<RunResult>> = {};
  for (const [name, report] of Object.entries(systems)) {
    if (name === radishName || report.broker !== broker) continue;
    const r: Partial<RunResult> = {};
    for (const { metric } of COLUMNS) {
      const ours = radish[metric];
      const theirs = report.median[metric];
      if (ours !== undefined && theirs !== undefined && theirs > 0) r[metric] = ours / theirs;
    }
    out[name] = r;
  }
  return out;
}

/** Columns padded to their widest cell: the first left-aligned, the rest right-aligned (or as `left` says). */
function grid(header: string[], rows: string[][], left: (column: number) => boolean = (i) => i === 0): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function systemsTable(report: BenchReport): string[] {
  const names = Object.keys(report.systems);
  if (names.length === 0) return [];
  const rows = names.map((name) => [name, ...COLUMNS.map(({ metric, format }) => {
    const v = report.systems[name]!.median[metric];
    return v === undefined ? '-' : format(v);
  })]);
  const out = grid(['system', ...COLUMNS.map((c) => c.title)], rows);
  const onRabbit = names.filter((n) => report.systems[n]!.broker === 'rabbitmq');
  if (onRabbit.length) {
    const where = report.rabbitmq ? ` ${report.rabbitmq.version} (${report.rabbitmq.url}, a vhost of this run per system)` : '';
    const others = names.length > onRabbit.length ? '; the others: Redis (the same redis-server)' : '';
    out.push(`broker: ${onRabbit.join(', ')}: RabbitMQ${where}, results in the bench's redis-server${others}`);
  }
  const ratioRows = (ratios: Record<string, Partial<RunResult>>) => grid(['peer', ...COLUMNS.map((c) => c.metric)],
    Object.keys(ratios).map((peer) => [peer, ...COLUMNS.map(({ metric }) => {
      const v = ratios[peer]![metric];
      return v === undefined ? '-' : `${v.toFixed(2)}x`;
    })]));
  out.push(...cpuTable(report));
  if (Object.keys(report.ratios).length) {
    out.push('', 'Radish / peer (throughput: above 1 = Radish faster; latency: below 1 = Radish faster)');
    out.push(...ratioRows(report.ratios));
  }
  if (Object.keys(report.rabbitmqRatios).length) {
    out.push('', `Radish on RabbitMQ / peer on RabbitMQ (radish-amqp / ${Object.keys(report.rabbitmqRatios).join(', ')}; ` +
      'throughput: above 1 = Radish faster; latency: below 1 = Radish faster)');
    out.push(...ratioRows(report.rabbitmqRatios));
  }
  return out;
}

/**
 * What each drain cost in CPU per task, and the fastest drain that cost allows on this machine's cores: a system
 * near its ceiling is bound by its work per task, one far below it by waits (round trips, a worker idle between
 * fetches).
 */
function cpuTable(report: BenchReport): string[] {
  const names = Object.keys(report.systems).filter((n) => report.systems[n]!.median.cpu);
  if (names.length === 0) return [];
  const cores = report.machine.cores;
  const us = (v: number) => v.toFixed(1);
  const rows = names.map((name) => {
    const { cpu, drain } = report.systems[name]!.median;
    const top = ceiling(cpu!.total, cores);
    return [name, us(cpu!.total), us(cpu!.redis), us(Math.max(0, cpu!.total - cpu!.redis)), rate(top),
      drain === undefined ? '-' : `${Math.round((drain / top) * 100)}%`];
  });
  return ['', `Drain CPU per task, µs (medians; over the timed drain: the whole machine less the bench process, and of it the bench's ` +
    `redis-server), and the fastest drain that much CPU allows on ${cores} cores`,
  ...grid(['system', 'CPU', 'redis', 'the rest', 'ceiling/s', 'drain/ceiling'], rows)];
}

function rss(label: string, r: Rss): string[] {
  const children = Object.entries(r.children).map(([name, mb]) => ` + ${name} ${mb.toFixed(1)}`).join('');
  return [label, `${r.totalMB.toFixed(1)} MB`, children ? `(worker ${r.workerMB.toFixed(1)}${children})` : ''];
}

function memoryLines(m: MemoryResult): string[] {
  const rows = [
    rss('just started (-c 50, transpile cache empty), 1 s after ready', m.started),
    rss(`idle (-c 50), median of ${m.idle.lowMB.toFixed(1)}-${m.idle.highMB.toFixed(1)} MB read 10-30 s after ready`, m.idle),
    rss(`holding ${m.heldEta.toLocaleString('en-US')} ETA tasks an hour ahead (-c 50)`, m.eta),
    rss(`holding ${m.heldPrefetched.toLocaleString('en-US')} prefetched tasks (-c 1 --prefetch-multiplier ${m.held})`, m.prefetched),
  ];
  return [
    'Radish worker memory (VmRSS of `radish worker -A bench/tasks.ts` and the processes it keeps; MB = 10^6 bytes)',
    ...grid(['', 'RSS', ''], rows, (i) => i !== 1).slice(1).map((l) => `  ${l}`),
  ];
}

function refreshLines(r: RefreshResult): string[] {
  const commands = Object.entries(r.writes.commands).map(([name, n]) => `${n} ${name}`).join(', ');
  return [
    `Queues view (Inspector from runner/inspector.ts) on ${r.queues} queues / ${r.messages.toLocaleString('en-US')} messages, median of ${r.samples}`,
    `  refresh, queues(): ${r.refreshMs.toFixed(2)} ms (slowest ${r.refreshMaxMs.toFixed(2)} ms); ` +
      `${r.writes.roundTrips} round-trips (${commands}), depths in ${r.writes.depthRoundTrips}`,
    `  page, messages('${r.page.queue}', ${r.page.offset.toLocaleString('en-US')}, ${r.page.limit}): ${r.page.ms.toFixed(2)} ms, ` +
      `${r.page.roundTrips} round-trips, ${r.page.read} messages`,
  ];
}

function scalingLines(s: ScalingResult): string[] {
  const head = `Radish scaling: drain/s of N=${s.n.toLocaleString('en-US')}, 1 run per cell, worker processes x concurrency` +
    (s.reduced ? ' (--quick: a reduced matrix; the full run measures 1, 2, 4 processes x concurrency 1, 10, 50, 200)' : '');
  const rows = s.processes.map((p) => [`${p} process${p === 1 ? '' : 'es'}`, ...s.concurrency.map((c) => {
    const cell = s.cells.find((x) => x.processes === p && x.concurrency === c);
    return cell ? rate(cell.drain) : '-';
  })]);
  return [head, ...grid(['', ...s.concurrency.map((c) => `c=${c}`)], rows).map((l) => `  ${l}`)];
}

function loadLines(l: LoadResult): string[] {
  const rows = l.projects.flatMap((p) => ([['cold', p.cold], ['warm', p.warm]] as const).map(([cache, t]) =>
    [`${p.project}, transpile cache ${cache}`, `${t.loadMs.toFixed(0)} ms`, `${t.loadCpuMs.toFixed(0)} ms`, `${t.processMs.toFixed(0)} ms`]));
  return [
    `TypeScript task modules loaded by a fresh worker process (loadModule of dist/radish.js), median of ${l.runs}`,
    ...grid(['', 'load', 'load CPU', 'Node start to loaded'], rows).map((line) => `  ${line}`),
  ];
}

function targetLines(targets: TargetCheck[]): string[] {
  const width = Math.max(...targets.map((t) => t.target.length));
  return ['Radish vs targets', ...targets.map((t) => {
    const verdict = t.met === null ? '-' : t.met ? 'met' : 'NOT MET';
    return `  ${verdict.padEnd(7)}  ${t.target.padEnd(width)}  ${t.shown}`;
  })];
}

export function formatReport(report: BenchReport): string {
  const { plan, machine } = report;
  const head = `Radish bench (${report.mode}: N=${plan.n.toLocaleString('en-US')}, ${report.runs === 1 ? '1 run' : `median of ${report.runs} runs`}, ` +
    `consumers ${report.consumers === 'inline' ? 'in the bench process' : 'in their own process'}, concurrency 50, ` +
    `latency at ${plan.latencyRate}/s for ${plan.latencySeconds}s)`;
  const rabbit = report.rabbitmq ? `  rabbitmq ${report.rabbitmq.version}` : '';
  const env = `${report.date}  commit ${report.commit ?? 'unknown'}  node ${report.node}  redis ${report.redis}${rabbit}  ${machine.cpu} x${machine.cores}`;
  const out = [head, env, ''];
  out.push(...systemsTable(report));
  for (const [name, why] of Object.entries(report.skipped)) out.push(`skipped ${name}: ${why}`);
  const names = Object.keys(report.systems);
  if (names.length) out.push('', ...names.map((n) => `  ${report.systems[n]!.description}`));
  if (report.memory) out.push('', ...memoryLines(report.memory));
  if (report.refresh) out.push('', ...refreshLines(report.refresh));
  if (report.scaling) out.push('', ...scalingLines(report.scaling));
  if (report.load) out.push('', ...loadLines(report.load));
  if (report.notes.length) out.push('', ...report.notes);
  out.push('', ...targetLines(report.targets));
  return out.join('\n');
}

export function writeJson(path: string, report: BenchReport): void {
  mkdirSync(dirname(path), { recursive: true });
  // Three decimals are below what the machine can reproduce; more would only be noise in diffs.
  const rounded = (_key: string, value: unknown) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value);
  writeFileSync(path, JSON.stringify(report, rounded, 2) + '\n');
}
