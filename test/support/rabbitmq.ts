/**
 * RabbitMQ for the tests, in two kinds:
 *
 * - The shared broker at `RABBITMQ_URL` (default the local service, amqp://guest:guest@127.0.0.1:5672), where every
 *   suite gets a vhost of its own, made and deleted through the management API (about 50 ms; setup.sh enables the
 *   plugin), or through `rabbitmqctl` when there is none (0.5 to 1 s a call). `rabbitVhost()` is the mocha hooks.
 * - Nodes of the tests' own, `rabbitmq-server` on free ports with their data in a temporary directory, that tests
 *   stop, kill (SIGKILL of the Erlang VM) and start again with their data kept, alone (`rabbitNode()`, about 3.5 s to
 *   start) or as a cluster (`rabbitCluster()`, for quorum queues).
 *
 * A suite skips itself, saying why, when what it needs is missing:
 *
 *     before(function () { requireRabbit(this); });        // the shared broker
 *     before(function () { requireRabbitServer(this); });  // own nodes
 *
 * (the hooks helpers below do that themselves). Everything made here is removed when its suite ends, and on the
 * process's exit or interruption at the latest: own nodes are killed and their directories removed, vhosts deleted.
 *
 * Environment: `RABBITMQ_URL`; `RABBITMQ_MANAGEMENT_URL` (default `http://<host of RABBITMQ_URL>:15672`, `off` to
 * manage with rabbitmqctl only); `RADISH_RABBITMQ_SCRIPTS`, the directory of the real rabbitmq-server/rabbitmqctl
 * scripts (default Debian's /usr/lib/rabbitmq/bin, else the one `rabbitmq-server` on PATH resolves to);
 * `RADISH_RABBIT_KEEP=1` keeps own nodes' directories (data and logs) after they are killed, printing where.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync,
  realpathSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, constants as osConstants } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import * as amqp from 'amqplib';
import { answers, freePort } from './net';
import { delay } from './wait';

export { freePort };

/** The shared broker the vhosts are made on. */
export const RABBITMQ_URL = process.env.RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672';

function credentials(url: string): { user: string; password: string } {
  const parsed = new URL(url);
  return { user: decodeURIComponent(parsed.username || 'guest'), password: decodeURIComponent(parsed.password || 'guest') };
}

/** `base` (any path dropped) with vhost `vhost`, e.g. `amqp://guest:guest@127.0.0.1:5672/radish-test-1-1`. */
export function vhostUrl(base: string, vhost: string): string {
  const parsed = new URL(base);
  const auth = parsed.username ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
  return `${parsed.protocol}//${auth}${parsed.host}/${encodeURIComponent(vhost)}${parsed.search}`;
}

function managementBase(): string | undefined {
  const configured = process.env.RABBITMQ_MANAGEMENT_URL;
  if (configured === 'off' || configured === '') return undefined;
  if (configured) return configured.replace(/\/+$/, '');
  return `http://${new URL(RABBITMQ_URL).hostname}:15672`;
}

// ---------------------------------------------------------------------------------------------
// Availability

/** `managementUrl`: the API's base when it answers (vhosts are made through it; else with rabbitmqctl). */
export type RabbitAvailability =
  | { ok: true; url: string; version: string; managementUrl: string | undefined }
  | { ok: false; reason: string };

let availability: RabbitAvailability | undefined;

