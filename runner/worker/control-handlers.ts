/**
 * What a Radish worker answers on Celery's remote-control channel (pidbox), so `celery inspect` / `celery control`
 * and Radish's `Control` treat it like a Celery worker. Each handler replies as Celery 5.2's worker does.
 */
import { constants } from 'node:os';
import type { JsonObject } from '../protocol/message';
import { ok, PidboxError, revokeArguments, revokeReply } from '../protocol/pidbox';
import type { ControlHandlers } from './mailbox';

/** The worker as the handlers see it. */
export interface Controllable {
  revoke(ids: readonly string[], options: { terminate?: boolean; signal?: NodeJS.Signals }): Promise<{ terminated: string[] }>;
  revokedIds(): string[];
}

/** A signal as Celery accepts it (`SIGKILL`, `KILL`, `9`), as Node names it; a clear error for anything else. */
export function signalName(raw: string): NodeJS.Signals {
  const upper = raw.trim().toUpperCase();
  const byNumber = /^\d+$/.test(upper) ? Object.entries(constants.signals).find(([, n]) => n === Number(upper))?.[0] : undefined;
  const name = byNumber ?? (upper.startsWith('SIG') ? upper : `SIG${upper}`);
  if (!(name in constants.signals)) throw new PidboxError(`unknown signal ${JSON.stringify(raw)}`);
  return name as NodeJS.Signals;
}

export function controlHandlers(worker: Controllable): ControlHandlers {
  return {
    ping: () => ok('pong'),
    revoke: async (args: JsonObject) => {
      const { ids, terminate, signal } = revokeArguments(args);
      const { terminated } = await worker.revoke(ids, { terminate, signal: signalName(signal) });
      return terminate ? revokeReply(ids, terminated) : revokeReply(ids);
    },
    revoked: () => worker.revokedIds(),
  };
}
