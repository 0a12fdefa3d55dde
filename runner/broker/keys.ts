/**
 * Every Redis key and channel name Radish uses, built here and nowhere else.
 *
 * Broker keys follow kombu's Redis transport (and its `global_keyprefix`); result keys follow Celery's Redis
 * backend, which kombu's prefix does not touch. Radish's own keys (dead-letter queue, revoked ids) live under
 * `radish.`.
 */
import { EVENT_EXCHANGE, PIDBOX_EXCHANGE, REPLY_EXCHANGE } from '../protocol/exchanges';

// The exchange names are protocol (messages carry them); re-exported for the key users that import them from here.
export { EVENT_EXCHANGE, PIDBOX_EXCHANGE, REPLY_EXCHANGE };

/** kombu's separator between a queue name and its priority step, and inside binding members. */
export const SEP = '\x06\x16';

/** kombu's default priority steps: bucket 0 is the plain queue key and is served first. */
export const PRIORITY_STEPS: readonly number[] = [0, 3, 6, 9];

/** The step a priority 0..9 lands in: the largest step not above it (kombu's `priority()`). */
export function priorityStep(priority: number): number {
  let step = 0;
  for (const s of PRIORITY_STEPS) if (s <= priority) step = s;
  return step;
}

/** Celery's `group_keyprefix`: saved groups and chord keys (the result backend's, never prefixed by kombu). */
const GROUP_PREFIX = 'celery-taskset-meta-';

/** Celery's result key prefix (the result backend's, never prefixed by kombu). */
const RESULT_PREFIX = 'celery-task-meta-';

/** The keys of one group or chord on Celery's Redis result backend. */
export interface GroupKeys {
  /** The saved group (`GroupResult.save()`). */
  meta: string;
  /** The chord's join set: one record per header member that ended. */
  join: string;
  /** The chord's extra-member counter (`Task.add_to_chord`, `replace`). */
  counter: string;
  /** The chord's size, set by the client before the header goes out. */
  size: string;
}

export class Keys {
  /**
   * @param prefix kombu's `global_keyprefix` (default none).
   * @param db the Redis database number, which kombu puts in fanout channel names (default 0).
   */
  constructor(readonly prefix = '', readonly db = 0) {}

  /** The list a message of this priority goes to (`celery`, `celery\x06\x163`, ...). */
  queue(name: string, priority = 0): string {
    const step = priorityStep(priority);
    return this.prefix + (step === 0 ? name : name + SEP + step);
  }

  /** All priority sub-lists of a queue, highest priority first. */
  queueSteps(name: string): string[] {
    return PRIORITY_STEPS.map((step) => this.queue(name, step));
  }

  /**
   * BRPOP keys in kombu's order: for each priority step, every queue. Callers rotate `queues` between fetches
   * for the same round-robin fairness kombu has.
   */
  consumeOrder(queues: readonly string[]): string[] {
    const keys: string[] = [];
    for (const step of PRIORITY_STEPS) for (const q of queues) keys.push(this.queue(q, step));
    return keys;
  }

  /** Strip the prefix and priority suffix from a queue key: the queue name. */
  queueName(key: string): string {
    const bare = key.startsWith(this.prefix) ? key.slice(this.prefix.length) : key;
    const at = bare.indexOf(SEP);
    return at === -1 ? bare : bare.slice(0, at);
  }

  get unacked(): string { return this.prefix + 'unacked'; }
  get unackedIndex(): string { return this.prefix + 'unacked_index'; }
  get unackedMutex(): string { return this.prefix + 'unacked_mutex'; }

  /** `_kombu.binding.<exchange>`: the set of `<routing_key>SEP<pattern>SEP<queue>` members. */
  binding(exchange: string): string { return this.prefix + '_kombu.binding.' + exchange; }

  /** Pattern matching every binding set, for discovering declared queues. */
  get bindingPattern(): string { return this.prefix + '_kombu.binding.*'; }

