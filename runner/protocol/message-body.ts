/**
 * A task message's body, `[args, kwargs, embed]`: the empty embed in each form it is written (the body of most
 * calls), and reading an embed off a decoded body.
 */
import { isObject } from './json';
import type { Embed, Signature } from './task-call';
import { ProtocolError } from './message-types';

/** The embed of a call without callbacks, errbacks, chain or chord; never handed out (see {@link emptyEmbed}). */
export const EMPTY_EMBED: Readonly<Embed> = { callbacks: null, errbacks: null, chain: null, chord: null };

/** A fresh empty embed, for a decoded message of its own. */
export function emptyEmbed(): Embed {
  return { callbacks: null, errbacks: null, chain: null, chord: null };
}

/** `JSON.stringify` of the empty embed, the body's third element on every plain call. */
export const EMPTY_EMBED_JSON = JSON.stringify(EMPTY_EMBED);

/** The base64 body of a call without arguments or callbacks as JSON.stringify writes it (most calls of a bulk send). */
export const EMPTY_CALL_BODY = Buffer.from('[[],{},' + EMPTY_EMBED_JSON + ']').toString('base64');

/** The same body as Celery writes it (Python's separators). */
export const EMPTY_BODY_PYTHON = Buffer.from('[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]').toString('base64');

/** The body's last element when it is the empty embed, as Radish and Celery write it. */
export const EMPTY_EMBED_COMPACT = ',{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]';
export const EMPTY_EMBED_PYTHON = ', {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]';

function readList(x: unknown, field: string): Signature[] | null {
  if (x === null || x === undefined) return null;
  if (!Array.isArray(x)) throw new ProtocolError(`embed.${field} must be a list of signatures`);
  for (let i = 0; i < x.length; i++) if (!isObject(x[i])) throw new ProtocolError(`embed.${field} must be a list of signatures`);
  return x as Signature[];
}

/** The body's embed, checked; throws ProtocolError when it is not an embed of signatures. */
export function readEmbed(v: unknown): Embed {
  if (v === null || v === undefined) return emptyEmbed();
  if (!isObject(v)) throw new ProtocolError('body embed must be an object');
  const chord = v.chord;
  if (chord !== null && chord !== undefined && !isObject(chord)) throw new ProtocolError('embed.chord must be a signature');
  return {
    callbacks: readList(v.callbacks, 'callbacks'),
    errbacks: readList(v.errbacks, 'errbacks'),
    chain: readList(v.chain, 'chain'),
    chord: (chord as Signature | undefined) ?? null,
  };
}
