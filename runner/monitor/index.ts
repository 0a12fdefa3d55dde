/** The runner-side monitor: live Celery events, worker states and a bounded task history kept in Redis. */
export { EventReceiver, type EventHandler, type EventReceiverOptions, type ReceiverStats } from './receiver';
export {
  TaskHistory, HISTORY_DEFAULTS, isTaskEvent, type TaskRecord, type TaskRecordState, type TaskRecordEvent, type TaskHistoryOptions,
  type TaskFilter, type RecentOptions, type RecordOutcome, type RedisSource,
} from './history';
export { Monitor, type MonitorOptions, type MonitorConnection, type WorkerState, type TaskListener, type WorkerListener } from './monitor';
