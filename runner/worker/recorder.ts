/**
 * Recording how a job ended, in Celery's formats: the result (SUCCESS, RETRY, FAILURE, REVOKED) and then the ack, the
 * republished retry, the dead letter, or the message given back. The order of writes is what makes delivery
 * at-least-once: a result is stored before its ack, a retry published before its ack, a dead letter and its ack are
 * one script.
 */
import { randomUUID } from 'node:crypto';
import { BackendUnsupportedError, type ResultDestination, type ResultStore } from '../backend/result-store';
import { RPC_NO_CHORDS } from '../backend/rpc-backend';
import type { Broker, DeadLetterRecord, Delivery } from '../broker/transport';
import { errorMessage, type RevokeReason } from '../errors';
import type { Logger } from '../log';
import { failedChainSteps, failureFollowUps, splitErrbacks, successFollowUps, type FollowUpOptions, type FollowUpRouter, type FollowUps } from '../protocol/canvas';
import type { CeleryLayout } from '../protocol/celery-version';
import { chordMember, type ChordPartState } from '../protocol/chord';
import { encodeRetry, ProtocolError, type TaskMessage } from '../protocol/message';
import { pyRepr } from '../protocol/pyrepr';
import { encodeResult, encodeSuccess, exceptionInfo, exceptionRepr, type ExceptionInfo, type ExtendedFields, type ResultInput } from '../protocol/result';
import { resultStamps } from '../protocol/stamps';
import type { Retry, TaskDefinition } from '../task';
import { startsChord } from '../protocol/canvas-apply';
import type { Signature } from '../protocol/task-call';
import { requestOf } from './execute';
import { chordPartOf, performFollowUps, returnChordPart, type ChordPart, type NewStyleErrbacks } from './chord';
import type { Outcome } from './execute';
import type { Finisher } from './finisher';
import type { EmitWorkerEvent } from './listener';
import type { RunTrace } from '../telemetry/types';

/** One message this worker holds: reserved, maybe waiting for its ETA, maybe running. */
export interface Job {
  delivery: Delivery;
  msg: TaskMessage;
  def: TaskDefinition;
  timer?: NodeJS.Timeout;
  /** Unix seconds when it started running. */
  started?: number;
  /** Acked before it ran (`acksLate: false`): nothing to give back or ack later. */
  acked?: boolean;
  /** Its run's trace, while tracing is on (see runner/telemetry): what its end sends carries it on. */
  trace?: RunTrace;
}

export interface WorkerStats {
  processed: number;
  succeeded: number;
  failed: number;
  retried: number;
  active: number;
  reserved: number;
  scheduled: number;
}

/** What the recorder needs of its worker. */
export interface RecorderContext {
  broker: Broker;
  backend: ResultStore;
  logger: Logger;
  /** Node name, named in results, dead letters and logs. */
  hostname: string;
  /** Celery's `origin` header of republished retries and of canvas follow-ups (callbacks, chain, errbacks). */
  origin: string;
  /**
   * Queue and priority of a follow-up whose signature names no queue (the app's routes, e.g. `app.route`).
   * Default: Celery's default queue `celery`, priority 0.
   */
  route?: FollowUpRouter;
  /**
   * Store name, args, kwargs, worker, retries and queue with results (Celery's `result_extended`), and a stamped
   * task's stamps as Celery 5.3+ does.
   */
  resultExtended: boolean;
  /**
   * What the fleet's Celery writes (the worker's `celeryVersion`): the layout of the messages it sends (retries,
   * callbacks, chain steps, chord callbacks) and the form of `date_done`. Default `'5.3'`.
   */
  layout?: CeleryLayout;
  /** Counters the recorder keeps up to date (processed, succeeded, failed, retried). */
  stats: WorkerStats;
  /** The worker's events (`task-succeeded`, `dead-letter`...). */
  emit: EmitWorkerEvent;
  /**
   * Stores results and acks in batched atomic steps; given only when the result backend is on the broker's
   * connection (a backend elsewhere cannot share a script with the broker's keys).
   */
  finisher?: Finisher;
  /**
   * New-style errbacks (Celery's, and Radish's own: a task of this worker whose function takes more than one
   * argument): which errbacks they are, and how to call one with `(request, exc, traceback)`. Default: none, every
   * errback is sent with the failed task's id.
   */
  errbacks?: NewStyleErrbacks;
}

export class OutcomeRecorder {
  constructor(private readonly ctx: RecorderContext) {}

  private extended(job: Job): ExtendedFields | null {
    if (!this.ctx.resultExtended) return null;
    const { msg, delivery } = job;
    return { name: msg.name, args: msg.args, kwargs: msg.kwargs, worker: this.ctx.hostname, retries: msg.retries, queue: delivery.queue };
  }