/** The check run in a child process, so that {@link rabbitAvailable} can be synchronous. */
const PROBE = `
const [amqplib, url, api, user, password] = process.argv.slice(1);
(async () => {
  const out = {};
  try {
    const c = await require(amqplib).connect(url, { timeout: 5000 });
    out.version = String(c.connection.serverProperties.version);
    await c.close();
  } catch (err) { out.amqp = String(err && err.message || err); }
  if (api) {
    try {
      const auth = 'Basic ' + Buffer.from(user + ':' + password).toString('base64');
      const r = await fetch(api + '/api/whoami', { headers: { authorization: auth }, signal: AbortSignal.timeout(5000) });
      out.management = r.ok ? true : 'HTTP ' + r.status;
    } catch (err) { out.management = String(err && err.cause && err.cause.code || err.message || err); }
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

/**
 * Whether the broker at `RABBITMQ_URL` answers (an AMQP login) and its vhosts can be managed: through the management
 * API when it answers, else through `rabbitmqctl` on this machine. Synchronous (a child process, about 0.2 s, plus
 * 0.5 s for rabbitmqctl when there is no management API) and cached.
 */
export function rabbitAvailable(): RabbitAvailability {
  if (availability) return availability;
  const api = managementBase();
  const { user, password } = credentials(RABBITMQ_URL);
  const probe = spawnSync(process.execPath, ['-e', PROBE, require.resolve('amqplib'), RABBITMQ_URL, api ?? '', user, password],
    { encoding: 'utf8', timeout: 20_000 });
  let seen: { version?: string; amqp?: string; management?: true | string } = {};
  try { seen = JSON.parse(probe.stdout); } catch { seen = { amqp: `probe failed: ${probe.error?.message ?? probe.stderr.trim()}` }; }
  if (seen.amqp !== undefined) {
    availability = { ok: false, reason: `no RabbitMQ at ${redact(RABBITMQ_URL)}: ${seen.amqp} (run setup.sh, or set RABBITMQ_URL)` };
    return availability;
  }
  const managementUrl = seen.management === true ? api : undefined;
  // rabbitmqctl (0.5 s) is only asked when there is no management API; `via: 'rabbitmqctl'` checks it when used.
  if (!managementUrl && !localCtl().works()) {
    const why = api ? `its management API at ${api} does not answer (${seen.management})` : 'RABBITMQ_MANAGEMENT_URL=off';
    availability = {
      ok: false,
      reason: `cannot make vhosts on ${redact(RABBITMQ_URL)}: ${why}, and rabbitmqctl fails (${localCtl().failure}); `
        + 'run setup.sh as root (enables the management plugin)',
    };
    return availability;
  }
  availability = { ok: true, url: RABBITMQ_URL, version: seen.version ?? '?', managementUrl };
  return availability;
}

/** In a mocha hook or test: skip, saying why in the output, unless the shared broker is there and manageable. */
export function requireRabbit(ctx: Mocha.Context): void {
  const available = rabbitAvailable();
  if (!available.ok) {
    console.log(`      skipped: ${available.reason}`);
    ctx.skip();
  }
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** The directory of the real `rabbitmq-server` and `rabbitmqctl` scripts (not Debian's /usr/sbin wrappers, which `su`). */
function scriptsDir(): string | undefined {
  if (process.env.RADISH_RABBITMQ_SCRIPTS) return process.env.RADISH_RABBITMQ_SCRIPTS;
  if (existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server')) return '/usr/lib/rabbitmq/bin';
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'rabbitmq-server');
    if (existsSync(candidate)) return dirname(realpathSync(candidate));
  }
  return undefined;
}

export type RabbitServerAvailability = { ok: true; scripts: string } | { ok: false; reason: string };
let serverAvailability: RabbitServerAvailability | undefined;

/** Whether own nodes can be started: RabbitMQ's scripts and Erlang's `erl` are installed. Synchronous and cached. */
export function rabbitServerAvailable(): RabbitServerAvailability {
  if (serverAvailability) return serverAvailability;
  const scripts = scriptsDir();
  const onPath = (name: string): boolean => (process.env.PATH ?? '').split(delimiter).some((d) => {
    try { accessSync(join(d, name), constants.X_OK); return true; } catch { return false; }
  });
  if (!scripts) {
    serverAvailability = { ok: false, reason: 'rabbitmq-server is not installed (run setup.sh, or set RADISH_RABBITMQ_SCRIPTS)' };
  } else if (!existsSync(join(scripts, 'rabbitmq-server')) || !existsSync(join(scripts, 'rabbitmqctl'))) {
    serverAvailability = { ok: false, reason: `no rabbitmq-server and rabbitmqctl in ${scripts}` };
  } else if (!onPath('erl')) {
    serverAvailability = { ok: false, reason: 'Erlang (erl) is not on PATH (run setup.sh)' };
  } else {
    serverAvailability = { ok: true, scripts };
  }
  return serverAvailability;
}

/** In a mocha hook or test: skip, saying why, unless own RabbitMQ nodes can be started. */
export function requireRabbitServer(ctx: Mocha.Context): void {
  const available = rabbitServerAvailable();
  if (!available.ok) {
    console.log(`      skipped: ${available.reason}`);
    ctx.skip();
  }
}

// ---------------------------------------------------------------------------------------------
// rabbitmqctl

/** One way of running `rabbitmqctl` against one node. */
class Ctl {
  private checked: boolean | undefined;
  failure = '';

  constructor(private readonly command: string, private readonly leading: string[], private readonly env: NodeJS.ProcessEnv) {}

  /** Run `rabbitmqctl -q <args>`; resolves with stdout, rejects with its output. */
  run(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.command, [...this.leading, '-q', ...args],
        { env: this.env, encoding: 'utf8', timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`rabbitmqctl ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${stderr || stdout}`.trim()));
          else resolve(stdout);
        });
      child.stdin?.end(options.input ?? '');
    });
  }

  /** Synchronous, for the exit guard and the availability check. */
  runSync(args: string[], timeoutMs = 30_000): { ok: boolean; output: string } {
    const r = spawnSync(this.command, [...this.leading, '-q', ...args], { env: this.env, encoding: 'utf8', timeout: timeoutMs });
    if (r.error) return { ok: false, output: r.error.message };
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
  }

  /** Whether the node answers (`await_startup`, which fails at once when the node is not running). Cached. */
  works(): boolean {
    if (this.checked === undefined) {
      const r = this.runSync(['await_startup', '--timeout', '10']);
      this.checked = r.ok;
      this.failure = r.ok ? '' : (r.output.split('\n').find((l) => l.trim()) ?? 'no output').trim();
    }
    return this.checked;
  }
}

let local: Ctl | undefined;
/** `rabbitmqctl` from PATH for the local service (Debian's wrapper runs it as the rabbitmq user, with its cookie). */
function localCtl(): Ctl {
  local ??= new Ctl('rabbitmqctl', [], process.env);
  return local;
}

// ---------------------------------------------------------------------------------------------
// Managing a broker: vhosts and queues

/** A queue as the broker reports it. */
export interface QueueInfo {
  name: string;
  /** Ready plus unacknowledged. */
  messages: number;
  messagesReady: number;
  /**
   * Delivered, not yet acknowledged. Exact through rabbitmqctl; through the management API it is the broker's
   * statistics, up to `collect_statistics_interval` old (5 s on a default service; 0.5 s on own nodes).
   */
  messagesUnacknowledged: number;
  consumers: number;
  /** x-arguments, e.g. `{ 'x-max-priority': 10, 'x-queue-type': 'quorum' }`. */
  arguments: Record<string, unknown>;
  durable: boolean;
  /** `classic` | `quorum` | `stream` */
  type: string;
}

export type AdminVia = 'management' | 'rabbitmqctl';

/** How a broker's vhosts and queues are managed: its management API, or `rabbitmqctl`. */
interface Admin {
  readonly via: AdminVia;
  readonly managementUrl: string | undefined;
  addVhost(name: string): Promise<void>;
  deleteVhost(name: string): Promise<void>;
  /** For the exit guard. */
  deleteVhostsSync(names: string[]): void;
  listQueues(vhost: string): Promise<QueueInfo[]>;
}

class HttpAdmin implements Admin {
  readonly via = 'management' as const;
  private readonly auth: string;

  constructor(readonly managementUrl: string, private readonly amqpBase: string, private readonly user: string, password: string) {
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  private async call(method: string, path: string, body?: unknown, allow404 = false): Promise<unknown> {
    const response = await fetch(`${this.managementUrl}/api${path}`, {
      method,
      headers: { authorization: this.auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    if (allow404 && response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${method} ${this.managementUrl}/api${path}: HTTP ${response.status} ${await response.text()}`);
    return response.status === 200 ? response.json() : undefined;
  }

  async addVhost(name: string): Promise<void> {
    const v = encodeURIComponent(name);
    await this.call('PUT', `/vhosts/${v}`, {});
    await this.call('PUT', `/permissions/${v}/${encodeURIComponent(this.user)}`, { configure: '.*', write: '.*', read: '.*' });
  }

  async deleteVhost(name: string): Promise<void> {
    await this.call('DELETE', `/vhosts/${encodeURIComponent(name)}`, undefined, true);
  }

  deleteVhostsSync(names: string[]): void {
    const script = `const [api, auth, ...names] = process.argv.slice(1);
      Promise.all(names.map((n) => fetch(api + '/api/vhosts/' + encodeURIComponent(n), { method: 'DELETE', headers: { authorization: auth } })
        .catch(() => undefined)));`;
    spawnSync(process.execPath, ['-e', script, this.managementUrl, this.auth, ...names], { timeout: 10_000, stdio: 'ignore' });
  }

  /**
   * Names, arguments and unacknowledged counts from the API; ready and consumer counts, which the API's statistics
   * report late, made exact with a passive declare of each queue.
   */
  async listQueues(vhost: string): Promise<QueueInfo[]> {
    const columns = 'name,messages_ready,messages_unacknowledged,consumers,arguments,durable,type';
    const rows = await this.call('GET', `/queues/${encodeURIComponent(vhost)}?columns=${columns}`) as Array<Record<string, unknown>>;
    const queues = rows.map((row): QueueInfo => {
      const ready = Number(row.messages_ready ?? 0);
      const unacked = Number(row.messages_unacknowledged ?? 0);
      return {
        name: String(row.name), messages: ready + unacked, messagesReady: ready, messagesUnacknowledged: unacked,
        consumers: Number(row.consumers ?? 0), arguments: (row.arguments ?? {}) as Record<string, unknown>,
        durable: Boolean(row.durable), type: String(row.type ?? 'classic'),
      };
    });
    if (queues.length) await exactCounts(vhostUrl(this.amqpBase, vhost), queues);
    return queues;
  }
}

