/** The registration table: one command per file, each handler `(services, node?, ...)`. */
import * as vscode from 'vscode';
import type { Services } from '../services';
import { addQueue } from './addQueue';
import { cancelQueue } from './cancelQueue';
import { copyTaskAsCall } from './copyTaskAsCall';
import { filterTasks, clearTaskFilter } from './filterTasks';
import { growPool, shrinkPool } from './growPool';
import { openTask } from './openTask';
import { retryTask } from './retryTask';
import { revokeTask, terminateTask } from './revokeTask';
import { shutdownWorker } from './shutdownWorker';
import { discardFailed } from './discardFailed';
import { enqueue } from './enqueue';
import { enqueueIntoQueue } from './enqueueIntoQueue';
import { enqueueWithArgs } from './enqueueWithArgs';
import { loadMore } from './loadMore';
import { openFailed } from './openFailed';
import { openMessage } from './openMessage';
import { purgeFailed } from './purgeFailed';
import { purgeQueue } from './purgeQueue';
import { refresh } from './refresh';
import { restartWorker } from './restartWorker';
import { retryAllFailed } from './retryAllFailed';
import { retryFailed } from './retryFailed';
import { retryFailedWithArgs } from './retryFailedWithArgs';
import { setPassword } from './setPassword';
import { setRedisUrl } from './setRedisUrl';
import { showWorkerLog } from './showWorkerLog';
import { startLocalRedis } from './startLocalRedis';
import { startWorker } from './startWorker';
import { stopWorker } from './stopWorker';

// Handlers take the services first, then whatever VS Code passes (a tree node, a CodeLens argument...).
type Handler = (services: Services, ...args: never[]) => unknown;

const COMMANDS: Record<string, Handler> = {
  'radish.refresh': refresh,
  'radish.startWorker': startWorker,
  'radish.stopWorker': stopWorker,
  'radish.restartWorker': restartWorker,
  'radish.showWorkerLog': showWorkerLog,
  'radish.enqueue': enqueue,
  'radish.enqueueWithArgs': enqueueWithArgs,
  'radish.enqueueIntoQueue': enqueueIntoQueue,
  'radish.setRedisUrl': setRedisUrl,
  'radish.setPassword': setPassword,
  'radish.startLocalRedis': startLocalRedis,
  'radish.purgeQueue': purgeQueue,
  'radish.openMessage': openMessage,
  'radish.loadMore': loadMore,
  'radish.openFailed': openFailed,
  'radish.retryFailed': retryFailed,
  'radish.retryFailedWithArgs': retryFailedWithArgs,
  'radish.discardFailed': discardFailed,
  'radish.retryAllFailed': retryAllFailed,
  'radish.purgeFailed': purgeFailed,
  'radish.openTask': openTask,
  'radish.retryTask': retryTask,
  'radish.revokeTask': revokeTask,
  'radish.terminateTask': terminateTask,
  'radish.copyTaskAsCall': copyTaskAsCall,
  'radish.filterTasks': filterTasks,
  'radish.clearTaskFilter': clearTaskFilter,
  'radish.addQueue': addQueue,
  'radish.cancelQueue': cancelQueue,
  'radish.growPool': growPool,
  'radish.shrinkPool': shrinkPool,
  'radish.shutdownWorker': shutdownWorker,
};

export function registerCommands(services: Services): void {
  for (const [id, handler] of Object.entries(COMMANDS)) {
    services.context.subscriptions.push(vscode.commands.registerCommand(id, (...args: unknown[]) => handler(services, ...(args as never[]))));
  }
}

/** Command ids, for the test that checks package.json declares exactly these. */
export const COMMAND_IDS = Object.keys(COMMANDS);
