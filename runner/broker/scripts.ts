/**
 * The one gateway to Radish's Lua scripts (the broker's, the result backend's and the task history's): each script
 * is a `.lua` file with a KEYS/ARGV/returns header, run with EVALSHA and re-sent with EVAL when Redis does not know
 * it (after a restart or on a fresh server). Lua in Redis has no `require`: the fragments several scripts share
 * (scripts/lib/*.lua, local functions) are put before the scripts that name them here.
 */
import { createHash } from 'node:crypto';
import { Command, type default as Redis } from 'ioredis';
import reserveLua from './scripts/reserve.lua';
import restoreLua from './scripts/restore.lua';
import deadLetterLua from './scripts/dead_letter.lua';
import finishLua from './scripts/finish.lua';
import releaseLockLua from './scripts/release_lock.lua';
import purgeLua from './scripts/purge.lua';
import replayLua from './scripts/replay.lua';
import refreshLockLua from './scripts/refresh_lock.lua';
import beatClaimLua from './scripts/beat_claim.lua';
import beatResumeLua from './scripts/beat_resume.lua';
import hashSwapLua from './scripts/hash_swap.lua';
import storeResultLua from './scripts/store_result.lua';
import chordPartLua from './scripts/chord_part.lua';
import resultsLib from './scripts/lib/results.lua';
import unackLib from './scripts/lib/unack.lua';
import historyRecordLua from './scripts/history_record.lua';
import metricsWriteLua from './scripts/metrics_write.lua';
import { errorMessage } from '../errors';

type Arg = string | number | Buffer;

export class LuaScript {
  /** The text sent to Redis: the fragments, then the script. */
  readonly source: string;
  readonly sha: string;
  /** @param libs fragments (scripts/lib/*.lua) the script calls, put before it. */
  constructor(readonly name: string, script: string, libs: readonly string[] = []) {
    this.source = [...libs, script].join('\n');
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  /** Run the script; keys and args as its header documents. */
  async run<T>(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<T> {
    try {
      return (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as T;
    } catch (err) {
      if (!errorMessage(err).startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(this.source, keys.length, ...keys, ...args)) as T;
    }
  }

  /**
   * Run the script with its reply's strings as Buffers (bytes that are not UTF-8 arrive as they are). Sent as a
   * Command of its own: ioredis's `callBuffer` loses the command's name on an auto-pipelined connection.
   */
  async runBuffer<T>(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<T> {
    const send = (command: string, first: string) =>
      redis.sendCommand(new Command(command, [first, keys.length, ...keys, ...args], { replyEncoding: null })) as Promise<T>;
    try {
      return await send('evalsha', this.sha);
    } catch (err) {
      if (!errorMessage(err).startsWith('NOSCRIPT')) throw err;
      return await send('eval', this.source);
    }
  }
}

export const scripts = {
  reserve: new LuaScript('reserve', reserveLua),
  restore: new LuaScript('restore', restoreLua, [unackLib]),
  deadLetter: new LuaScript('dead_letter', deadLetterLua, [unackLib]),
  finish: new LuaScript('finish', finishLua, [resultsLib, unackLib]),
  releaseLock: new LuaScript('release_lock', releaseLockLua),
  purge: new LuaScript('purge', purgeLua),
  replay: new LuaScript('replay', replayLua),
  storeResult: new LuaScript('store_result', storeResultLua, [resultsLib]),
  refreshLock: new LuaScript('refresh_lock', refreshLockLua),
  beatClaim: new LuaScript('beat_claim', beatClaimLua),
  beatResume: new LuaScript('beat_resume', beatResumeLua),
  hashSwap: new LuaScript('hash_swap', hashSwapLua),
  chordPart: new LuaScript('chord_part', chordPartLua),
  historyRecord: new LuaScript('history_record', historyRecordLua),
  metricsWrite: new LuaScript('metrics_write', metricsWriteLua),
} as const;
