/**
 * The local RabbitMQ for the bench's RabbitMQ systems (radish-amqp, celery-amqp): whether it is there, and a vhost
 * of the bench's own per system and run, made and deleted through the management API (`rabbitmqctl` when there is
 * none), so the bench never touches a developer's queues and every run starts from an empty vhost. Unlike
 * redis-server, RabbitMQ is not started by the bench: it takes seconds to boot and is a service of the machine.
 *
 * Environment (as the tests read it, test/support/rabbitmq.ts): `RABBITMQ_URL` (default
 * amqp://guest:guest@127.0.0.1:5672), `RABBITMQ_MANAGEMENT_URL` (default http://<its host>:15672, `off` for
 * rabbitmqctl only).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Amqp from 'amqplib';

/**
 * amqplib, Radish's own dev dependency, required at run time from the repository root rather than bundled: bundling
 * would resolve `amqplib` from bench/ first, and bench/node_modules holds celery-node's amqplib 0.8.
 */
export const amqplib = createRequire(join(__dirname, '..', 'package.json'))('amqplib') as typeof Amqp;

export const RABBITMQ_URL = process.env.RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672';

function credentials(): { user: string; password: string } {
  const parsed = new URL(RABBITMQ_URL);
  return { user: decodeURIComponent(parsed.username || 'guest'), password: decodeURIComponent(parsed.password || 'guest') };
}

function managementBase(): string | undefined {
  const configured = process.env.RABBITMQ_MANAGEMENT_URL;
  if (configured === 'off' || configured === '') return undefined;
  if (configured) return configured.replace(/\/+$/, '');
  return `http://${new URL(RABBITMQ_URL).hostname}:15672`;
}

/** The URL with its password hidden, for the report. */
function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString().replace(/\/$/, '');
}

/** `RABBITMQ_URL` on vhost `vhost`. */
function vhostUrl(vhost: string): string {
  const parsed = new URL(RABBITMQ_URL);
  const auth = parsed.username ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
  return `${parsed.protocol}//${auth}${parsed.host}/${encodeURIComponent(vhost)}`;
}

/** How vhosts are made: the management API, or rabbitmqctl on this machine. */
interface Admin {
  readonly via: string;
  add(vhost: string): Promise<void>;
  remove(vhost: string): Promise<void>;
  /** Synchronous, for `process.on('exit')`. */
  removeNow(vhosts: string[]): void;
  /** Vhosts of this bench left by a run that was killed (its process gone), to delete. */
  leftovers(): Promise<string[]>;
}

const PREFIX = 'radish-bench-';

