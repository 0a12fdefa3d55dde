/**
 * The registration table: every command of package.json's `contributes.commands`, one handler per file, each
 * `(services, node?, ...)`, in a folder per view (general ones at the top). How a failure is reported is part of
 * the entry; the reporting itself is registerCommand's.
 */
import type { Services } from '../services';
import { enqueue } from './enqueue';
import { enqueueWithArgs } from './enqueueWithArgs';
import { refresh } from './refresh';
import { registerCommand, type ErrorReport, type Handler } from './register';
import { setPassword } from './connection/setPassword';
import { setBrokerUrl } from './connection/setBrokerUrl';
import { setResultBackendUrl } from './connection/setResultBackendUrl';
import { startLocalRedis } from './connection/startLocalRedis';
import { debugFailed } from './failed/debugFailed';
import { discardFailed } from './failed/discardFailed';
import { openFailed } from './failed/openFailed';
import { purgeFailed } from './failed/purgeFailed';
import { retryAllFailed } from './failed/retryAllFailed';
import { retryFailed } from './failed/retryFailed';
import { retryFailedWithArgs } from './failed/retryFailedWithArgs';
import { filterFailed } from './failed/filterFailed';
import { clearFailedFilter } from './failed/clearFailedFilter';
import { retryMatchingFailed } from './failed/retryMatchingFailed';
import { discardMatchingFailed } from './failed/discardMatchingFailed';
import { retryMatchingTasks } from './tasks/retryMatchingTasks';
import { revokeMatchingTasks } from './tasks/revokeMatchingTasks';
import { enqueueIntoQueue } from './queues/enqueueIntoQueue';
import { loadMore } from './queues/loadMore';
import { openMessage } from './queues/openMessage';
import { purgeQueue } from './queues/purgeQueue';
import { pauseQueue } from './queues/pauseQueue';
import { resumeQueue } from './queues/resumeQueue';
import { clearTaskFilter } from './tasks/clearTaskFilter';
import { copyTaskAsCall } from './tasks/copyTaskAsCall';
import { filterTasks } from './tasks/filterTasks';
import { showFailures } from './tasks/showFailures';
import { openTask } from './tasks/openTask';
import { retryTask } from './tasks/retryTask';
import { revokeTask } from './tasks/revokeTask';
import { terminateTask } from './tasks/terminateTask';
import { restartWorker } from './worker/restartWorker';
import { showWorkerLog } from './worker/showWorkerLog';
import { startWorker } from './worker/startWorker';
import { startWorkerDebug } from './worker/startWorkerDebug';
import { debugTask } from './debugTask';
import { stopWorker } from './worker/stopWorker';
import { addQueue } from './workers/addQueue';
import { cancelQueue } from './workers/cancelQueue';
import { growPool } from './workers/growPool';
import { shrinkPool } from './workers/shrinkPool';
import { shutdownWorker } from './workers/shutdownWorker';
import { drainWorker } from './workers/drainWorker';
import { pauseSchedule } from './schedules/pauseSchedule';
import { resumeSchedule } from './schedules/resumeSchedule';
import { runScheduleNow } from './schedules/runScheduleNow';

import { showMetrics } from '../metricsView/command';

type Command = Handler | ({ run: Handler } & ErrorReport);

const ENQUEUE_FAILED = 'could not enqueue';

const COMMANDS: Record<string, Command> = {
  'radish.refresh': refresh,
  'radish.startWorker': { run: startWorker, showLog: true },
  'radish.startWorkerDebug': { run: startWorkerDebug, showLog: true },
  'radish.debugTask': { run: debugTask, failure: ENQUEUE_FAILED, showLog: true },
  'radish.debugFailed': { run: debugFailed, showLog: true },
  'radish.stopWorker': stopWorker,
  'radish.restartWorker': restartWorker,
  'radish.showWorkerLog': showWorkerLog,
  'radish.enqueue': { run: enqueue, failure: ENQUEUE_FAILED },
  'radish.enqueueWithArgs': { run: enqueueWithArgs, failure: ENQUEUE_FAILED },
  'radish.enqueueIntoQueue': { run: enqueueIntoQueue, failure: ENQUEUE_FAILED },
  'radish.setBrokerUrl': setBrokerUrl,
  // The command's name from when the broker could only be Redis: kept for keybindings and links (hidden in the palette).
  'radish.setRedisUrl': setBrokerUrl,
  'radish.setResultBackendUrl': setResultBackendUrl,
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
  'radish.showFailures': showFailures,
  'radish.filterFailed': filterFailed,
  'radish.clearFailedFilter': clearFailedFilter,
  'radish.retryMatchingFailed': retryMatchingFailed,
  'radish.discardMatchingFailed': discardMatchingFailed,
  'radish.retryMatchingTasks': retryMatchingTasks,
  'radish.revokeMatchingTasks': revokeMatchingTasks,
  'radish.addQueue': addQueue,
  'radish.cancelQueue': cancelQueue,
  'radish.growPool': growPool,
  'radish.shrinkPool': shrinkPool,
  'radish.shutdownWorker': shutdownWorker,
  'radish.pauseQueue': pauseQueue,
  'radish.resumeQueue': resumeQueue,
  'radish.drainWorker': drainWorker,
  'radish.showMetrics': showMetrics,
  'radish.runScheduleNow': { run: runScheduleNow, failure: ENQUEUE_FAILED },
  'radish.pauseSchedule': pauseSchedule,
  'radish.resumeSchedule': resumeSchedule,
};

export function registerCommands(services: Services): void {
  for (const [id, command] of Object.entries(COMMANDS)) {
    const { run, ...report } = typeof command === 'function' ? { run: command } : command;
    services.context.subscriptions.push(registerCommand(services, id, run, report));
  }
}
