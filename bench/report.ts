/** The bench's output: one table on stdout (system x metric, medians) and the full record as JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Environment } from './environment';
import type { Plan, RunResult } from './measure';
import type { BenchOptions } from './options';
import { median } from './stats';

type Metric = keyof RunResult;

export interface SystemReport {
  description: string;
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
}

const COLUMNS: { metric: Metric; title: string; format: (v: number) => string }[] = [
  { metric: 'enqueue', title: 'enqueue/s', format: (v) => Math.round(v).toLocaleString('en-US') },
  { metric: 'bulk', title: 'bulk/s', format: (v) => Math.round(v).toLocaleString('en-US') },
  { metric: 'drain', title: 'drain/s', format: (v) => Math.round(v).toLocaleString('en-US') },
  { metric: 'p50', title: 'p50 ms', format: (v) => v.toFixed(2) },
  { metric: 'p99', title: 'p99 ms', format: (v) => v.toFixed(2) },
];

export function summarize(description: string, runs: RunResult[]): SystemReport {
  const med: Partial<RunResult> = {};
  for (const { metric } of COLUMNS) {
    const values = runs.map((r) => r[metric]).filter((v): v is number => v !== undefined);
    if (values.length) med[metric] = median(values);
  }
  return { description, median: med, runs };
}

export function formatTable(report: BenchReport): string {
  const { plan, machine } = report;
  const head = `Radish bench (${report.mode}: N=${plan.n.toLocaleString('en-US')}, ${report.runs === 1 ? '1 run' : `median of ${report.runs} runs`}, ` +
    `consumers ${report.consumers === 'inline' ? 'in the bench process' : 'in their own process'}, concurrency 50, ` +
    `latency at ${plan.latencyRate}/s for ${plan.latencySeconds}s)`;
  const env = `${report.date}  commit ${report.commit ?? 'unknown'}  node ${report.node}  redis ${report.redis}  ${machine.cpu} x${machine.cores}`;
  const names = Object.keys(report.systems);
  const nameWidth = Math.max(8, ...names.map((n) => n.length));
  const rows = names.map((name) => [name, ...COLUMNS.map(({ metric, format }) => {
    const v = report.systems[name]!.median[metric];
    return v === undefined ? '-' : format(v);
  })]);
  const header = ['system', ...COLUMNS.map((c) => c.title)];
  const widths = header.map((h, i) => Math.max(i === 0 ? nameWidth : h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const notes = names.map((n) => `  ${report.systems[n]!.description}`);
  return [head, env, '', line(header), ...rows.map(line), '', ...notes].join('\n');
}

export function writeJson(path: string, report: BenchReport): void {
  mkdirSync(dirname(path), { recursive: true });
  // Three decimals are below what the machine can reproduce; more would only be noise in diffs.
  const rounded = (_key: string, value: unknown) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value);
  writeFileSync(path, JSON.stringify(report, rounded, 2) + '\n');
}
