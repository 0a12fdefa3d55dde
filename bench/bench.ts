/**
 * `npm run bench [-- --quick]`: enqueue, bulk enqueue, drain and latency of Radish and of a raw-Redis
 * baseline, on a throwaway redis-server, printed as one table and recorded in test-results/bench.json.
 *
 * dist/bench.js is also the baseline's consumer process (`--baseline-consumer <url>`), so the bench needs no
 * second build entry.
 */
import { join } from 'node:path';
import Redis from 'ioredis';
import { RedisUnavailableError } from 'radish';
import { startBaselineConsumer } from './baseline-consumer';
import { BaselineSystem } from './baseline-system';
import { killChildrenNow } from './child';
import { now } from './clock';
import { environment } from './environment';
import { BenchError } from './errors';
import { measureRun, warmUpClient, type RunResult } from './measure';
import { parseOptions, USAGE } from './options';
import { RadishSystem } from './radish-system';
import { startRedisServer } from './redis-server';
import { formatTable, summarize, writeJson, type BenchReport } from './report';
import type { System } from './system';

const ROOT = join(__dirname, '..');
/** test-results/ is already git-ignored, so a bench run leaves the working tree clean. */
const JSON_PATH = join(ROOT, 'test-results', 'bench.json');

function selectSystems(names: string[] | undefined): System[] {
  const all: System[] = [new RadishSystem(), new BaselineSystem(RadishSystem.messageBytes())];
  if (!names) return all;
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length) throw new BenchError(`unknown system ${unknown.join(', ')} (known: ${all.map((s) => s.name).join(', ')})`);
  return all.filter((s) => names.includes(s.name));
}

/** The baseline consumer as a process of its own: consume until SIGTERM. */
async function baselineConsumerProcess(url: string | undefined): Promise<number> {
  if (!url) throw new BenchError('--baseline-consumer needs a Redis URL');
  const consumer = await startBaselineConsumer(url, now);
  const signalled = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await Promise.race([signalled, consumer.finished]);
  await consumer.stop();
  return 0;
}

function fmt(r: RunResult): string {
  const rate = (v: number | undefined) => (v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
  return `enqueue ${rate(r.enqueue)}/s, bulk ${rate(r.bulk)}/s, drain ${rate(r.drain)}/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`;
}

async function bench(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const systems = selectSystems(options.systems);
  const server = await startRedisServer();
  // Whatever ends the process (an error, Ctrl-C), no redis-server or consumer outlives it.
  process.on('exit', () => {
    killChildrenNow();
    server.killNow();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: interrupted (${sig})\n`);
      process.exit(130);
    });
  }
  const admin = new Redis(server.url, { lazyConnect: true });
  try {
    await admin.connect();
    const env = await environment(admin, ROOT);
    const ctx = { redisUrl: server.url, consumerMode: options.consumers, concurrency: 50 };
    for (const system of systems) {
      await system.open(ctx);
      await warmUpClient(system);
    }
    const runs = new Map<string, RunResult[]>(systems.map((s) => [s.name, []]));
    // Runs alternate between systems, so a slow phase of the machine does not land on one system only.
    for (let run = 1; run <= options.runs; run++) {
      for (const system of systems) {
        const result = await measureRun(system, options.plan);
        runs.get(system.name)!.push(result);
        process.stderr.write(`${system.name} run ${run}/${options.runs}: ${fmt(result)}\n`);
      }
    }
    const report: BenchReport = {
      ...env,
      mode: options.quick ? 'quick' : 'full',
      consumers: options.consumers,
      runs: options.runs,
      plan: options.plan,
      systems: Object.fromEntries(systems.map((s) => [s.name, summarize(s.description, runs.get(s.name)!)])),
    };
    process.stdout.write('\n' + formatTable(report) + '\n');
    writeJson(JSON_PATH, report);
    process.stdout.write(`\nwrote ${JSON_PATH}\n`);
    return 0;
  } finally {
    for (const system of systems) await system.close().catch(() => undefined);
    admin.disconnect();
    await server.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  return argv[0] === '--baseline-consumer' ? baselineConsumerProcess(argv[1]) : bench(argv);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof BenchError || err instanceof RedisUnavailableError) process.stderr.write(`bench: ${err.message}\n`);
    else process.stderr.write(`bench: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    // process.exit, not exitCode: a connection left open by the failure must not keep the process alive.
    process.exit(1);
  },
);