  private resultInput(job: Job, partial: Pick<ResultInput, 'state' | 'result'> & Partial<ResultInput>): ResultInput {
    return {
      taskId: job.msg.id,
      groupId: job.msg.groupId,
      parentId: job.msg.parentId,
      extended: this.extended(job),
      stamps: this.ctx.resultExtended ? resultStamps(job.msg) : null,
      layout: this.layout,
      ...partial,
    };
  }

  private get layout(): CeleryLayout {
    return this.ctx.layout ?? '5.3';
  }

  /**
   * Where the task's results go on a backend that sends them as messages (rpc://): its `reply_to` and
   * `correlation_id` (else its id), as Celery's rpc backend `destination_for` reads them from the request.
   */
  private destination(msg: TaskMessage): ResultDestination {
    const p = msg.envelope.properties;
    return { replyTo: p.reply_to || null, correlationId: p.correlation_id || msg.id };
  }

  /** Store STARTED (Celery's `task_track_started`). */
  async started(job: Job): Promise<void> {
    await this.ctx.backend.store(this.resultInput(job, { state: 'STARTED', result: { pid: process.pid, hostname: this.ctx.hostname } }), this.destination(job.msg));
  }

  async settle(job: Job, ran: Outcome): Promise<void> {
    const { msg, def, delivery } = job;
    const label = `Task ${msg.name}[${msg.id}]`;
    let outcome = ran;
    if (outcome.kind === 'interrupted') {
      // A cold shutdown stopped it: it did not end, so its message goes back for another worker.
      if (!job.acked) await this.giveBack([job]);
      this.ctx.logger.log('warning', `${label} interrupted by a cold shutdown${job.acked ? ' (acked early: not redelivered)' : '; its message was given back'}`);
      this.ctx.emit('task-released', msg.id, true);
      return;
    }
    if (outcome.kind === 'revoked') {
      this.ctx.logger.log('warning', `${label} terminated (${outcome.signal}) on request`);
      await this.discard(job, 'terminated');
      return;
    }
    let encoded: string | undefined;
    let chordPart: string | undefined;
    let followUps: FollowUps = NO_FOLLOW_UPS;
    if (outcome.kind === 'success') {
      try {
        // Built before the result so that it names them as children, as Celery's does.
        // Most tasks have no callbacks and no chain: skip building the follow-up options for them.
        if (msg.embed.callbacks?.length || msg.embed.chain?.length) followUps = successFollowUps(msg, outcome.value, this.followUpOptions(label, job.trace));
        // A chord to apply (a chain's next step, a callback) on a backend that cannot run one fails the task, as
        // Celery's worker fails it (its apply_chord raises NotImplementedError there).
        if (!this.ctx.backend.supportsChords && startsChord(followUps.effects)) throw new BackendUnsupportedError(RPC_NO_CHORDS);
        if (!def.options.ignoreResult && !msg.ignoreResult) {
          encoded = followUps.messages.length === 0 && !this.ctx.resultExtended
            ? encodeSuccess(msg.id, outcome.value, msg.groupId, msg.parentId, undefined, this.layout)
            : encodeResult(this.resultInput(job, { state: 'SUCCESS', result: outcome.value, children: followUps.children }));
        }
        // Encoded here too (a chord part is recorded even when the result is not stored), so that a value JSON
        // cannot hold fails the task rather than the recording.
        if (chordPartOf(msg)) chordPart = chordMember(msg.id, 'SUCCESS', outcome.value);
      } catch (err) {
        followUps = NO_FOLLOW_UPS;
        chordPart = undefined;
        // The value cannot be stored as JSON (a BigInt, a cycle): that is the task's failure, not the worker's.
        const error = err instanceof BackendUnsupportedError ? err : new TypeError(`result is not JSON serializable: ${errorMessage(err)}`);
        outcome = { kind: 'failure', error, runtime: outcome.runtime };
      }
    }
    this.ctx.stats.processed++;
    if (outcome.kind === 'success') {
      this.ctx.stats.succeeded++;
      // The repr of the value costs more than the rest of a no-op task: only when the line is printed.
      if (this.ctx.logger.enabled('info')) {
        this.ctx.logger.log('info', `${label} succeeded in ${outcome.runtime.toFixed(6).replace(/0+$/, '').replace(/\.$/, '.0')}s: ${shortRepr(outcome.value)}`);
      }
      const finisher = this.ctx.finisher;
      if (finisher && followUps.effects.length === 0 && chordPart === undefined) {
        // Nothing to send in between: result and ack in one atomic step, batched with the tasks ending now.
        if (encoded !== undefined || !job.acked) await finisher.finish({ taskId: msg.id, tag: job.acked ? '' : delivery.tag, result: encoded ?? '' });
      } else {
        // Stored, then the follow-ups published, then acked: a crash in between redelivers the task (a duplicate
        // follow-up at worst), it never loses the result or the rest of the chain.
        if (encoded !== undefined) await this.ctx.backend.storeEncoded(msg.id, encoded, this.destination(msg));
        await this.publishFollowUps(followUps);
        if (chordPart !== undefined) await this.recordChordPart(chordPartOf(msg)!, chordPart, job.trace);
        if (!job.acked) await this.ctx.broker.ack(delivery.tag);
      }
      this.ctx.emit('task-succeeded', msg.id, outcome.value, outcome.runtime);
    } else if (outcome.kind === 'retry') {
      await this.retry(job, outcome.retry);
    } else {
      const info = exceptionInfo(outcome.error);
      const traceback = outcome.error instanceof Error ? outcome.error.stack ?? null : null;
      this.ctx.stats.failed++;
      job.trace?.failed(outcome.error);
      if (outcome.abandoned) {
        this.ctx.logger.log('error', `Hard time limit exceeded for ${msg.name}[${msg.id}]: failed it and freed its slot; the async pool cannot stop JavaScript that ignores its AbortSignal, so its code may still be running (use -P process to kill it)`);
      }
      this.ctx.logger.log('error', `${label} raised unexpected: ${exceptionRepr(info)}${traceback ? '\n' + traceback : ''}`);
      // A task that failed for good is kept, message and all, in the dead-letter list: it can be inspected,
      // edited and replayed. Dead-lettering acks it in the same step.
      const record: DeadLetterRecord = {
        reason: `failed: ${exceptionRepr(info)}`, queue: delivery.queue, worker: this.ctx.hostname, time: Date.now() / 1000,
        raw: delivery.raw, task_id: msg.id, task: msg.name, exception: info, traceback, attempts: msg.retries + 1,
      };
      await this.ctx.backend.store(this.resultInput(job, { state: 'FAILURE', result: info, traceback }), this.destination(msg));
      await this.chordEnded(msg, 'FAILURE', info, job.trace);
      await this.failChainSteps(msg, info, traceback, job.trace);
      // New-style errbacks are called here, in order, as Celery's worker calls them; the others are sent below.
      const { newStyle } = splitErrbacks(msg.embed.errbacks ?? [], this.followUpOptions(label));
      for (const errback of newStyle) await this.ctx.errbacks?.call(errback, requestOf(msg, delivery.queue, this.ctx.hostname), info, traceback);
      // Errbacks go after the FAILURE is stored (Celery calls them from mark_as_failure) and before the ack.
      await this.publishFollowUps(failureFollowUps(msg, this.followUpOptions(label, job.trace)));
      const dropped = await this.ctx.broker.deadLetter(delivery.tag, record);
      if (dropped) this.ctx.logger.log('warning', `Dead-letter queue is full: dropped its ${dropped} oldest record(s)`);
      this.ctx.emit('task-failed', msg.id, info, traceback);
    }
  }

