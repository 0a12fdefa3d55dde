/**
 * RabbitMQ's management HTTP API, where it is enabled: it lists every queue of the vhost with its ready and unacked
 * counts and consumers, which AMQP itself cannot (a passive declare needs the name and gives the ready count only).
 * Optional: every caller has an answer without it.
 */
import { errorMessage } from '../../errors';

export interface ManagedQueue {
  name: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
  arguments?: Record<string, unknown>;
  type?: string;
  /**
   * The AMQP `timestamp` (seconds) of the queue's head message, when it has one and it is paged in; absent or ''
   * otherwise. As lagging as every statistic here (the broker's `collect_statistics_interval`, 5 s by default).
   */
  head_message_timestamp?: number | string | null;
}

export class ManagementApi {
  private readonly base: string;
  private readonly auth: string;
  /** Whether it answered last time (undefined: not asked yet). */
  private reachable: boolean | undefined;
  private checkedAt = 0;

  constructor(url: string, private readonly vhost: string, private readonly timeoutMs = 2000) {
    const parsed = new URL(url);
    this.auth = 'Basic ' + Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64');
    parsed.username = '';
    parsed.password = '';
    this.base = parsed.toString().replace(/\/$/, '');
  }

  private async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.base}/api${path}`, {
      headers: { authorization: this.auth }, signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`management API ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  /**
   * The vhost's queues, or undefined when the API does not answer (not enabled, firewalled). A failure is
   * remembered for 30 s so a poll does not wait for a timeout every time.
   */
  async queues(): Promise<ManagedQueue[] | undefined> {
    if (this.reachable === false && Date.now() - this.checkedAt < 30_000) return undefined;
    try {
      const columns = 'name,durable,auto_delete,exclusive,messages_ready,messages_unacknowledged,consumers,arguments,type,head_message_timestamp';
      const queues = await this.get<ManagedQueue[]>(`/queues/${encodeURIComponent(this.vhost)}?columns=${columns}`);
      this.reachable = true;
      return queues;
    } catch (err) {
      this.reachable = false;
      this.checkedAt = Date.now();
      this.lastError = errorMessage(err);
      return undefined;
    }
  }

  /** Why the API did not answer last time, for messages that say what is missing. */
  lastError: string | undefined;
}
