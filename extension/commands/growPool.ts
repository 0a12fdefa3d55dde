import type { Services } from '../services';
import { reporting } from './taskNodes';
import { control, workerOf, type WorkerTarget } from './workerControl';

/** One more concurrent task on a worker (remote control `pool_grow`). */
export async function growPool(s: Services, node?: WorkerTarget): Promise<unknown> {
  return reporting(async () => {
    const worker = await workerOf(s, node, 'Radish: Grow the pool of which worker?');
    return worker && control(s, worker, 'pool_grow', { n: 1 });
  });
}

/** One fewer concurrent task on a worker (remote control `pool_shrink`); a busy slot goes when its task ends. */
export async function shrinkPool(s: Services, node?: WorkerTarget): Promise<unknown> {
  return reporting(async () => {
    const worker = await workerOf(s, node, 'Radish: Shrink the pool of which worker?');
    return worker && control(s, worker, 'pool_shrink', { n: 1 });
  });
}