  /** A binding member read back: routing key, pattern, queue; undefined when it is not one (not three fields). */
  static bindingParts(member: string): { routingKey: string; pattern: string; queue: string } | undefined {
    const [routingKey, pattern, queue, ...rest] = member.split(SEP);
    if (queue === undefined || rest.length > 0) return undefined;
    return { routingKey: routingKey!, pattern: pattern!, queue };
  }

  /** The member a queue declares in its own binding set (anonymous exchange, routing key = queue). */
  static bindingMember(queue: string): string { return queue + SEP + SEP + queue; }

  /** Radish's dead-letter list (newest first). */
  get deadLetter(): string { return this.prefix + 'radish.dlq'; }

  /** Which Radish worker holds each unacked message (tag -> node name), so a dead worker's messages can be found. */
  get owners(): string { return this.prefix + 'radish.owners'; }

  /** A live worker's presence record (JSON, with a TTL the worker keeps refreshing). */
  worker(hostname: string): string { return this.prefix + 'radish.worker.' + hostname; }

  /** Pattern matching every worker presence record. */
  get workerPattern(): string { return this.prefix + 'radish.worker.*'; }

  /** kombu's pidbox binding set: one member per live Celery (or Radish) worker node. */
  get pidboxBinding(): string { return this.binding('celery.pidbox'); }

  /**
   * The remote-control broadcast channel, `/<db>.celery.pidbox`. kombu puts the database number in fanout channel
   * names (`fanout_prefix`) because PUBLISH ignores SELECT: without it, apps on db 0 and db 1 of one server would
   * hear each other's commands. Its `global_keyprefix` goes in front of that (it prefixes PUBLISH and PSUBSCRIBE).
   */
  get pidboxChannel(): string { return `${this.prefix}/${this.db}.${PIDBOX_EXCHANGE}`; }

  /**
   * The member a worker node adds to {@link pidboxBinding}: fanout, so empty routing key and pattern, then the
   * node's queue `<nodename>.celery.pidbox` (never used as a list on Redis: requests arrive by PUBLISH).
   */
  static pidboxBindingMember(hostname: string): string { return SEP + SEP + hostname + '.' + PIDBOX_EXCHANGE; }

  /** `_kombu.binding.reply.celery.pidbox`: which reply queues exist, looked up by workers before replying. */
  get replyBinding(): string { return this.binding(REPLY_EXCHANGE); }

  /** A client's reply queue `<oid>.reply.celery.pidbox`, unprefixed, as it appears in a binding member. */
  static replyQueueName(oid: string): string { return oid + '.' + REPLY_EXCHANGE; }

  /** A client's member in {@link replyBinding}: routing key = its oid, no pattern, its reply queue. */
  static replyBindingMember(oid: string): string { return oid + SEP + SEP + Keys.replyQueueName(oid); }

  /** The reply lists of a client, one per priority step (kombu BRPOPs and deletes all of them). */
  replyLists(oid: string): string[] { return this.queueSteps(Keys.replyQueueName(oid)); }

  /**
   * An events channel, `/<db>.celeryev/<routing_key>`: kombu's fanout channel (database number in the name, as
   * for {@link pidboxChannel}) plus the routing key, the event type with `-` replaced by `.` (`worker.heartbeat`,
   * `task.multi`), so monitors can PSUBSCRIBE to one kind of event.
   */
  eventChannel(routingKey: string): string { return `${this.prefix}/${this.db}.${EVENT_EXCHANGE}/${routingKey}`; }

  /** PSUBSCRIBE pattern for events: every event (default), or e.g. `worker.*` as Celery's gossip listens. */
  eventPattern(routingKeyGlob = '*'): string { return this.eventChannel(routingKeyGlob); }

  /** Task ids revoked through Radish, scored by expiry (unix seconds), so a revoke outlives worker restarts. */
  get revoked(): string { return this.prefix + 'radish.revoked'; }

