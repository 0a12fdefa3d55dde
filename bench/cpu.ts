/**
 * What a drain costs in CPU, per task: the whole machine's busy time (less the bench process's own polling) and, of
 * it, the bench's redis-server's, read from /proc over the timed drain. On a machine of C cores, a system that spends
 * T µs of CPU a task cannot drain faster than C / T however it is written: its ceiling, which the report prints beside
 * the rate, and which says whether a target is a matter of overlap (round trips, idle waits) or of work per task.
 *
 * Linux only (elsewhere nothing is reported). The machine's figure includes whatever else runs on it (an idle
 * RabbitMQ, say): a few percent, the same for every system.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** µs of CPU per task over a timed drain. */
export interface DrainCpu {
  /** The whole machine's, less the bench process's. */
  total: number;
  /** The bench's redis-server's (the broker of the Redis systems; the result store of the RabbitMQ ones). */
  redis: number;
}

export interface CpuReading {
  /** Busy CPU of every core, µs. */
  machine: number;
  /** This (the bench) process's CPU, µs. */
  bench: number;
  /** The redis-server's CPU, µs. */
  redis: number;
}

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (USER_HZ, nearly always 100), which /proc's CPU times count. */
function userHz(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Busy ticks of all cores: /proc/stat's first line less idle, iowait and steal (time the hypervisor took). */
function machineTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
  return user + nice + system + irq + softirq;
}

/** utime + stime of a process, in ticks (fields 14 and 15 of /proc/<pid>/stat, counted after the command's parentheses). */
function processTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Now's reading, or undefined where /proc cannot tell (not Linux, no such process). */
export function readCpu(redisPid: number | undefined): CpuReading | undefined {
  if (process.platform !== 'linux' || redisPid === undefined) return undefined;
  try {
    const us = 1e6 / userHz();
    const own = process.cpuUsage();
    return { machine: machineTicks() * us, bench: own.user + own.system, redis: processTicks(redisPid) * us };
  } catch {
    return undefined;
  }
}

/** µs per task between two readings, over `tasks` tasks. */
export function cpuPerTask(from: CpuReading | undefined, to: CpuReading | undefined, tasks: number): DrainCpu | undefined {
  if (!from || !to || tasks <= 0) return undefined;
  return {
    total: Math.max(0, to.machine - from.machine - (to.bench - from.bench)) / tasks,
    redis: (to.redis - from.redis) / tasks,
  };
}

/** The fastest drain that `total` µs a task allows on `cores` cores, tasks/s. */
export function ceiling(total: number, cores: number): number {
  return total > 0 ? (cores * 1e6) / total : Infinity;
}
