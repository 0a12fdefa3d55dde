import type { Services } from '../../services';
import { control, workerOf, type WorkerTarget } from './workerControl';

/** One fewer concurrent task on a worker (remote control `pool_shrink`); a busy slot goes when its task ends. */
export async function shrinkPool(s: Services, node?: WorkerTarget): Promise<unknown> {
  const worker = await workerOf(s, node, 'Radish: Shrink the pool of which worker?');
  return worker && control(s, worker, 'pool_shrink', { n: 1 });
}
