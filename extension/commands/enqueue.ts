import { enqueue as run, type EnqueueRequest } from '../enqueue';
import type { Services } from '../services';

/** Palette "Enqueue Task...": the whole flow. CodeLens "Enqueue" passes `{ task, quick: true }`. */
export async function enqueue(s: Services, request?: EnqueueRequest): Promise<string | undefined> {
  // A tree node (it has a `kind`) is not a request: the flow then starts from the beginning.
  return run(s, request && typeof request === 'object' && !('kind' in request) ? request : {});
}
