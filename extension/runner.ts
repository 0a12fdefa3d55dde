/**
 * The runner library (client, inspector, monitor, remote control), loaded on first use from its own bundle,
 * dist/radish.js (the one the local worker runs), so activation does not pay for loading it and ioredis, and the
 * extension ships one copy of the runner instead of two. Import types from '../runner/index'; values through here
 * (but runner/errors.ts, whose errorMessage() has no dependencies and costs nothing to bundle).
 */
import * as path from 'node:path';
import type * as Runner from '../runner/index';

let loaded: typeof Runner | undefined;

export function runner(): typeof Runner {
  // Beside this file in dist/ (in the VSIX too).
  loaded ??= require(path.join(__dirname, 'radish.js')) as typeof Runner;
  return loaded;
}