/** Overwrite ready and consumer counts with a passive declare's (exclusive queues of other connections keep theirs). */
async function exactCounts(url: string, queues: QueueInfo[]): Promise<void> {
  const connection = await amqp.connect(url);
  connection.on('error', () => undefined);
  try {
    let channel: amqp.Channel | undefined;
    for (const q of queues) {
      try {
        if (!channel) {
          channel = await connection.createChannel();
          channel.on('error', () => undefined);
        }
        const ok = await channel.checkQueue(q.name);
        q.messagesReady = ok.messageCount;
        q.messages = ok.messageCount + q.messagesUnacknowledged;
        q.consumers = ok.consumerCount;
      } catch {
        channel = undefined; // a failed passive declare closes the channel
      }
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

class CtlAdmin implements Admin {
  readonly via = 'rabbitmqctl' as const;
  readonly managementUrl = undefined;

  constructor(private readonly ctl: Ctl, private readonly user: string) {}

  async addVhost(name: string): Promise<void> {
    // One call instead of add_vhost + set_permissions: each rabbitmqctl call costs about 0.5 s.
    const definitions = {
      vhosts: [{ name }],
      permissions: [{ user: this.user, vhost: name, configure: '.*', write: '.*', read: '.*' }],
    };
    await this.ctl.run(['import_definitions'], { input: JSON.stringify(definitions) });
  }

  async deleteVhost(name: string): Promise<void> {
    try {
      await this.ctl.run(['delete_vhost', name]);
    } catch (err) {
      if (!/does not exist|no_such_vhost/i.test(String(err))) throw err;
    }
  }

  deleteVhostsSync(names: string[]): void {
    for (const name of names) this.ctl.runSync(['delete_vhost', name], 10_000);
  }

  async listQueues(vhost: string): Promise<QueueInfo[]> {
    const out = await this.ctl.run(['list_queues', '-p', vhost, 'name', 'messages_ready', 'messages_unacknowledged',
      'consumers', 'arguments', 'durable', 'type', '--formatter', 'json']);
    const rows = (out.trim() ? JSON.parse(out) : []) as Array<Record<string, unknown>>;
    return rows.map((row): QueueInfo => {
      const ready = Number(row.messages_ready ?? 0);
      const unacked = Number(row.messages_unacknowledged ?? 0);
      return {
        name: String(row.name), messages: ready + unacked, messagesReady: ready, messagesUnacknowledged: unacked,
        consumers: Number(row.consumers ?? 0), arguments: ctlTable(row.arguments), durable: Boolean(row.durable),
        type: String(row.type ?? 'classic'),
      };
    });
  }
}

/** rabbitmqctl's JSON of an AMQP table, `[[key, type, value], ...]`, as a plain object. */
function ctlTable(table: unknown): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (!Array.isArray(table)) return result;
  for (const entry of table) {
    if (!Array.isArray(entry) || entry.length < 3) continue;
    const [key, type, value] = entry as [string, string, unknown];
    result[key] = type === 'table' ? ctlTable(value)
      : type === 'array' && value && typeof value === 'object' && !Array.isArray(value) ? Object.values(value) : value;
  }
  return result;
}

const sharedAdmins: Partial<Record<AdminVia, Admin>> = {};

/** The shared broker's admin: `via`, else the management API when it answers, else rabbitmqctl. */
function sharedAdmin(via?: AdminVia): Admin {
  const available = rabbitAvailable();
  if (!available.ok) throw new Error(available.reason);
  const kind: AdminVia = via ?? (available.managementUrl ? 'management' : 'rabbitmqctl');
  let admin = sharedAdmins[kind];
  if (!admin) {
    const { user, password } = credentials(RABBITMQ_URL);
    if (kind === 'management') {
      if (!available.managementUrl) throw new Error(`no management API at ${managementBase() ?? '(RABBITMQ_MANAGEMENT_URL=off)'}`);
      admin = new HttpAdmin(available.managementUrl, RABBITMQ_URL, user, password);
    } else {
      if (!localCtl().works()) throw new Error(`rabbitmqctl fails: ${localCtl().failure}`);
      admin = new CtlAdmin(localCtl(), user);
    }
    sharedAdmins[kind] = admin;
  }
  return admin;
}

export interface RabbitVhost {
  readonly name: string;
  /** AMQP URL of the vhost, e.g. `amqp://guest:guest@127.0.0.1:5672/radish-test-123-1`. */
  readonly url: string;
  /** The management API's base URL when the vhost was made through it. */
  readonly managementUrl: string | undefined;
  /** How it was made, and how {@link listQueues} asks. */
  readonly via: AdminVia;
  /** The vhost's queues with their counts and arguments. */
  listQueues(): Promise<QueueInfo[]>;
  /** One queue, or undefined when there is none of that name. */
  queue(name: string): Promise<QueueInfo | undefined>;
  /** Delete the vhost (and everything in it). Idempotent. */
  delete(): Promise<void>;
}

export interface CreateVhostOptions {
  /** The broker: an own node (its `/` vhost is always there too) instead of the shared one. */
  broker?: RabbitNode;
  /** Force the management API or rabbitmqctl; default the API when it answers. */
  via?: AdminVia;
}

let vhostCount = 0;
/** Vhosts not deleted yet, with the own node they are on (those go with their node). */
const liveVhosts = new Map<RabbitVhost, { admin: Admin; broker: RabbitNode | undefined }>();

/**
 * A new vhost (default name `radish-test-<pid>-<n>`) on the shared broker (or `options.broker`), with all permissions
 * for the URL's user. Deleted by {@link RabbitVhost.delete}, by `rabbitVhost()`'s after hook, at exit at the latest.
 */
export async function createVhost(name?: string, options: CreateVhostOptions = {}): Promise<RabbitVhost> {
  const vhostName = name ?? `radish-test-${process.pid}-${++vhostCount}`;
  const admin = options.broker ? (options.broker as OwnNode).admin(options.via) : sharedAdmin(options.via);
  const base = options.broker?.url ?? RABBITMQ_URL;
  await admin.addVhost(vhostName);
  let deleted: Promise<void> | undefined;
  const vhost: RabbitVhost = {
    name: vhostName,
    url: vhostUrl(base, vhostName),
    managementUrl: admin.managementUrl,
    via: admin.via,
    listQueues: () => admin.listQueues(vhostName),
    queue: async (queue) => (await admin.listQueues(vhostName)).find((q) => q.name === queue),
    delete: () => deleted ??= (async () => {
      try {
        await admin.deleteVhost(vhostName);
      } catch (err) {
        deleted = undefined; // left for another try, the exit guard's at the latest
        throw err;
      }
      liveVhosts.delete(vhost);
      updateGuard();
    })(),
  };
  liveVhosts.set(vhost, { admin, broker: options.broker });
  updateGuard();
  return vhost;
}

/** The queues of `vhost` on the shared broker (or `options.broker`), with counts and arguments. */
export function listQueues(vhost: string, options: CreateVhostOptions = {}): Promise<QueueInfo[]> {
  const admin = options.broker ? (options.broker as OwnNode).admin(options.via) : sharedAdmin(options.via);
  return admin.listQueues(vhost);
}

/**
 * Exact counts of one queue, fast (a passive declare over AMQP): `messages` ready and `consumers`, or undefined when
 * there is no such queue.
 */
export async function checkQueue(url: string, queue: string): Promise<{ messages: number; consumers: number } | undefined> {
  const connection = await amqp.connect(url);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const ok = await channel.checkQueue(queue).catch((err: { code?: number }) => {
      if (err.code === 404) return undefined;
      throw err;
    });
    return ok && { messages: ok.messageCount, consumers: ok.consumerCount };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export interface VhostHarness {
  readonly vhost: RabbitVhost;
  /** The vhost's AMQP URL. */
  readonly url: string;
  /** A connection to the vhost, closed when the suite ends. */
  connect(): Promise<amqp.ChannelModel>;
}

/**
 * Inside a `describe`: a vhost of the suite's own on the shared broker, made before its tests (the suite is skipped,
 * saying why, without a broker) and deleted after, with the connections made by `connect()`.
 */
export function rabbitVhost(options: { name?: string; via?: AdminVia } = {}): VhostHarness {
  let vhost: RabbitVhost | undefined;
  const made = (): RabbitVhost => {
    if (!vhost) throw new Error('rabbitVhost() makes its vhost in a before hook: use it in hooks and tests');
    return vhost;
  };
  const connections = connector(() => made().url);
  before(async function () {
    requireRabbit(this);
    vhost = await createVhost(options.name, { via: options.via });
  });
  after(async () => {
    await connections.closeAll();
    await vhost?.delete();
  });
  return { get vhost() { return made(); }, get url() { return made().url; }, connect: connections.connect };
}

// ---------------------------------------------------------------------------------------------
// Own nodes

export interface StartRabbitOptions {
  /** Enable the management plugin on a free port (vhosts and queue lists through it). Default false. */
  management?: boolean;
  /** More rabbitmq.conf lines, e.g. `['consumer_timeout = 5000']`. */
  config?: string[];
  /** Milliseconds to wait for the node to take connections. Default 60 s. */
  startTimeoutMs?: number;
}

export interface RabbitNode {
  /** Erlang node name, `radish-test-<port>@localhost`. */
  readonly name: string;
  /** `amqp://guest:guest@127.0.0.1:<port>` (vhost `/`). */
  readonly url: string;
  readonly port: number;
  readonly distPort: number;
  /** `http://127.0.0.1:<port>` when started with `management: true`. */
  readonly managementUrl: string | undefined;
  /** The temporary directory with its data (mnesia), logs and configuration. */
  readonly dir: string;
  /** Whether the node is running (started and not yet stopped or killed). */
  readonly running: boolean;
  /** The Erlang VM's pid while it runs. */
  readonly pid: number | undefined;
  /** Milliseconds the last start took, to taking AMQP connections. */
  readonly lastStartMs: number;
  /** Graceful stop (SIGTERM: the node closes connections and flushes queues). Idempotent. */
  stop(): Promise<void>;
  /**
   * SIGKILL the Erlang VM, as a crash would. Idempotent. RabbitMQ 3.10 can lose a durable queue declared a moment
   * before (with the persistent messages it confirmed in it): see {@link syncMetadata}.
   */
  kill(): Promise<void>;
  /**
   * Write the node's metadata log (Mnesia: queues, exchanges, bindings) to disk. RabbitMQ 3.10 does not always do so
   * before it answers a declare: SIGKILLed a moment after, a node lost the durable queue just declared, and the
   * persistent messages it had confirmed in it, in 5 kills of 90 here (none of 70 with this call first). Call it
   * before {@link kill} when the test is about the client surviving a crash, not about RabbitMQ's. One rabbitmqctl call.
   */
  syncMetadata(): Promise<void>;
  /** Start it (again), on the same ports with the same data; resolves once it takes AMQP connections. */
  start(): Promise<void>;
  /** Resident memory of the Erlang VM in bytes (Linux), undefined when not running. */
  rss(): number | undefined;
  /** `rabbitmqctl -n <node> -q <args>` with this node's cookie; resolves with its output. */
  ctl(args: string[]): Promise<string>;
  /** The tail of the node's log, for a failure message. */
  log(lines?: number): string;
  /** Kill it and remove its directory. */
  dispose(): Promise<void>;
}

/** The root of this process's own nodes: a HOME with the Erlang cookie, and a directory per node. */
let ownRoot: string | undefined;

/** Remove an own node's directory, unless RADISH_RABBIT_KEEP asks to keep it for a look. */
function removeDir(dir: string): void {
  if (process.env.RADISH_RABBIT_KEEP) console.error(`rabbitmq harness: kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

function rootDir(): string {
  if (ownRoot) return ownRoot;
  const root = mkdtempSync(join(tmpdir(), 'radish-rabbit-'));
  const home = join(root, 'home');
  mkdirSync(home);
  const cookie = join(home, '.erlang.cookie');
  // The service's cookie when readable, so that `rabbitmqctl -n radish-test-…@localhost` works from a shell too.
  try {
    copyFileSync('/var/lib/rabbitmq/.erlang.cookie', cookie);
  } catch {
    writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase());
  }
  chmodSync(cookie, 0o400);
  ownRoot = root;
  return root;
}

/** The inherited environment without the variables that would point the scripts at another node or its files. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(RABBITMQ_|ERL_|ERLANG_)/.test(key) && key !== 'HOME') env[key] = value;
  }
  return env;
}

const HOST = 'localhost';

class OwnNode implements RabbitNode {
  readonly name: string;
  readonly url: string;
  readonly dir: string;
  readonly managementUrl: string | undefined;
  lastStartMs = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly env: NodeJS.ProcessEnv;
  private readonly pidFile: string;
  private readonly logFile: string;
  private readonly ctlRunner: Ctl;
  private readonly admins: Partial<Record<AdminVia, Admin>> = {};
  private disposed = false;

  constructor(readonly port: number, readonly distPort: number, managementPort: number | undefined,
    private readonly scripts: string, private readonly options: StartRabbitOptions) {
    const root = rootDir();
    this.name = `radish-test-${port}@${HOST}`;
    this.url = `amqp://guest:guest@127.0.0.1:${port}`;
    this.managementUrl = managementPort ? `http://127.0.0.1:${managementPort}` : undefined;
    this.dir = join(root, `node-${port}`);
    mkdirSync(this.dir);
    this.pidFile = join(this.dir, 'beam.pid');
    this.logFile = join(this.dir, 'log', `${this.name}.log`);
    const config = [
      `listeners.tcp.1 = 127.0.0.1:${port}`,
      'loopback_users.guest = true',
      // Fresh statistics in the management API (the default is every 5 s).
      'collect_statistics_interval = 500',
      ...(managementPort ? [`management.tcp.ip = 127.0.0.1`, `management.tcp.port = ${managementPort}`] : []),
      ...(options.config ?? []),
    ];
    writeFileSync(join(this.dir, 'rabbitmq.conf'), `${config.join('\n')}\n`);
    writeFileSync(join(this.dir, 'enabled_plugins'), managementPort ? '[rabbitmq_management].\n' : '[].\n');
    // An empty rabbitmq-env.conf of its own: the system's (Debian's sets NODENAME=rabbit@localhost) must not apply.
    writeFileSync(join(this.dir, 'rabbitmq-env.conf'), '');
    this.env = {
      ...cleanEnv(),
      HOME: join(root, 'home'),
      RABBITMQ_CONF_ENV_FILE: join(this.dir, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: this.name,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: this.pidFile,
      // Erlang distribution on loopback only; an epmd this starts (when none runs yet) too.
      ERL_EPMD_ADDRESS: '127.0.0.1',
      ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
    this.ctlRunner = new Ctl(join(scripts, 'rabbitmqctl'), ['-n', this.name], this.env);
  }

  get running(): boolean { return this.child !== undefined; }

  get pid(): number | undefined {
    if (!this.child) return undefined;
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  admin(via?: AdminVia): Admin {
    const kind: AdminVia = via ?? (this.managementUrl ? 'management' : 'rabbitmqctl');
    let admin = this.admins[kind];
    if (!admin) {
      if (kind === 'management') {
        if (!this.managementUrl) throw new Error(`${this.name} was started without management: true`);
        admin = new HttpAdmin(this.managementUrl, this.url, 'guest', 'guest');
      } else {
        admin = new CtlAdmin(this.ctlRunner, 'guest');
      }
      this.admins[kind] = admin;
    }
    return admin;
  }

  ctl(args: string[]): Promise<string> { return this.ctlRunner.run(args); }

  async syncMetadata(): Promise<void> {
    await this.ctlRunner.run(['eval', 'mnesia:sync_log().']);
  }

  async start(): Promise<void> {
    if (this.child) return;
    if (this.disposed) throw new Error(`${this.name} was disposed`);
    const began = Date.now();
    rmSync(this.pidFile, { force: true });
    const out = openSync(join(this.dir, 'stdout.log'), 'a');
    // Its own process group: kill() and the exit guard reach the script and the VM it waits for together.
    const child = spawn(join(this.scripts, 'rabbitmq-server'), [], { env: this.env, cwd: this.dir, stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    // A node left running must not keep mocha waiting: the exit guard kills it.
    child.unref();
    this.child = child;
    let gone = false;
    let exitCode = '';
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      gone = true;
      exitCode = String(code ?? signal);
      if (this.child === child) this.child = undefined;
      resolve();
    }));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start rabbitmq-server: ${err.message} (run setup.sh)`)));
    });
    const deadline = began + (this.options.startTimeoutMs ?? 60_000);
    for (;;) {
      if (gone) throw new Error(`${this.name} exited (${exitCode}) while starting; its log:\n${this.log()}`);
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${this.name} did not take connections within ${this.options.startTimeoutMs ?? 60_000} ms; its log:\n${this.log()}`);
      }
      if (await answers(this.port) && await amqpLogin(this.url)) break;
      await delay(50);
    }
    this.lastStartMs = Date.now() - began;
  }

  private async signalled(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    const beam = this.pid;
    if (signal === 'SIGKILL') {
      // The VM alone, as a crash: the script waiting for it exits after it (and reaps it). Before the VM wrote its
      // pid (a kill early in a start), the whole group.
      if (beam) { try { process.kill(beam, 'SIGKILL'); } catch { /* gone */ } } else killGroup(child.pid);
    } else {
      // SIGTERM to the script, which passes it on to the VM and waits for its shutdown.
      try { child.kill(signal); } catch { /* gone */ }
    }
    const late = await Promise.race([this.exited.then(() => false), delay(graceMs).then(() => true)]);
    if (late) {
      killGroup(child.pid);
      await this.exited;
    }
    // The script gone, the VM must be too (its ports and its name in epmd free for a restart).
    if (beam && alive(beam)) {
      try { process.kill(beam, 'SIGKILL'); } catch { /* gone */ }
      for (let i = 0; i < 100 && alive(beam); i++) await delay(20);
    }
  }

  stop(): Promise<void> { return this.signalled('SIGTERM', 30_000); }
  kill(): Promise<void> { return this.signalled('SIGKILL', 5_000); }

  rss(): number | undefined {
    const pid = this.pid;
    if (!pid) return undefined;
    try {
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  log(lines = 40): string {
    const tail = (file: string): string => {
      try { return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return ''; }
    };
    return [tail(join(this.dir, 'stdout.log')), tail(this.logFile)].filter(Boolean).join('\n--- node log ---\n');
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.kill(); // its data goes with the directory: no need for a graceful stop
    ownNodes.delete(this);
    for (const [vhost, { broker }] of liveVhosts) if (broker === this) liveVhosts.delete(vhost);
    removeDir(this.dir);
    if (ownRoot && ownNodes.size === 0) {
      removeDir(ownRoot);
      ownRoot = undefined;
    }
    updateGuard();
  }

  /** Last resort, on exit: synchronous. */
  killNow(): void {
    const beam = this.pid;
    if (beam) { try { process.kill(beam, 'SIGKILL'); } catch { /* gone */ } }
    killGroup(this.child?.pid);
    removeDir(this.dir);
  }
}

/** Whether `pid` runs (a zombie, killed but not reaped yet, does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: signal 0 went through
  }
}

function killGroup(pid: number | undefined): void {
  if (pid) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
}

/** Whether an AMQP login succeeds: a node's port opens a moment before it serves connections. */
async function amqpLogin(url: string): Promise<boolean> {
  try {
    const connection = await amqp.connect(url, { timeout: 2000 });
    connection.on('error', () => undefined);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

const ownNodes = new Set<OwnNode>();
const portsGiven = new Set<number>();

/**
 * A free port not given to another node of this process yet, and outside the range rabbitmqctl's own Erlang node
 * listens in (35672-35682), so that no call of it ever finds its ports taken.
 */
async function unusedPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (portsGiven.has(port) || (port >= 35672 && port <= 35682)) continue;
    portsGiven.add(port);
    return port;
  }
}

async function newNode(options: StartRabbitOptions): Promise<OwnNode> {
  const available = rabbitServerAvailable();
  if (!available.ok) throw new Error(available.reason);
  const port = await unusedPort();
  const distPort = await unusedPort();
  const managementPort = options.management ? await unusedPort() : undefined;
  const node = new OwnNode(port, distPort, managementPort, available.scripts, options);
  ownNodes.add(node);
  updateGuard();
  return node;
}

/** Start an own RabbitMQ node; resolves once it takes AMQP connections. */
export async function startRabbitNode(options: StartRabbitOptions = {}): Promise<RabbitNode> {
  const node = await newNode(options);
  try {
    await node.start();
  } catch (err) {
    await node.dispose();
    throw err;
  }
  return node;
}

export interface RabbitNodeHarness {
  readonly node: RabbitNode;
  /** A connection to the node, closed when the suite ends (quiet about the node going away under it). */
  connect(): Promise<amqp.ChannelModel>;
}

/** Connections to `url()`, quiet about the broker going away under them, that the after hook closes. */
function connector(url: () => string): { connect(): Promise<amqp.ChannelModel>; closeAll(): Promise<void> } {
  const connections = new Set<amqp.ChannelModel>();
  return {
    async connect() {
      const connection = await amqp.connect(url());
      connection.on('error', () => undefined);
      connections.add(connection);
      connection.once('close', () => connections.delete(connection));
      return connection;
    },
    async closeAll() {
      await Promise.all([...connections].map((c) => c.close().catch(() => undefined)));
      connections.clear();
    },
  };
}

/** Inside a `describe`: an own node started before its tests (skipped, saying why, when impossible), disposed after. */
export function rabbitNode(options: StartRabbitOptions = {}): RabbitNodeHarness {
  let node: RabbitNode | undefined;
  const started = (): RabbitNode => {
    if (!node) throw new Error('rabbitNode() starts its node in a before hook: use it in hooks and tests');
    return node;
  };
  const connections = connector(() => started().url);
  before(async function () {
    requireRabbitServer(this);
    this.timeout((options.startTimeoutMs ?? 60_000) + 10_000);
    node = await startRabbitNode(options);
  });
  after(async () => {
    await connections.closeAll();
    await node?.dispose();
  });
  return { get node() { return started(); }, connect: connections.connect };
}

// ---------------------------------------------------------------------------------------------
// Clusters

export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  /** Each node's AMQP URL, in node order. */
  readonly urls: readonly string[];
  stopNode(i: number): Promise<void>;
  killNode(i: number): Promise<void>;
  /** Start a stopped or killed node again; it rejoins the cluster with its data. */
  startNode(i: number): Promise<void>;
  /** The nodes the cluster reports running, asked of node `via` (default the first running one). */
  runningNodes(via?: number): Promise<string[]>;
  /** Kill every node and remove their directories. */
  dispose(): Promise<void>;
}

class OwnCluster implements RabbitCluster {
  constructor(readonly nodes: readonly OwnNode[]) {}

  get urls(): string[] { return this.nodes.map((n) => n.url); }

  private at(i: number): OwnNode {
    const node = this.nodes[i];
    if (!node) throw new Error(`no node ${i} in a cluster of ${this.nodes.length}`);
    return node;
  }

  stopNode(i: number): Promise<void> { return this.at(i).stop(); }
  killNode(i: number): Promise<void> { return this.at(i).kill(); }
  startNode(i: number): Promise<void> { return this.at(i).start(); }

  async runningNodes(via?: number): Promise<string[]> {
    const node = via === undefined ? this.nodes.find((n) => n.running) : this.at(via);
    if (!node) throw new Error('no node of the cluster is running');
    const status = JSON.parse(await node.ctl(['cluster_status', '--formatter', 'json'])) as { running_nodes?: string[] };
    return [...(status.running_nodes ?? [])].sort();
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}

/**
 * `size` own nodes (default 3) in one cluster: the first started, then the others at once, joining it as they boot
 * (classic-config peer discovery; about 9 s in all on 2 cores, where starting all three and then joining them with
 * `stop_app`, `join_cluster`, `start_app` took 10.5 s). Resolves once every node takes connections and the cluster
 * reports them all running.
 */
export async function startRabbitCluster(size = 3, options: StartRabbitOptions = {}): Promise<RabbitCluster> {
  if (size < 1) throw new Error('a cluster needs at least one node');
  const nodes: OwnNode[] = [];
  try {
    const first = await newNode(options);
    nodes.push(first);
    const discovery = [
      'cluster_formation.peer_discovery_backend = classic_config',
      `cluster_formation.classic_config.nodes.1 = ${first.name}`,
    ];
    for (let i = 1; i < size; i++) nodes.push(await newNode({ ...options, config: [...discovery, ...(options.config ?? [])] }));
    // A blank node joins the cluster of the peers it discovers; restarted later, it goes by its own data instead.
    await first.start();
    await Promise.all(nodes.slice(1).map((n) => n.start()));
    const cluster = new OwnCluster(nodes);
    const running = await cluster.runningNodes(0);
    if (running.length !== size) throw new Error(`cluster reports ${running.length} running nodes of ${size}: ${running.join(', ')}`);
    return cluster;
  } catch (err) {
    await Promise.all(nodes.map((n) => n.dispose()));
    throw err;
  }
}

export interface RabbitClusterHarness {
  readonly cluster: RabbitCluster;
  /** A connection to node `i`, closed when the suite ends. */
  connect(i: number): Promise<amqp.ChannelModel>;
}

/** Inside a `describe`: a cluster of `size` own nodes started before its tests, disposed after. */
export function rabbitCluster(size = 3, options: StartRabbitOptions = {}): RabbitClusterHarness {
  let cluster: RabbitCluster | undefined;
  const started = (): RabbitCluster => {
    if (!cluster) throw new Error('rabbitCluster() starts its nodes in a before hook: use it in hooks and tests');
    return cluster;
  };
  const connections = new Map<number, ReturnType<typeof connector>>();
  before(async function () {
    requireRabbitServer(this);
    this.timeout(180_000);
    cluster = await startRabbitCluster(size, options);
  });
  after(async () => {
    await Promise.all([...connections.values()].map((c) => c.closeAll()));
    await cluster?.dispose();
  });
  return {
    get cluster() { return started(); },
    connect(i: number) {
      let c = connections.get(i);
      if (!c) {
        c = connector(() => {
          const url = started().urls[i];
          if (!url) throw new Error(`no node ${i} in the cluster`);
          return url;
        });
        connections.set(i, c);
      }
      return c.connect();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cleaning up

/** Stop everything made here: own nodes killed and removed, vhosts deleted (for an `after`/root hook). */
export async function stopAllRabbit(): Promise<void> {
  await Promise.all([...ownNodes].map((n) => n.dispose()));
  await Promise.all([...liveVhosts.keys()].map((v) => v.delete().catch(() => undefined)));
}

/**
 * While own nodes or vhosts exist, the process exiting (or interrupted: SIGINT, SIGTERM, SIGHUP end it through
 * process.exit, as test/support/vscode-host does) kills the nodes, removes their directories and deletes the vhosts.
 */
let guarded = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onExit(): void {
  for (const node of ownNodes) node.killNow();
  ownNodes.clear();
  if (ownRoot) removeDir(ownRoot);
  const byAdmin = new Map<Admin, string[]>();
  for (const [vhost, { admin, broker }] of liveVhosts) {
    if (broker) continue; // gone with its node
    byAdmin.set(admin, [...(byAdmin.get(admin) ?? []), vhost.name]);
  }
  for (const [admin, names] of byAdmin) admin.deleteVhostsSync(names);
  liveVhosts.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  process.exit(128 + (osConstants.signals[signal] ?? 0));
}

function updateGuard(): void {
  const needed = ownNodes.size > 0 || liveVhosts.size > 0;
  if (needed === guarded) return;
  guarded = needed;
  if (needed) {
    process.on('exit', onExit);
    for (const signal of SIGNALS) process.on(signal, onSignal);
  } else {
    process.off('exit', onExit);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  }
}