  /** Record a chord header member's end (see ./chord.ts); a no-op for any other message. */
  private async chordEnded(msg: TaskMessage, state: ChordPartState, result: unknown, trace?: RunTrace): Promise<void> {
    const part = chordPartOf(msg);
    if (part) await this.recordChordPart(part, chordMember(msg.id, state, result), trace);
  }

  /** @param trace the run whose end completes the chord: the callback (or its errbacks) are sent as its children. */
  private recordChordPart(part: ChordPart, member: string, trace?: RunTrace): Promise<void> {
    const { broker, backend, logger, errbacks } = this.ctx;
    if (!backend.supportsChords) {
      // Celery's worker on rpc:// drops a header member's end without a word; the callback never runs. Say so.
      logger.log('error', `Chord '${part.groupId}': header member ${part.id} ended, but its callback ${part.chord.task}`
        + `${part.chord.options?.task_id ? `[${String(part.chord.options.task_id)}]` : ''} will never run: ${RPC_NO_CHORDS}`);
      return Promise.resolve();
    }
    return returnChordPart({ broker, backend, logger, errbacks, hostname: this.ctx.hostname, followUps: this.followUpOptions(`Chord callback of task ${part.id}`, trace) }, part, member);
  }

  /**
   * A failed task fails the chain steps still to come, as Celery's `mark_as_failure` does: each step's FAILURE is
   * stored under its id, and a step that is a chord header member reports to its chord, so that whoever waits on
   * the chain's (or the chord's) result gets the error instead of waiting for ever.
   */
  private async failChainSteps(msg: TaskMessage, info: ExceptionInfo, traceback: string | null, trace?: RunTrace): Promise<void> {
    const steps = failedChainSteps(msg);
    // On rpc:// each step's FAILURE goes to the step's own reply_to (Celery's request made from the step's options).
    const replyTo = steps.length ? chainReplyTo(msg) : undefined;
    for (const step of steps) {
      const to: ResultDestination = { replyTo: replyTo?.get(step.id) ?? null, correlationId: step.id };
      await this.ctx.backend.store({ taskId: step.id, state: 'FAILURE', result: info, traceback, groupId: step.groupId, layout: this.layout }, to);
      if (step.chord && step.groupId) {
        const part: ChordPart = {
          id: step.id, groupId: step.groupId, groupIndex: step.groupIndex, chord: step.chord,
          replyTo: msg.envelope.properties.reply_to, current: { id: msg.id, rootId: msg.rootId },
        };
        await this.recordChordPart(part, chordMember(step.id, 'FAILURE', info), trace);
      }
    }
  }

