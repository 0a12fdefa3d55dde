/**
 * Metrics counted as plain numbers on the task path and handed to prom-client's registry when it is scraped. A
 * prom-client `inc()` or `observe()` hashes and checks its labels on every call (about 1 µs each, and a task makes
 * about ten), which on a drain of no-op tasks was a fifth of a worker's time. Here a series is a cell looked up
 * once (callers keep it per task name) and bumped with a field increment; prom-client still owns the metric types,
 * the registry and the text format.
 */
import type { Counter, Registry } from 'prom-client';
import { promClient } from '../on-demand/load';

/** One series' value. */
export interface Cell {
  value: number;
}

/** One histogram series: a count per bucket (not cumulative; the last is +Inf), the sum and the count. */
export interface HistogramCell {
  readonly counts: number[];
  sum: number;
  count: number;
}

interface Series<L extends string, C> {
  labels: Record<L, string>;
  cell: C;
}

/** The series of one metric, by their label values. */
class SeriesMap<L extends string, C> {
  private readonly byKey = new Map<string, Series<L, C>>();

  constructor(private readonly labelNames: readonly L[], private readonly make: () => C) {}

  /** The cell of these labels, made on first use (a new series). */
  cell(labels: Record<L, string>): C {
    // Label values joined by a character that cannot be in one's key otherwise ambiguously (\u0000).
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let series = this.byKey.get(key);
    if (series === undefined) {
      series = { labels: { ...labels }, cell: this.make() };
      this.byKey.set(key, series);
    }
    return series.cell;
  }

  values(): IterableIterator<Series<L, C>> {
    return this.byKey.values();
  }
}

/** What a metric is declared with. */
export interface TallyConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/** A counter whose series are cells. */
export class CounterTally<L extends string> {
  private readonly series: SeriesMap<L, Cell>;

  constructor(registry: Registry, config: TallyConfig<L>) {
    const { Counter } = promClient();
    const series = this.series = new SeriesMap<L, Cell>(config.labelNames, () => ({ value: 0 }));
    new Counter({
      name: config.name, help: config.help, labelNames: [...config.labelNames], registers: [registry],
      collect() {
        this.reset();
        for (const { labels, cell } of series.values()) this.inc(labels as Partial<Record<L, string>>, cell.value);
      },
    });
  }

  cell(labels: Record<L, string>): Cell {
    return this.series.cell(labels);
  }
}

/** A gauge whose series are cells. */
export class GaugeTally<L extends string> {
  private readonly series: SeriesMap<L, Cell>;

  constructor(registry: Registry, config: TallyConfig<L>) {
    const { Gauge } = promClient();
    const series = this.series = new SeriesMap<L, Cell>(config.labelNames, () => ({ value: 0 }));
    new Gauge({
      name: config.name, help: config.help, labelNames: [...config.labelNames], registers: [registry],
      collect() {
        this.reset();
        for (const { labels, cell } of series.values()) this.set(labels as Partial<Record<L, string>>, cell.value);
      },
    });
  }

  cell(labels: Record<L, string>): Cell {
    return this.series.cell(labels);
  }
}

/** One line of a metric as prom-client's registry formats it. */
interface ExportedValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A histogram whose series are cells. prom-client's Histogram has no way to take bucket counts, so this is a
 * metric of its own for prom-client's registry: the registry reads a metric's `name`, `help`, `type` and `get()`
 * (the values, each with its line's name and labels, as prom-client's own Histogram gives them) and formats them.
 */
export class HistogramTally<L extends string> {
  readonly type = 'histogram';
  readonly name: string;
  readonly help: string;
  private readonly bounds: readonly number[];
  /** The bounds' `le` label values, made once. */
  private readonly les: readonly (string | number)[];
  private readonly series: SeriesMap<L, HistogramCell>;

  /**
   * @param config.pythonLe write `le` as Python's prometheus_client does (`1.0`, `2.5`, `10.0`) rather than as
   *   prom-client does (`1`, `10`): for metrics under another exporter's names (Flower's), whose dashboards select a
   *   bucket by its exact `le`. Default false.
   */
  constructor(registry: Registry, config: TallyConfig<L> & { buckets: readonly number[]; pythonLe?: boolean }) {
    this.name = config.name;
    this.help = config.help;
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.les = config.pythonLe ? this.bounds.map(pythonFloat) : this.bounds;
    const slots = this.bounds.length + 1;
    this.series = new SeriesMap<L, HistogramCell>(config.labelNames, () => ({ counts: new Array<number>(slots).fill(0), sum: 0, count: 0 }));
    // The registry's type names prom-client's four classes; it reads only what this class has (see above).
    registry.registerMetric(this as unknown as Counter);
  }

  cell(labels: Record<L, string>): HistogramCell {
    return this.series.cell(labels);
  }

  /** Count `value` in a cell. */
  observe(cell: HistogramCell, value: number): void {
    const bounds = this.bounds;
    let i = 0;
    // A value on a bound belongs to it (`le`, less than or equal).
    while (i < bounds.length && value > bounds[i]!) i++;
    cell.counts[i]!++;
    cell.sum += value;
    cell.count++;
  }

  /** The values prom-client's registry formats (called at each scrape). */
  get(): Promise<{ name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }> {
    const values: ExportedValue[] = [];
    for (const { labels, cell } of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += cell.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: this.les[i]!, ...labels }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: cell.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' });
  }
}

/**
 * A number as Python's prometheus_client writes a float label (its `floatToGoString`): Python's repr (`1.0`, `0.005`),
 * `+Inf`/`-Inf`/`NaN`, and from 7 integer digits on Go's exponent form (`1e+06`).
 */
export function pythonFloat(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Number.isNaN(n)) return 'NaN';
  // Python's repr: the shortest digits that read back (as JavaScript's), `.0` on integral values, and the exponent
  // form (sign and two digits at least: 1e-05, 1e+16) below 1e-4 and from 1e16 on, where JavaScript's bounds differ.
  const abs = Math.abs(n);
  const s = abs !== 0 && (abs < 1e-4 || abs >= 1e16)
    ? n.toExponential().replace(/e([+-])(\d)$/, (_, sign: string, d: string) => `e${sign}0${d}`)
    : Number.isInteger(n) ? n.toFixed(1) : String(n);
  const dot = s.indexOf('.');
  if (n > 0 && dot > 6) {
    const mantissa = `${s[0]}.${s.slice(1, dot)}${s.slice(dot + 1)}`.replace(/[0.]+$/, '');
    return `${mantissa}e+0${dot - 1}`;
  }
  return s;
}
