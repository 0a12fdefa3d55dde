/** Radish's public API: `import { Radish } from '@radish-queue/radish'`. */
export { Radish, type RadishOptions, type SendRequest, type Routes, type RouteTarget } from './app';
export { AsyncResult, type GetOptions } from './backend/async-result';
export { ResultBackend, RedisResultBackend, ResultTimeoutError, type BackendOptions } from './backend/backend';
export { BackendUnsupportedError, type ResultDestination, type ResultStore } from './backend/result-store';
export { RpcBackend, isRpcBackendUrl } from './backend/rpc-backend';
export type { Broker, BrokerOptions, DeadLetterRecord, Delivery, QueueDepth, QueueStats } from './broker/transport';
export { BrowseUnsupportedError } from './broker/transport';
export { RedisBroker } from './broker/redis-broker';
export { AmqpBroker } from './broker/amqp/amqp-broker';
export { AmqpUnavailableError } from './broker/amqp/connection';
export { connectBroker, isAmqpBroker } from './broker/connect';
export { Keys, PRIORITY_STEPS } from './broker/keys';
export { RedisUnavailableError, redactUrl, redisOptions, type ConnectionConfig } from './broker/connection';
export { createLogger, formatLine, parseLogLevel, type Logger, type LogLevel } from './log';
export { decodeTaskMessage, encodeTaskMessage, ProtocolError, type TaskMessage, type TaskCall, type Envelope } from './protocol/message';
export { dateDoneOf, decodeResult, encodeResult, TaskFailedError, READY_STATES, type ResultMeta, type TaskState, type ExceptionInfo } from './protocol/result';
export { MaxRetriesExceededError, Retry, type Task, type TaskContext, type TaskOptions, type TaskRequest, type RetryOptions } from './task';
export { Worker, type WorkerOptions } from './worker/worker';
export type { WorkerEventListeners } from './worker/listener';
export { type WorkerStats } from './worker/recorder';
export { registerLoader, loadModule } from './worker/loader';
export { Inspector, type DeadLetter, type QueuedMessage, type ReplayOptions, type TaskCallSpec, type WorkerInfo } from './inspector';
export { type WorkerPresence, type ActiveTask } from './broker/presence';
export { VERSION } from './version';
export { runCli } from './cli';
export { Control, type BroadcastOptions, type RevokeOptions, type NodeReplies } from './control';
export { RevokedStore } from './broker/revoked';
export { SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError, TaskRevokedError, type RevokeReason } from './errors';
export { parseRate, type ErrorMatcher, type SendOptions } from './task';
// The process pool's children are this bundle started with RADISH_POOL_CHILD=1 (see esbuild.mjs).
export { runPoolChild } from './worker/pool-child';
export { Beat, type BeatOptions, type SentTick } from './beat/beat';
export {
  describeTiming, listSchedules, pauseSchedule, resumeSchedule, runScheduleNow, UnknownScheduleError,
  type PublishedOptions, type PublishedSchedule, type ScheduleListing, type ScheduleState,
} from './beat/schedules';
export { type ScheduleDeclaration, type ScheduleEntry } from './app';
export { describeWorkers, type WorkerDetails, type RunningTask, type FleetOptions } from './fleet';
export {
  pauseQueue, resumeQueue, pausedQueues, QueueControlUnavailableError, drainWorker, DrainError,
  type PausedQueue, type PauseOutcome, type ResumeOutcome, type QueueControlOptions, type DrainOptions, type DrainOutcome, type DrainProgress,
} from './queue-control';
export { parsePythonLiteral } from './protocol/pyliteral';
export {
  Monitor, EventReceiver, TaskHistory, HISTORY_DEFAULTS, isTaskEvent, type MonitorOptions, type MonitorConnection, type WorkerState,
  type TaskListener, type WorkerListener, type EventHandler, type EventReceiverOptions, type ReceiverStats, type TaskRecord,
  type TaskRecordState, type TaskRecordEvent, type TaskHistoryOptions, type TaskFilter, type RecentOptions, type RecordOutcome,
  type RedisSource,
} from './monitor/index';
export * from './monitor/search';
export * from './monitor/bulk';
export { decodeEventMessage, EventError, type CeleryEvent, type EventMessage } from './protocol/event';
export { GroupResult } from './backend/group-result';
export { type GroupOptions } from './app';
export { makeSignature, CanvasError, type SignatureOptions } from './protocol/canvas';
export { chainSignature as chain, chordSignature as chord, groupSignature as group } from './protocol/canvas-apply';
export { type Signature } from './protocol/message';
export { ChordError } from './protocol/chord';
export { pyRepr } from './protocol/pyrepr';
export { type CallOptions } from './protocol/canvas';
export { completeUntil, MinuteCache, readMetricsHistory, type MetricsHistory, type MetricsQuery, type MetricsTotals, type QueueSeries } from './metrics/history-reader';
export { type MetricsHistoryOptions } from './worker/metrics-history';
export { Exporter, type ExporterOptions } from './monitor/exporter';
export { SENT_AT_HEADER } from './protocol/message';
