/**
 * `npm run bench [-- --quick]`: enqueue, bulk enqueue, drain and latency of Radish, a raw-Redis baseline and the
 * peers (BullMQ, bee-queue, celery-node from bench/node_modules; Python Celery when it is installed), one after
 * another on a throwaway redis-server with FLUSHALL between; Radish and Celery on the local RabbitMQ too (a vhost of
 * the bench's own each, the queue purged between measurements, results in the same redis-server) when there is one;
 * then a Radish worker's memory, the extension's Queues view on a big deployment and Radish's scaling. Printed as
 * one report and recorded in test-results/bench.json.
 *
 * dist/bench.js is also the consumer process of the baseline and the Node peers (`--consumer KIND URL C`), so the
 * bench needs no second build entry.
 */
import { join } from 'node:path';
import Redis from 'ioredis';
import { redactUrl, RedisUnavailableError } from 'radish';
import { rabbitVersion } from './amqp-bench';
import { BaselineSystem } from './baseline-system';
import { BeeQueueSystem } from './bee-queue-system';
import { BullmqSystem } from './bullmq-system';
import { CeleryNodeSystem } from './celery-node-system';
import { CeleryAmqpSystem } from './celery-amqp-system';
import { CelerySystem } from './celery-system';
import { killChildrenNow } from './child';
import { consumerProcess } from './consumer-process';
import { environment } from './environment';
import { BenchError } from './errors';
import { measureLoad } from './load';
import { measureRun, warmUpClient, type RunResult } from './measure';
import { measureMemory } from './memory';
import { DEFAULT_SYSTEMS, parseOptions, SYSTEMS, USAGE, type BenchOptions } from './options';
import { deleteVhostsNow, RABBITMQ_URL } from './rabbitmq';
import { RadishAmqpSystem } from './radish-amqp-system';
import { RadishSystem } from './radish-system';
import { startRedisServer } from './redis-server';
import { measureRefresh } from './refresh';
import { formatReport, ratiosToPeers, summarize, writeJson, type BenchReport } from './report';
import { measureScaling } from './scaling';
import type { System } from './system';
import { checkTargets } from './targets';

const ROOT = join(__dirname, '..');
/** test-results/ is already git-ignored, so a bench run leaves the working tree clean. */
const JSON_PATH = join(ROOT, 'test-results', 'bench.json');
/** The Queues view target is defined on this many messages (--quick measures fewer and says so). */
const REFRESH_TARGET_MESSAGES = 1_000_000;

function createSystems(names: readonly string[]): System[] {
  const make: Record<(typeof SYSTEMS)[number], () => System> = {
    radish: () => new RadishSystem(),
    baseline: () => new BaselineSystem(RadishSystem.messageBytes()),
    bullmq: () => new BullmqSystem(),
    'bee-queue': () => new BeeQueueSystem(),
    'celery-node': () => new CeleryNodeSystem(),
    celery: () => new CelerySystem(),
    'radish-amqp': () => new RadishAmqpSystem(),
    'celery-amqp': () => new CeleryAmqpSystem(),
    'radish-metrics': () => new RadishSystem({ metrics: true }),
    'radish-bare': () => new RadishSystem({ history: false }),
  };
  return SYSTEMS.filter((n) => names.includes(n)).map((n) => make[n]());
}

const progress = (line: string) => process.stderr.write(line + '\n');

