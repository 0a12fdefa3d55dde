/**
 * How Radish's drain rate scales with worker processes and concurrency: each cell starts that many `radish
 * worker` processes with that concurrency, warms them up and drains N staged no-op tasks, once.
 */
import { warmDrain } from './measure';
import { RadishSystem } from './radish-system';

export interface ScalingCell {
  processes: number;
  concurrency: number;
  /** Tasks/s. */
  drain: number;
}

export interface ScalingResult {
  n: number;
  processes: number[];
  concurrency: number[];
  /** True when --quick measured a reduced matrix. */
  reduced: boolean;
  cells: ScalingCell[];
}

export interface Matrix {
  processes: number[];
  concurrency: number[];
}

export const FULL_MATRIX: Matrix = { processes: [1, 2, 4], concurrency: [1, 10, 50, 200] };
export const QUICK_MATRIX: Matrix = { processes: [1, 2], concurrency: [10, 50] };

export async function measureScaling(redisUrl: string, n: number, quick: boolean, progress: (line: string) => void): Promise<ScalingResult> {
  const matrix = quick ? QUICK_MATRIX : FULL_MATRIX;
  const cells: ScalingCell[] = [];
  for (const processes of matrix.processes) {
    for (const concurrency of matrix.concurrency) {
      const system = new RadishSystem({ processes });
      await system.open({ redisUrl, consumerMode: 'process', concurrency });
      try {
        await system.reset();
        const consumer = await system.startConsumer();
        try {
          const { rate: drain } = await warmDrain(system, consumer, n);
          cells.push({ processes, concurrency, drain });
          progress(`scaling: ${processes} process${processes === 1 ? '' : 'es'} x concurrency ${concurrency}: drain ${Math.round(drain).toLocaleString('en-US')}/s`);
        } finally {
          await consumer.stop();
        }
      } finally {
        await system.close();
      }
    }
  }
  return { n, ...matrix, reduced: quick, cells };
}