  /** @param trace the run that sends them (tracing on): each follow-up's headers carry its context. */
  private followUpOptions(label: string, trace?: RunTrace): FollowUpOptions {
    return {
      ...(trace ? { extraHeaders: trace.headers } : {}),
      origin: this.ctx.origin,
      layout: this.layout,
      ...(this.ctx.route ? { route: this.ctx.route } : {}),
      // A signature the worker cannot apply is logged and skipped: the task itself did end as recorded.
      onSkip: (_sig, err) => this.ctx.logger.log('error', `${label}: follow-up not sent: ${err.message}`),
      ...(this.ctx.errbacks ? { newStyle: (sig: Signature) => this.ctx.errbacks!.isNewStyle(sig) } : {}),
    };
  }

  private async publishFollowUps(followUps: FollowUps): Promise<void> {
    if (followUps.effects.length === 0) return;
    if (!this.ctx.backend.supportsChords && startsChord(followUps.effects)) {
      // Errbacks holding a chord, on a backend that cannot run one: not sent (the task's own end is recorded).
      const names = followUps.messages.map((m) => `${m.name}[${m.id}]`).join(', ') || 'nothing';
      this.ctx.logger.log('error', `Follow-ups not sent (${names}): ${RPC_NO_CHORDS}`);
      return;
    }
    await performFollowUps(this.ctx.broker, this.ctx.backend, followUps);
    for (const f of followUps.messages) this.ctx.logger.log('debug', `Sent follow-up ${f.name}[${f.id}] to queue ${f.queue}`);
  }

  /** Republish the task as Celery's `retry()` does (same id, retries + 1, an ETA), store RETRY, then ack. */
  async retry(job: Job, retry: Retry): Promise<void> {
    const { msg, delivery } = job;
    const next = encodeRetry(msg, delivery.queue, retry.when, this.ctx.origin, randomUUID(), this.layout, job.trace?.headers);
    job.trace?.retried(retry.message, retry.when);
    const info: ExceptionInfo = retry.exc === undefined ? exceptionInfo(retry) : exceptionInfo(retry.exc);
    const traceback = retry.exc instanceof Error ? retry.exc.stack ?? null : retry.stack ?? null;
    this.ctx.logger.log('info', `Task ${msg.name}[${msg.id}] retry: ${retry.message}`);
    // Publish before the ack: a crash in between gives a duplicate, never a lost task.
    await this.ctx.broker.publish(delivery.queue, msg.priority, next);
    await this.ctx.backend.store(this.resultInput(job, { state: 'RETRY', result: info, traceback, children: [[[msg.id, null], null]] }), this.destination(msg));
    if (!job.acked) await this.ctx.broker.ack(delivery.tag);
    this.ctx.stats.retried++;
    this.ctx.emit('task-retried', msg.id, info);
  }

