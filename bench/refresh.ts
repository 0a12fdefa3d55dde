/**
 * What the extension's Queues view costs on a big deployment: `Inspector.queues()` (what a refresh calls) on 50
 * declared queues holding 1,000,000 messages in all, and `Inspector.messages()` reading one page from the middle
 * of one of them. Each call's writes to Redis are counted by watching the connection: a write is one command
 * sent alone or one pipeline, so it is the number of round-trips when the calls are sequential.
 */
import type Redis from 'ioredis';
import { Inspector, Keys, Radish } from 'radish';
import { now } from './clock';
import { median } from './stats';

export interface RefreshResult {
  queues: number;
  messages: number;
  /** `Inspector.queues()`: median and slowest of `samples` calls, ms. */
  refreshMs: number;
  refreshMaxMs: number;
  samples: number;
  /** What one refresh wrote to Redis. */
  writes: WriteSummary;
  /** `Inspector.messages(queue, offset, limit)` in the middle of one queue: median ms, writes, messages read. */
  page: { queue: string; offset: number; limit: number; ms: number; roundTrips: number; read: number };
}

export interface WriteSummary {
  /** Writes to Redis (a command alone, or a pipeline): round-trips, as the calls are sequential. */
  roundTrips: number;
  /** Commands by name, e.g. `{ scan: 1, smembers: 51, llen: 204 }`. */
  commands: Record<string, number>;
  /** Writes that carried more than one command. */
  pipelines: number;
  /** Writes that carried queue depths (LLEN): 1 when the depths come in one pipelined round-trip. */
  depthRoundTrips: number;
}

const QUEUES = 50;
/** Distinct messages per queue, pushed over and over by a script on the server (1 GB over loopback would take longer than the rest). */
const DISTINCT = 100;
const PAGE = 100;
/** LPUSH ARGV[2..] onto KEYS[1], ARGV[1] times. */
const FILL = "for _ = 1, tonumber(ARGV[1]) do redis.call('LPUSH', KEYS[1], unpack(ARGV, 2)) end return redis.call('LLEN', KEYS[1])";

/**
 * Counts what a connection writes: one command sent alone, or one batch (ioredis hands the commands of a pipeline,
 * explicit or automatic, one shared stream object, and writes them at once).
 */
class WriteCounter {
  /** The commands of each write, in order. */
  private alone: string[][] = [];
  private readonly batches = new Map<object, string[]>();

  watch(redis: Redis): void {
    // Wrapping the client's own method is the one place every command passes through, pipelined or not. The
    // signature is ioredis's; only the arguments' shape the counter reads is declared.
    type Send = (command: { name: string }, stream?: object, ...rest: unknown[]) => unknown;
    const target = redis as unknown as { sendCommand: Send };
    const original = target.sendCommand.bind(redis);
    target.sendCommand = (command, stream, ...rest) => {
      if (stream === undefined) this.alone.push([command.name]);
      else {
        const batch = this.batches.get(stream) ?? [];
        batch.push(command.name);
        this.batches.set(stream, batch);
      }
      return original(command, stream, ...rest);
    };
  }

  private get writes(): string[][] {
    return [...this.alone, ...this.batches.values()];
  }

  /** What was written since the last reset: writes (each a round-trip when they are sequential) and commands. */
  summary(): WriteSummary {
    const writes = this.writes;
    const commands: Record<string, number> = {};
    for (const name of writes.flat()) commands[name] = (commands[name] ?? 0) + 1;
    return {
      roundTrips: writes.length,
      commands,
      pipelines: writes.filter((w) => w.length > 1).length,
      depthRoundTrips: writes.filter((w) => w.includes('llen')).length,
    };
  }

  reset(): void {
    this.alone = [];
    this.batches.clear();
  }
}

/** Declare `QUEUES` queues as kombu does and fill them with `total` real no-op messages in all. */
async function fill(admin: Redis, app: Radish, total: number): Promise<string[]> {
  const keys = new Keys();
  const names = Array.from({ length: QUEUES }, (_, i) => `bench.q${String(i).padStart(2, '0')}`);
  const perQueue = Math.ceil(total / QUEUES);
  for (const queue of names) {
    const distinct = Array.from({ length: Math.min(DISTINCT, perQueue) }, (_, i) => app.message({ name: 'bench.noop', args: [i], queue }).body);
    await admin.sadd(keys.binding(queue), Keys.bindingMember(queue));
    await admin.eval(FILL, 1, keys.queue(queue), String(Math.ceil(perQueue / distinct.length)), ...distinct);
  }
  return names;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = now();
  const value = await fn();
  return [now() - t0, value];
}

export async function measureRefresh(admin: Redis, url: string, total: number, samples: number): Promise<RefreshResult> {
  await admin.flushall();
  const app = new Radish({ broker: url });
  try {
    const names = await fill(admin, app, total);
    const messages = (await Promise.all(names.map((q) => admin.llen(new Keys().queue(q))))).reduce((a, b) => a + b, 0);
    const inspector = new Inspector(app);
    const counter = new WriteCounter();
    counter.watch((await app.backend()).redis as unknown as Redis);

    // The extension's process is long-lived: the first calls (connection, JIT) are not what a refresh costs.
    for (let i = 0; i < 3; i++) await inspector.queues();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      counter.reset();
      const [ms] = await timed(() => inspector.queues());
      times.push(ms);
    }
    const writes = counter.summary();

    const queue = names[Math.floor(names.length / 2)]!;
    const offset = Math.floor(messages / names.length / 2);
    for (let i = 0; i < 3; i++) await inspector.messages(queue, offset, PAGE);
    const pageTimes: number[] = [];
    let read = 0;
    for (let i = 0; i < samples; i++) {
      counter.reset();
      const [ms, page] = await timed(() => inspector.messages(queue, offset, PAGE));
      pageTimes.push(ms);
      read = page.length;
    }
    return {
      queues: names.length,
      messages,
      refreshMs: median(times),
      refreshMaxMs: Math.max(...times),
      samples,
      writes,
      page: { queue, offset, limit: PAGE, ms: median(pageTimes), roundTrips: counter.summary().roundTrips, read },
    };
  } finally {
    await app.close();
    await admin.flushall();
  }
}