/** Vhost names are `radish-bench-<pid>-<system>-<random>`: one whose pid is not running was left by a killed run. */
function leftBehind(names: string[]): string[] {
  return names.filter((name) => {
    const pid = Number(/^radish-bench-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
}

class HttpAdmin implements Admin {
  readonly via = 'management API';
  private readonly auth: string;

  constructor(private readonly base: string, private readonly user: string, password: string) {
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.base}/api${path}`, {
      method,
      headers: { authorization: this.auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    if (method === 'DELETE' && response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${method} ${this.base}/api${path}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
    return response.status === 200 ? response.json() : undefined;
  }

  async add(vhost: string): Promise<void> {
    const v = encodeURIComponent(vhost);
    await this.call('PUT', `/vhosts/${v}`, {});
    await this.call('PUT', `/permissions/${v}/${encodeURIComponent(this.user)}`, { configure: '.*', write: '.*', read: '.*' });
  }

  async remove(vhost: string): Promise<void> {
    await this.call('DELETE', `/vhosts/${encodeURIComponent(vhost)}`);
  }

  removeNow(vhosts: string[]): void {
    const script = `const [api, auth, ...names] = process.argv.slice(1);
      Promise.all(names.map((n) => fetch(api + '/api/vhosts/' + encodeURIComponent(n), { method: 'DELETE', headers: { authorization: auth } })
        .catch(() => undefined)));`;
    spawnSync(process.execPath, ['-e', script, this.base, this.auth, ...vhosts], { timeout: 10_000, stdio: 'ignore' });
  }

  async leftovers(): Promise<string[]> {
    const vhosts = await this.call('GET', '/vhosts?columns=name') as { name: string }[];
    return leftBehind(vhosts.map((v) => v.name).filter((n) => n.startsWith(PREFIX)));
  }
}

class CtlAdmin implements Admin {
  readonly via = 'rabbitmqctl';

  constructor(private readonly user: string) {}

  private run(args: string[]): string {
    const r = spawnSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8', timeout: 60_000 });
    if (r.error || r.status !== 0) throw new Error(`rabbitmqctl ${args.join(' ')} failed: ${(r.error?.message ?? `${r.stderr}${r.stdout}`).trim()}`);
    return r.stdout;
  }

  async add(vhost: string): Promise<void> {
    this.run(['add_vhost', vhost]);
    this.run(['set_permissions', '-p', vhost, this.user, '.*', '.*', '.*']);
  }

  async remove(vhost: string): Promise<void> {
    this.run(['delete_vhost', vhost]);
  }

  removeNow(vhosts: string[]): void {
    for (const vhost of vhosts) spawnSync('rabbitmqctl', ['-q', 'delete_vhost', vhost], { timeout: 30_000, stdio: 'ignore' });
  }

  async leftovers(): Promise<string[]> {
    return leftBehind(this.run(['list_vhosts', 'name']).split('\n').map((l) => l.trim()).filter((n) => n.startsWith(PREFIX)));
  }
}

export interface Rabbit {
  /** The RabbitMQ version its server reports (e.g. `3.10.8`). */
  version: string;
  /** `RABBITMQ_URL` with its password hidden. */
  display: string;
  admin: Admin;
}

let probed: Promise<Rabbit | string> | undefined;

/**
 * The local RabbitMQ, or why the RabbitMQ systems cannot be measured (the line the bench prints as `skipped ...`):
 * an AMQP login, then a way to make vhosts. Asked once, when a RabbitMQ system is first asked whether it can run.
 */
export function rabbitmq(): Promise<Rabbit | string> {
  probed ??= (async (): Promise<Rabbit | string> => {
    let version: string;
    try {
      const connection = await amqplib.connect(RABBITMQ_URL, { timeout: 5000 });
      connection.on('error', () => undefined);
      version = String(connection.connection.serverProperties.version ?? '?');
      await connection.close();
    } catch (err) {
      return `no RabbitMQ at ${redact(RABBITMQ_URL)}: ${(err as Error).message} (run setup.sh, or set RABBITMQ_URL)`;
    }
    const { user, password } = credentials();
    const base = managementBase();
    let apiFailure = 'RABBITMQ_MANAGEMENT_URL=off';
    if (base) {
      const admin = new HttpAdmin(base, user, password);
      try {
        await admin.leftovers();
        return { version, display: redact(RABBITMQ_URL), admin };
      } catch (err) {
        apiFailure = `its management API at ${base} does not answer (${(err as Error).message})`;
      }
    }
    const ctl = new CtlAdmin(user);
    try {
      await ctl.leftovers();
      return { version, display: redact(RABBITMQ_URL), admin: ctl };
    } catch (err) {
      return `cannot make a vhost on ${redact(RABBITMQ_URL)}: ${apiFailure}, and ${(err as Error).message.split('\n')[0]} ` +
        '(enable the management plugin: rabbitmq-plugins enable rabbitmq_management)';
    }
  })();
  return probed;
}

/** Vhosts made and not deleted yet, with their admin: deleted on exit whatever ends the process. */
const live = new Map<string, Admin>();

/** A vhost of this run, `guest` (the URL's user) allowed everything in it. */
export interface BenchVhost {
  readonly name: string;
  /** `amqp://guest:guest@127.0.0.1:5672/<name>` */
  readonly url: string;
  /** Delete it (and everything in it). Idempotent. */
  delete(): Promise<void>;
}

/** Make a vhost for `system`, deleting first any that a killed run of the bench left behind. */
export async function createVhost(rabbit: Rabbit, system: string): Promise<BenchVhost> {
  for (const stale of await rabbit.admin.leftovers()) await rabbit.admin.remove(stale).catch(() => undefined);
  const name = `${PREFIX}${process.pid}-${system}-${randomBytes(3).toString('hex')}`;
  await rabbit.admin.add(name);
  live.set(name, rabbit.admin);
  let deleted: Promise<void> | undefined;
  return {
    name,
    url: vhostUrl(name),
    delete() {
      deleted ??= rabbit.admin.remove(name).finally(() => live.delete(name));
      return deleted;
    },
  };
}

/** Synchronous last resort for `process.on('exit')`: delete every vhost still there. */
export function deleteVhostsNow(): void {
  const byAdmin = new Map<Admin, string[]>();
  for (const [name, admin] of live) byAdmin.set(admin, [...(byAdmin.get(admin) ?? []), name]);
  for (const [admin, names] of byAdmin) admin.removeNow(names);
  live.clear();
}
