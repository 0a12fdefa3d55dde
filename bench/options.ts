/** Command-line options of `npm run bench -- [options]`. */
import { parseArgs } from 'node:util';
import { BenchError } from './errors';
import type { Plan } from './measure';
import type { ConsumerMode } from './system';

export const SYSTEMS = ['radish', 'baseline', 'bullmq', 'bee-queue', 'celery-node', 'celery', 'radish-amqp', 'celery-amqp', 'radish-metrics', 'radish-bare'] as const;
/**
 * The table's systems when --systems is not given: every one but `radish-metrics` (Radish with its Prometheus
 * endpoint on and scraped) and `radish-bare` (Radish without the metrics history), the cost of the metrics: asked
 * for by name, `--systems radish-bare,radish,radish-metrics`.
 */
export const DEFAULT_SYSTEMS: readonly string[] = SYSTEMS.filter((s) => s !== 'radish-metrics' && s !== 'radish-bare');
export const SECTIONS = ['table', 'memory', 'refresh', 'scaling', 'load'] as const;
export type Section = (typeof SECTIONS)[number];

export const USAGE = `Usage: npm run bench -- [options]

  --quick              N=2,000, 1 run, 2 s of latency, the Queues view on 50,000 messages, a 2x2 scaling
                       matrix (one to two minutes in all)
  --consumers MODE     where consumers (workers) run: process (one of their own, the default) or inline (in
                       the bench process; celery-node, Celery and the RabbitMQ systems always run in their own)
  --n N                tasks per enqueue/bulk/drain measurement (default 20,000; 2,000 with --quick)
  --runs R             runs per system; the table shows medians (default 3; 1 with --quick)
  --systems a,b        systems in the table (default: ${DEFAULT_SYSTEMS.join(', ')}); peers that are not
                       installed (npm ci --prefix bench) or without Python Celery, and the -amqp systems
                       without a local RabbitMQ (RABBITMQ_URL, default amqp://guest:guest@127.0.0.1:5672, with
                       its management API or rabbitmqctl to make a vhost), are skipped, saying why;
                       radish-bare (radish with --no-metrics-history) and radish-metrics (radish with
                       --metrics-port, scraped every second) only when named: radish-bare,radish,radish-metrics
                       gives the cost of the history and of the endpoint
  --sections a,b       what to measure (default: all: ${SECTIONS.join(', ')}): the systems' table, a Radish
                       worker's memory, the extension's Queues view refresh, Radish's scaling matrix, how long
                       a worker takes to load TypeScript task modules
  -h, --help           this help
`;

export interface BenchOptions {
  quick: boolean;
  help: boolean;
  consumers: ConsumerMode;
  runs: number;
  systems: string[] | undefined;
  sections: Section[];
  plan: Plan;
  /** Messages in all across the 50 queues of the Queues view measurement, and samples of each call. */
  refresh: { messages: number; samples: number };
  /** Messages a worker holds in the memory measurement. */
  held: number;
  /** Fresh processes per project in the TypeScript load measurement (the report shows medians). */
  loadRuns: number;
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new BenchError(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        consumers: { type: 'string' },
        n: { type: 'string' },
        runs: { type: 'string' },
        systems: { type: 'string' },
        sections: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new BenchError(`${(err as Error).message.split('\n')[0]} (see --help)`);
  }
  const quick = values.quick ?? false;
  // Consumers in their own process by default, in --quick too: it costs under a second and keeps quick and
  // full numbers comparable.
  const consumers = values.consumers ?? 'process';
  if (consumers !== 'inline' && consumers !== 'process') throw new BenchError(`--consumers must be inline or process, got ${JSON.stringify(consumers)}`);
  const list = (text: string | undefined) => text?.split(',').map((s) => s.trim()).filter(Boolean);
  const systems = list(values.systems);
  const unknownSystems = systems?.filter((s) => !(SYSTEMS as readonly string[]).includes(s)) ?? [];
  if (unknownSystems.length) throw new BenchError(`unknown system ${unknownSystems.join(', ')} (known: ${SYSTEMS.join(', ')})`);
  const sections = list(values.sections) ?? [...SECTIONS];
  const unknownSections = sections.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknownSections.length) throw new BenchError(`unknown section ${unknownSections.join(', ')} (known: ${SECTIONS.join(', ')})`);
  return {
    quick,
    help: values.help ?? false,
    consumers,
    runs: positiveInt(values.runs, '--runs') ?? (quick ? 1 : 3),
    systems,
    sections: sections as Section[],
    refresh: quick ? { messages: 50_000, samples: 10 } : { messages: 1_000_000, samples: 20 },
    held: 10_000,
    loadRuns: quick ? 3 : 7,
    plan: {
      n: positiveInt(values.n, '--n') ?? (quick ? 2_000 : 20_000),
      inFlight: 100,
      latencyRate: 200,
      latencySeconds: quick ? 2 : 5,
    },
  };
}
