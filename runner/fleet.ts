/**
 * One table of the worker fleet for tools (the VS Code Workers view, the CLI), whatever the worker is: Radish
 * workers describe themselves in their presence record (no round-trip to the worker); Python Celery workers are
 * asked over remote control (`inspect stats`, `active`, `active_queues`, in parallel, only the Celery nodes).
 */
import type { Control } from './control';
import type { Inspector, WorkerInfo } from './inspector';

/** A task running on a worker now. */
export interface RunningTask {
  id: string;
  name: string;
  /** Unix seconds it started, when the worker says. */
  started?: number;
  /** The process running it (a pool child), when the worker says. */
  pid?: number;
  /** Its arguments, when the worker reports them (Celery's `inspect active` does, as JSON). */
  args?: unknown;
  kwargs?: unknown;
}

export interface WorkerDetails {
  /** Node name, e.g. `celery@web1`. */
  hostname: string;
  kind: 'radish' | 'celery';
  /** The machine it runs on. */
  host: string;
  pid?: number;
  /** `async`, `process`, `prefork`, ... */
  pool?: string;
  concurrency?: number;
  queues: string[];
  active: RunningTask[];
  /** Tasks it finished since it started (Celery counts every outcome in `total`). */
  processed?: number;
  /** Tasks that failed since it started (Radish workers count them; Celery's stats do not). */
  failed?: number;
  /** Task names it can run. */
  tasks?: string[];
  /** Software and version, e.g. `radish 0.5.0`. */
  software?: string;
  /** Why the details are missing: a Celery node that did not answer remote control in time. */
  unreachable?: string;
}

export interface FleetOptions {
  /** Seconds to wait for Celery nodes' replies. Default 1. */
  timeout?: number;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fromRadish(info: WorkerInfo): WorkerDetails {
  const p = info.presence!;
  return {
    hostname: info.hostname, kind: 'radish', host: p.host ?? hostOf(info.hostname), pid: p.pid, pool: p.pool,
    concurrency: p.concurrency, queues: p.queues,
    active: p.active.map((a) => {
      const pid = (a as { pid?: number }).pid; // set by the process pool
      return { id: a.id, name: a.name, started: a.started, ...(pid === undefined ? {} : { pid }) };
    }),
    processed: p.processed, failed: p.failed, tasks: p.tasks, software: `${p.sw_ident} ${p.sw_ver}`,
  };
}

/** `celery@web1` -> `web1`: a Celery node name ends with its host unless the user chose otherwise. */
function hostOf(hostname: string): string {
  const at = hostname.indexOf('@');
  return at === -1 ? hostname : hostname.slice(at + 1);
}

function fromCelery(hostname: string, stats: unknown, active: unknown, queues: unknown): WorkerDetails {
  const details: WorkerDetails = { hostname, kind: 'celery', host: hostOf(hostname), queues: [], active: [] };
  if (!isObj(stats)) {
    details.unreachable = 'did not answer remote control in time';
    return details;
  }
  if (typeof stats.pid === 'number') details.pid = stats.pid;
  const pool = isObj(stats.pool) ? stats.pool : {};
  // Celery's `max-concurrency` is the size the pool started with (pool_grow/pool_shrink leave it as is); the process
  // list is what runs now. stats does not name the pool; prefork is the one that lists its processes.
  if (Array.isArray(pool.processes)) details.concurrency = pool.processes.length;
  else if (typeof pool['max-concurrency'] === 'number') details.concurrency = pool['max-concurrency'];
  details.pool = typeof pool.implementation === 'string' ? String(pool.implementation).replace(/^radish:/, '')
    : Array.isArray(pool.processes) ? 'prefork' : 'solo';
  if (isObj(stats.total)) {
    details.processed = Object.values(stats.total).reduce<number>((n, v) => n + (typeof v === 'number' ? v : 0), 0);
    details.tasks = Object.keys(stats.total);
  }
  if (Array.isArray(queues)) details.queues = queues.filter(isObj).map((q) => String(q.name));
  if (Array.isArray(active)) {
    details.active = active.filter(isObj).map((t) => ({
      id: String(t.id), name: String(t.name ?? t.type ?? '?'),
      ...(typeof t.time_start === 'number' ? { started: t.time_start } : {}),
      ...(typeof t.worker_pid === 'number' ? { pid: t.worker_pid } : {}),
      args: t.args, kwargs: t.kwargs,
    }));
  }
  return details;
}

/** Every worker the broker knows of, Radish's and Celery's, sorted by node name. */
export async function describeWorkers(inspector: Inspector, control: Control, options: FleetOptions = {}): Promise<WorkerDetails[]> {
  const workers = await inspector.workers();
  const celery = workers.filter((w) => w.kind === 'celery' || !w.presence).map((w) => w.hostname);
  let stats: Obj = {};
  let active: Obj = {};
  let queues: Obj = {};
  if (celery.length) {
    const ask = { destination: celery, timeout: options.timeout ?? 1 };
    [stats, active, queues] = await Promise.all([
      control.inspect('stats', {}, ask), control.inspect('active', {}, ask), control.inspect('active_queues', {}, ask),
    ]);
  }
  return workers.map((w) => (w.kind === 'radish' && w.presence
    ? fromRadish(w)
    : fromCelery(w.hostname, stats[w.hostname], active[w.hostname], queues[w.hostname])));
}
