/**
 * What a queue system must offer to be benchmarked: Radish, a raw-Redis baseline and the peers (BullMQ,
 * bee-queue, celery-node, Python Celery), and Radish and Celery on RabbitMQ, implement it, and every measurement in
 * `measure.ts` works on all of them.
 *
 * Every system moves the same work: a no-op task, sent by a client and run by a consumer with concurrency 50
 * (where the consumer has a concurrency setting at all: the description says when it has none).
 */

export type Broker = 'redis' | 'rabbitmq';

/** Where consumers run: in the bench process (cheap, for --quick) or in a process of their own (realistic). */
export type ConsumerMode = 'inline' | 'process';

export interface SystemContext {
  /** `redis://127.0.0.1:<port>/0` of the throwaway server (the RabbitMQ systems' result backend). */
  redisUrl: string;
  consumerMode: ConsumerMode;
  /** Tasks run at once by the consumer. */
  concurrency: number;
}

/** A running consumer (a worker), stopped between runs. */
export interface Consumer {
  stop(): Promise<void>;
  /** Why the consumer is gone when it died early; checked while waiting, so a crash fails fast, not as a stall. */
  error?(): string | undefined;
}

export interface System {
  readonly name: string;
  /** One line on what this system does per task, printed under the table. */
  readonly description: string;
  /** The peer's package version (e.g. `6.7.0`), for the report; absent for Radish and the baseline. */
  readonly version?: string;
  /**
   * The broker the tasks go through: `redis` (the default: the bench's redis-server, results there too) or `rabbitmq`
   * (a vhost of the bench's own on the local RabbitMQ, results in the bench's redis-server).
   */
  readonly broker?: Broker;
  /**
   * Why this system cannot be measured here (its package is not installed, no Python with Celery), or undefined
   * when it can. Asked before `open`; a system with a reason is reported as skipped, and the bench goes on.
   */
  unavailable?(): Promise<string | undefined>;
  /** Open client connections. */
  open(ctx: SystemContext): Promise<void>;
  /** Send one no-op task; resolves once the broker holds it. Called with many calls in flight. */
  enqueueOne(): Promise<void>;
  /**
   * Send `n` no-op tasks one call at a time from a client that is not in this process (Python Celery's), in
   * place of `enqueueOne`; resolves when the broker holds them all. Absent for in-process clients.
   */
  enqueueSingles?(n: number): Promise<void>;
  /** Send `n` no-op tasks with the system's bulk API; absent when it has none. */
  enqueueBulk?(n: number): Promise<void>;
  /**
   * Put `n` no-op tasks, byte for byte what a send would publish, where the running consumer cannot see them
   * yet (so a drain is timed from a full queue, not from a trickle).
   */
  stage(n: number): Promise<void>;
  /** Make every staged task visible to consumers at once. */
  release(): Promise<void>;
  /** Start a consumer; resolves once it is waiting for work. */
  startConsumer(): Promise<Consumer>;
  /** Tasks made visible to consumers (released or stamped) that have finished so far. Cheap: called every few ms. */
  completed(): Promise<number>;
  /**
   * After a drain, outside the timing: check that every finished task left what the system promises (a stored
   * result, say); throws a BenchError when one did not, since a fast queue that loses results is no result.
   */
  verify?(): Promise<void>;
  /** Send a task that records the delay from `sentAt` (ms, see `clock.now`) to its start. */
  sendStamped(sentAt: number): Promise<void>;
  /** The delays recorded by finished stamped tasks, in ms. */
  latencies(): Promise<number[]>;
  /** Forget everything (FLUSHALL; on RabbitMQ the task queue purged too) between measurements. */
  reset(): Promise<void>;
  close(): Promise<void>;
}
