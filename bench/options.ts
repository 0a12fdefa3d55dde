/** Command-line options of `npm run bench -- [options]`. */
import { parseArgs } from 'node:util';
import { BenchError } from './errors';
import type { Plan } from './measure';
import type { ConsumerMode } from './system';

export const USAGE = `Usage: npm run bench -- [options]

  --quick              N=2,000, 1 run, 2 s of latency (about 10 s in all)
  --consumers MODE     where consumers (workers) run: process (one of their own, the default) or inline (in
                       the bench process)
  --n N                tasks per enqueue/bulk/drain measurement (default 20,000; 2,000 with --quick)
  --runs R             runs per system; the table shows medians (default 3; 1 with --quick)
  --systems a,b        systems to measure (default: all: radish, baseline)
  -h, --help           this help
`;

export interface BenchOptions {
  quick: boolean;
  help: boolean;
  consumers: ConsumerMode;
  runs: number;
  systems: string[] | undefined;
  plan: Plan;
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
  return {
    quick,
    help: values.help ?? false,
    consumers,
    runs: positiveInt(values.runs, '--runs') ?? (quick ? 1 : 3),
    systems: values.systems?.split(',').map((s) => s.trim()).filter(Boolean),
    plan: {
      n: positiveInt(values.n, '--n') ?? (quick ? 2_000 : 20_000),
      inFlight: 100,
      latencyRate: 200,
      latencySeconds: quick ? 2 : 5,
    },
  };
}