  /** End a job without running it (or after terminating it): store REVOKED with Celery's reason, then ack. */
  async discard(job: Job, reason: RevokeReason): Promise<void> {
    const { msg, delivery } = job;
    try {
      const result = { exc_type: 'TaskRevokedError', exc_message: [reason], exc_module: 'celery.exceptions' };
      await this.ctx.backend.store(this.resultInput(job, { state: 'REVOKED', result }), this.destination(msg));
      // Celery's mark_as_revoked counts a revoked header member as a chord part: the callback then fails.
      await this.chordEnded(msg, 'REVOKED', result);
      if (!job.acked) await this.ctx.broker.ack(delivery.tag);
      if (reason === 'expired') this.ctx.logger.log('info', `Discarding expired task ${msg.name}[${msg.id}] (expired ${msg.expires?.toISOString()})`);
      else if (reason === 'revoked') this.ctx.logger.log('info', `Discarding revoked task: ${msg.name}[${msg.id}]`);
      this.ctx.emit('task-revoked', msg.id, reason);
    } catch (err) {
      this.ctx.logger.log('error', `Task ${msg.name}[${msg.id}] was ${reason} but that could not be recorded: ${errorMessage(err)}`);
      // Still unacked: it will be delivered again, and this run ends here.
      this.ctx.emit('task-released', msg.id, reason === 'terminated');
    }
  }

  async unregistered(delivery: Delivery, msg: TaskMessage): Promise<void> {
    const reason = `unregistered task ${msg.name}`;
    this.ctx.logger.log('error', `Received unregistered task of type '${msg.name}'. The message has been moved to the dead-letter queue. Did you forget to define it, or is it meant for a Python worker? [${msg.id}]`);
    const exc = { exc_type: 'NotRegistered', exc_message: [msg.name], exc_module: 'celery.exceptions' };
    await this.deadLetter(delivery, reason, undefined, msg, exc);
  }

  /** Move a message to the dead-letter list with its record; tell a waiting client with a FAILURE when the id is known. */
  async deadLetter(delivery: Delivery, reason: string, err?: ProtocolError, msg?: TaskMessage, exc?: ExceptionInfo): Promise<void> {
    const taskId = msg?.id ?? err?.taskId;
    const taskName = msg?.name ?? err?.taskName;
    const exception = exc ?? { exc_type: 'ProtocolError', exc_message: [reason], exc_module: 'radish' };
    const record: DeadLetterRecord = {
      reason, queue: delivery.queue, worker: this.ctx.hostname, time: Date.now() / 1000, raw: delivery.raw,
      ...(taskId ? { task_id: taskId } : {}), ...(taskName ? { task: taskName } : {}), exception,
    };
    try {
      const dropped = await this.ctx.broker.deadLetter(delivery.tag, record, delivery.bytes);
      if (dropped) this.ctx.logger.log('warning', `Dead-letter queue is full: dropped its ${dropped} oldest record(s)`);
      if (!msg) this.ctx.logger.log('error', `Rejected a message on queue ${delivery.queue}${taskId ? ` (task ${taskId})` : ''}: ${reason}; moved it to the dead-letter queue`);
      if (taskId) await this.ctx.backend.store({ taskId, state: 'FAILURE', result: exception, traceback: null, layout: this.layout }, msg ? this.destination(msg) : envelopeDestination(delivery.raw, taskId));
      this.ctx.emit('dead-letter', taskId, reason, taskName, delivery.queue);
    } catch (e) {
      this.ctx.logger.log('error', `Could not dead-letter a message (it stays unacked and will be restored): ${errorMessage(e)}`);
    }
  }

  async giveBack(jobs: Job[]): Promise<number> {
    if (jobs.length === 0) return 0;
    return this.ctx.broker.giveBack(jobs.map((j) => ({ tag: j.delivery.tag, raw: j.delivery.raw, queue: j.delivery.queue, priority: j.msg.priority })));
  }
}

const NO_FOLLOW_UPS: FollowUps = { effects: [], messages: [], children: [] };


/** The `reply_to` of each step still to come in a task's chain, by the step's task id. */
function chainReplyTo(msg: TaskMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const step of msg.embed.chain ?? []) {
    const o = (step as { options?: unknown } | null)?.options as { task_id?: unknown; reply_to?: unknown } | undefined;
    if (typeof o?.task_id === 'string' && typeof o.reply_to === 'string' && o.reply_to) out.set(o.task_id, o.reply_to);
  }
  return out;
}

/** The destination named by a message that could not be read as a task, if its envelope can be (rpc://). */
function envelopeDestination(raw: string, taskId: string): ResultDestination | undefined {
  try {
    const properties = (JSON.parse(raw) as { properties?: { reply_to?: unknown; correlation_id?: unknown } } | null)?.properties;
    const replyTo = typeof properties?.reply_to === 'string' ? properties.reply_to : null;
    const correlationId = typeof properties?.correlation_id === 'string' && properties.correlation_id ? properties.correlation_id : taskId;
    return replyTo ? { replyTo, correlationId } : undefined;
  } catch {
    return undefined;
  }
}

function shortRepr(value: unknown): string {
  const r = pyRepr(value);
  return r.length > 200 ? r.slice(0, 197) + '...' : r;
}
