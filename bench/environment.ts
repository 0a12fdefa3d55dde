/** Where the numbers were measured, so results from different machines and commits are not compared blindly. */
import { execFileSync } from 'node:child_process';
import { cpus, platform, release, totalmem } from 'node:os';
import type Redis from 'ioredis';

export interface Environment {
  date: string;
  /** Short commit hash, `+dirty` when tracked files were changed; null outside a git checkout. */
  commit: string | null;
  machine: { cpu: string; cores: number; os: string; memoryGiB: number };
  node: string;
  redis: string;
}

function git(args: string[], cwd: string): string | null {
  try {
    return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
  } catch {
    return null; // no git, or not a checkout: the commit is simply unknown
  }
}

export async function environment(admin: Redis, repo: string): Promise<Environment> {
  const commit = git(['rev-parse', '--short', 'HEAD'], repo);
  const dirty = commit !== null && (git(['status', '--porcelain', '--untracked-files=no'], repo) ?? '') !== '';
  const info = await admin.info('server');
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    commit: commit === null ? null : commit + (dirty ? '+dirty' : ''),
    machine: {
      cpu: cpu[0]?.model.trim() ?? 'unknown',
      cores: cpu.length,
      os: `${platform()} ${release()}`,
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    },
    node: process.version,
    redis: /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown',
  };
}
