/**
 * Radish's targets (issue 6), each checked against what this run measured. A target whose inputs were not
 * measured (a peer skipped, a section left out) says so instead of passing or failing.
 */
import type { MemoryResult } from './memory';
import type { RunResult } from './measure';
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

/** Radish's metric over a peer's, or why it cannot be had. */
function ratio(inputs: TargetInputs, metric: keyof RunResult, peer: string): number | string {
  const radish = inputs.medians['radish']?.[metric];
  if (radish === undefined) return 'radish not measured';
  if (inputs.skipped[peer]) return `${peer} skipped: ${inputs.skipped[peer]}`;
  const theirs = inputs.medians[peer]?.[metric];
  if (theirs === undefined) return `${peer} not measured`;
  return radish / theirs;
}

function atLeast(inputs: TargetInputs, target: string, metric: keyof RunResult, peer: string, min: number): TargetCheck {
  const r = ratio(inputs, metric, peer);
  if (typeof r === 'string') return missing(target, r);
  return { target, measured: r, shown: times(r), met: r >= min };
}

export function checkTargets(inputs: TargetInputs): TargetCheck[] {
  const checks: TargetCheck[] = [
    atLeast(inputs, 'drain >= 2x BullMQ', 'drain', 'bullmq', 2),
    atLeast(inputs, 'drain >= 20x Celery (Python)', 'drain', 'celery', 20),
    atLeast(inputs, 'enqueue >= 1.5x BullMQ', 'enqueue', 'bullmq', 1.5),
    atLeast(inputs, 'bulk >= 1.5x bee-queue saveAll', 'bulk', 'bee-queue', 1.5),
  ];
  const p50 = ratio(inputs, 'p50', 'baseline');
  checks.push(typeof p50 === 'string'
    ? missing('p50 <= 1.25x raw BRPOP', p50)
    : { target: 'p50 <= 1.25x raw BRPOP', measured: p50, shown: times(p50), met: p50 <= 1.25 });
  const p99 = inputs.medians['radish']?.p99;
  checks.push(p99 === undefined
    ? missing('p99 < 2 ms', 'radish not measured')
    : { target: 'p99 < 2 ms', measured: p99, shown: `${p99.toFixed(2)} ms`, met: p99 < 2 });

  const { memory, refresh } = inputs;
  const mb = (v: number) => `${v.toFixed(1)} MB`;
  if (memory) {
    const idle = memory.idle.totalMB;
    checks.push({ target: 'idle worker RSS < 60 MB', measured: idle, shown: mb(idle), met: idle < 60 });
    for (const [what, value, held] of [['ETA', memory.eta.totalMB, memory.heldEta], ['prefetched', memory.prefetched.totalMB, memory.heldPrefetched]] as const) {
      const short = held < memory.held ? ` (held only ${held.toLocaleString('en-US')})` : '';
      checks.push({
        target: `worker holding ${memory.held.toLocaleString('en-US')} ${what} messages < 150 MB`,
        measured: value, shown: mb(value) + short, met: value < 150 && held >= memory.held,
      });
    }
  } else {
    checks.push(missing('idle worker RSS < 60 MB', 'memory not measured'), missing('worker holding 10,000 ETA/prefetched messages < 150 MB', 'memory not measured'));
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
