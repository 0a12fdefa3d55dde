import type { Services } from '../../services';
import { control, workerOf, type WorkerTarget } from './workerControl';

/** One more concurrent task on a worker (remote control `pool_grow`). */
export async function growPool(s: Services, node?: WorkerTarget): Promise<unknown> {
  const worker = await workerOf(s, node, 'Radish: Grow the pool of which worker?');
  return worker && control(s, worker, 'pool_grow', { n: 1 });
}
