/** The runner-side monitor: live Celery events, worker states and a bounded task history kept in Redis. */
export { EventReceiver, type EventHandler, type EventReceiverOptions, type ReceiverStats } from './receiver';
export {
  TaskHistory, HISTORY_DEFAULTS, isTaskEvent, type TaskRecord, type TaskRecordState, type TaskRecordEvent, type TaskHistoryOptions,
  type TaskFilter, type RecentOptions, type RecordOutcome, type RedisSource,
} from './history';
export { Monitor, type MonitorOptions, type MonitorConnection, type WorkerState, type TaskListener, type WorkerListener } from './monitor';
export {
  parseQuery, isEmptyQuery, needsRecords, cheapFilter, matches, searchableRecord, searchableFailure, searchHistory, searchFailures,
  searchSummary, failedEntryId, QUERY_FIELDS, SEARCH_DEFAULTS, type SearchQuery, type Searchable, type SearchOptions, type SearchResult,
  type FailedEntry, type QueryField,
} from './search';
export {
  retryFailures, discardFailures, retryTasks, revokeTasks, bulkSummary, whyNotRetryable, isUnfinished, BULK_DEFAULTS,
  type BulkOptions, type BulkOutcome,
} from './bulk';