function fmt(r: RunResult): string {
  const rate = (v: number | undefined) => (v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
  const cpu = r.cpu ? ` (${r.cpu.total.toFixed(1)} µs CPU a task, redis ${r.cpu.redis.toFixed(1)})` : '';
  return `enqueue ${rate(r.enqueue)}/s, bulk ${rate(r.bulk)}/s, drain ${rate(r.drain)}/s${cpu}, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`;
}

/** The systems' table: each available system opened and warmed, then runs alternating between systems. */
/** @param redisPid the bench's redis-server, whose CPU each drain reads. */
async function measureSystems(options: BenchOptions, redisUrl: string, redisPid: number): Promise<Pick<BenchReport, 'systems' | 'skipped' | 'rabbitmq'>> {
  const skipped: Record<string, string> = {};
  const systems: System[] = [];
  for (const system of createSystems(options.systems ?? DEFAULT_SYSTEMS)) {
    const why = await system.unavailable?.();
    if (why) {
      skipped[system.name] = why;
      progress(`skipped ${system.name}: ${why}`);
    } else {
      systems.push(system);
    }
  }
  const ctx = { redisUrl, consumerMode: options.consumers, concurrency: 50 };
  try {
    for (const system of systems) {
      await system.open(ctx);
      await warmUpClient(system);
    }
    const runs = new Map<string, RunResult[]>(systems.map((s) => [s.name, []]));
    // Runs alternate between systems, so a slow phase of the machine does not land on one system only.
    for (let run = 1; run <= options.runs; run++) {
      for (const system of systems) {
        const result = await measureRun(system, options.plan, redisPid);
        runs.get(system.name)!.push(result);
        progress(`${system.name} run ${run}/${options.runs}: ${fmt(result)}`);
      }
    }
    const rabbit = systems.some((s) => s.broker === 'rabbitmq') ? await rabbitVersion() : undefined;
    return {
      systems: Object.fromEntries(systems.map((s) => [s.name, summarize(s.description, s.version, s.broker ?? 'redis', runs.get(s.name)!)])),
      skipped,
      ...(rabbit ? { rabbitmq: { version: rabbit, url: redactUrl(RABBITMQ_URL) } } : {}),
    };
  } finally {
    for (const system of systems) await system.close().catch(() => undefined);
  }
}

async function bench(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const server = await startRedisServer();
  // Whatever ends the process (an error, Ctrl-C), no redis-server, consumer or vhost outlives it.
  process.on('exit', () => {
    killChildrenNow();
    server.killNow();
    deleteVhostsNow();
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
    const sections = new Set(options.sections);
    const notes: string[] = [];
    const table = sections.has('table') ? await measureSystems(options, server.url, server.pid) : { systems: {}, skipped: {} };
    if (!sections.has('table')) notes.push('systems table: not measured (--sections)');

    let memory;
    if (sections.has('memory')) {
      memory = await measureMemory(admin, server.url, options.held);
      progress(`memory: started ${memory.started.totalMB.toFixed(1)} MB, idle ${memory.idle.totalMB.toFixed(1)} MB, ${memory.heldEta} ETA ${memory.eta.totalMB.toFixed(1)} MB, ` +
        `${memory.heldPrefetched} prefetched ${memory.prefetched.totalMB.toFixed(1)} MB`);
    } else {
      notes.push('Radish worker memory: not measured (--sections)');
    }
    let refresh;
    if (sections.has('refresh')) {
      refresh = await measureRefresh(admin, server.url, options.refresh.messages, options.refresh.samples);
      progress(`refresh: ${refresh.refreshMs.toFixed(2)} ms on ${refresh.messages.toLocaleString('en-US')} messages, page ${refresh.page.ms.toFixed(2)} ms`);
    } else {
      notes.push('Queues view refresh: not measured (--sections)');
    }
    let scaling;
    if (sections.has('scaling')) {
      scaling = await measureScaling(server.url, options.plan.n, options.quick, progress);
    } else {
      notes.push('Radish scaling: not measured (--sections)');
    }
    let load;
    if (sections.has('load')) {
      load = measureLoad(join(ROOT, 'dist', 'radish.js'), ROOT, options.loadRuns);
      progress(`load: ${load.projects.map((p) => `${p.project} ${p.cold.loadMs.toFixed(0)} ms cold, ${p.warm.loadMs.toFixed(0)} ms warm`).join('; ')}`);
    } else {
      notes.push('TypeScript task module load: not measured (--sections)');
    }

    const report: BenchReport = {
      ...env,
      mode: options.quick ? 'quick' : 'full',
      consumers: options.consumers,
      runs: options.runs,
      plan: options.plan,
      ...table,
      ratios: ratiosToPeers(table.systems),
      rabbitmqRatios: ratiosToPeers(table.systems, 'radish-amqp', 'rabbitmq'),
      ...(memory ? { memory } : {}),
      ...(refresh ? { refresh } : {}),
      ...(scaling ? { scaling } : {}),
      ...(load ? { load } : {}),
      targets: checkTargets({
        medians: Object.fromEntries(Object.entries(table.systems).map(([name, s]) => [name, s.median])),
        skipped: table.skipped,
        ...(memory ? { memory } : {}),
        ...(refresh ? { refresh } : {}),
        refreshTargetMessages: REFRESH_TARGET_MESSAGES,
      }),
      notes,
    };
    process.stdout.write('\n' + formatReport(report) + '\n');
    writeJson(JSON_PATH, report);
    process.stdout.write(`\nwrote ${JSON_PATH}\n`);
    return 0;
  } finally {
    admin.disconnect();
    await server.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  return argv[0] === '--consumer' ? consumerProcess(argv.slice(1)) : bench(argv);
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
