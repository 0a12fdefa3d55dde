/**
 * Radish's targets (issue 19's, and issue 6's memory and Queues view targets), each checked against what this run
 * measured. "The fastest peer" is the fastest of BullMQ, bee-queue and celery-node in that measurement (not the raw
 * baseline, which keeps no promise, nor Python Celery). A target whose inputs were not measured (a peer skipped, a
 * section left out) says so instead of passing or failing.
 */
import type { MemoryResult } from './memory';
import type { Metric, RunResult } from './measure';
import type { RefreshResult } from './refresh';

export interface TargetCheck {
  target: string;
  /** The measured ratio or value the target is about; null when it could not be measured. */
  measured: number | null;
  /** How `measured` reads, e.g. `2.31x BullMQ` or `41.2 MB`; the reason when it is null. */
  shown: string;
  met: boolean | null;
}

export interface TargetInputs {
  medians: Record<string, Partial<RunResult>>;
  skipped: Record<string, string>;
  memory?: MemoryResult;
  refresh?: RefreshResult;
  /** Messages the refresh target is defined on (1,000,000), to flag a --quick run on fewer. */
  refreshTargetMessages: number;
}

const times = (v: number) => `${v.toFixed(2)}x`;

function missing(target: string, why: string): TargetCheck {
  return { target, measured: null, shown: why, met: null };
}

/** A Radish system's metric over a peer's, or why it cannot be had. */
function ratio(inputs: TargetInputs, metric: Metric, peer: string, system = 'radish'): number | string {
  const radish = inputs.medians[system]?.[metric];
  if (radish === undefined) return `${system} not measured`;
  if (inputs.skipped[peer]) return `${peer} skipped: ${inputs.skipped[peer]}`;
  const theirs = inputs.medians[peer]?.[metric];
  if (theirs === undefined) return `${peer} not measured`;
  return radish / theirs;
}

function atLeast(inputs: TargetInputs, target: string, metric: Metric, peer: string, min: number, system = 'radish'): TargetCheck {
  const r = ratio(inputs, metric, peer, system);
  if (typeof r === 'string') return missing(target, r);
  return { target, measured: r, shown: `${times(r)} ${peer}`, met: r >= min };
}

/** The peers "the fastest peer" is chosen among. */
const PEERS = ['bullmq', 'bee-queue', 'celery-node'];

/** Radish over the fastest peer measured on `metric`, or why there is none. */
function overFastest(inputs: TargetInputs, target: string, metric: Metric, min: number): TargetCheck {
  const measured = PEERS.filter((p) => !inputs.skipped[p] && inputs.medians[p]?.[metric] !== undefined);
  if (measured.length === 0) return missing(target, 'no peer measured');
  const fastest = measured.reduce((a, b) => (inputs.medians[b]![metric]! > inputs.medians[a]![metric]! ? b : a));
  return atLeast(inputs, target, metric, fastest, min);
}

export function checkTargets(inputs: TargetInputs): TargetCheck[] {
  const checks: TargetCheck[] = [
    overFastest(inputs, 'drain >= 2x the fastest peer', 'drain', 2),
    overFastest(inputs, "enqueue >= the fastest peer's single-call enqueue", 'enqueue', 1),
    atLeast(inputs, 'bulk >= 1.25x bee-queue saveAll', 'bulk', 'bee-queue', 1.25),
    atLeast(inputs, 'drain >= 20x Celery (Python) on Redis', 'drain', 'celery', 20),
    atLeast(inputs, 'drain on RabbitMQ >= 20x Celery on RabbitMQ', 'drain', 'celery-amqp', 20, 'radish-amqp'),
  ];
  const p50 = ratio(inputs, 'p50', 'baseline');
  checks.push(typeof p50 === 'string'
    ? missing('p50 <= 1.25x the raw loop', p50)
    : { target: 'p50 <= 1.25x the raw loop', measured: p50, shown: times(p50), met: p50 <= 1.25 });
  const p99 = inputs.medians['radish']?.p99;
  checks.push(p99 === undefined
    ? missing('p99 <= 2 ms at 200/s', 'radish not measured')
    : { target: 'p99 <= 2 ms at 200/s', measured: p99, shown: `${p99.toFixed(2)} ms`, met: p99 <= 2 });

  const { memory, refresh } = inputs;
  const mb = (v: number) => `${v.toFixed(1)} MB`;
  if (memory) {
    const idle = memory.idle.totalMB;
    checks.push({
      target: 'idle worker RSS <= 60 MB', measured: idle, met: idle <= 60,
      shown: `${mb(idle)} idle 10-30 s (${mb(memory.started.totalMB)} just started)`,
    });
    for (const [what, value, held] of [['ETA', memory.eta.totalMB, memory.heldEta], ['prefetched', memory.prefetched.totalMB, memory.heldPrefetched]] as const) {
      const short = held < memory.held ? ` (held only ${held.toLocaleString('en-US')})` : '';
      checks.push({
        target: `worker holding ${memory.held.toLocaleString('en-US')} ${what} messages < 150 MB`,
        measured: value, shown: mb(value) + short, met: value < 150 && held >= memory.held,
      });
    }
  } else {
    checks.push(missing('idle worker RSS <= 60 MB', 'memory not measured'), missing('worker holding 10,000 ETA/prefetched messages < 150 MB', 'memory not measured'));
  }

  if (refresh) {
    const fewer = refresh.messages < inputs.refreshTargetMessages ? ` (on ${refresh.messages.toLocaleString('en-US')} messages only)` : '';
    checks.push({
      target: `Queues refresh, ${refresh.queues} queues / ${inputs.refreshTargetMessages.toLocaleString('en-US')} messages < 50 ms`,
      measured: refresh.refreshMs, shown: `${refresh.refreshMs.toFixed(2)} ms${fewer}`, met: refresh.refreshMs < 50,
    });
    const depths = refresh.writes.depthRoundTrips;
    checks.push({
      target: 'queue depths in one pipelined round-trip',
      measured: depths,
      shown: `${depths} round-trip${depths === 1 ? '' : 's'} for depths (${refresh.writes.roundTrips} in the whole refresh)`,
      met: depths === 1,
    });
  } else {
    checks.push(missing('Queues refresh < 50 ms', 'refresh not measured'), missing('queue depths in one pipelined round-trip', 'refresh not measured'));
  }
  return checks;
}