  /**
   * Queues paused for the whole fleet (runner/queue-control.ts): queue -> JSON `{since, cancelled}` (unix seconds; the
   * Celery nodes told `cancel_consumer`, which `resume` tells `add_consumer`). Radish workers leave these queues out.
   */
  get pausedQueues(): string { return this.prefix + 'radish.paused_queues'; }

  /** The beat scheduler lock: the token of the one active `radish beat` (SET NX PX, refreshed by its holder). */
  get beatLock(): string { return this.prefix + 'radish.beat.lock'; }

  /** Last run of each periodic task: schedule name -> due time it was sent for (ms since the epoch). */
  get beatLastRun(): string { return this.prefix + 'radish.beat.last_run'; }

  /** The schedules the active `radish beat` publishes: schedule name -> its definition (JSON), for the cockpit and CLI. */
  get beatSchedules(): string { return this.prefix + 'radish.beat.schedules'; }

  /** Paused schedules: schedule name -> when it was paused (ms since the epoch). Every scheduler skips their ticks. */
  get beatPaused(): string { return this.prefix + 'radish.beat.paused'; }

  /**
   * Where each schedule's ticks are counted from when that is not its last run: schedule name -> when a scheduler first
   * saw it, or when it was last resumed (ms). Equal to its last run: no tick was sent yet.
   */
  get beatAnchor(): string { return this.prefix + 'radish.beat.anchor'; }

  /** Task history (runner/monitor): task ids scored by their latest event's timestamp (unix s), newest last. */
  get history(): string { return this.prefix + 'radish.history'; }

  /** Task history records: task id -> record JSON, written only by the `history_record` script. */
  get historyRecords(): string { return this.prefix + 'radish.history.records'; }

  /** Task history filter index: task id -> `<state>\t<name JSON>`, so a filtered page reads small values only. */
  get historyIndex(): string { return this.prefix + 'radish.history.index'; }

  /**
   * Metrics history (runner/metrics/history-*.ts): one hash per minute (`minute` = ms since the epoch / 60,000,
   * floored) of outcome counters and runtime buckets by queue and task, added to by every worker (HINCRBY), expiring.
   */
  metricsMinute(minute: number): string { return this.prefix + 'radish.metrics.' + minute; }

  /** Metrics history: one hash per minute of queue depths and oldest ages, written once for the fleet, expiring. */
  metricsQueues(minute: number): string { return this.prefix + 'radish.metrics.queues.' + minute; }

  /**
   * Metrics history: a written batch's token (runner/broker/scripts/metrics_write.lua), kept a few hours so that a
   * batch sent again after a lost reply is not counted twice. Outside `radish.metrics.` so minute scans never see it.
   */
  metricsBatch(token: string): string { return this.prefix + 'radish.metrics-batch.' + token; }

  /** Result value and its notification channel (Celery's Redis backend; not prefixed). */
  static result(taskId: string): string { return RESULT_PREFIX + taskId; }

  /** Pattern matching every stored result. */
  static readonly resultPattern = RESULT_PREFIX + '*';

  /** A group's saved member list and its chord keys (Celery's Redis backend; not prefixed). */
  static group(groupId: string): GroupKeys {
    const meta = GROUP_PREFIX + groupId;
    return { meta, join: meta + '.j', counter: meta + '.t', size: meta + '.s' };
  }

  /** The node name in a member of {@link pidboxBinding} (its queue `<nodename>.celery.pidbox`). */
  static pidboxNode(member: string): string | undefined {
    const queue = Keys.bindingParts(member)?.queue;
    const suffix = '.' + PIDBOX_EXCHANGE;
    return (queue?.endsWith(suffix) ? queue.slice(0, -suffix.length) : queue) || undefined;
  }

  /** Whether an exchange's binding set lists task queues (not events, remote control or its replies). */
  static isTaskExchange(exchange: string): boolean {
    return exchange !== EVENT_EXCHANGE && !exchange.endsWith(PIDBOX_EXCHANGE);
  }
}
