/**
 * The discovery parsers, from their own bundle (dist/discovery.js, beside extension.js: it carries the TypeScript
 * compiler), required on first use only so that activation does not pay for them. Import only types from ./index
 * elsewhere in the extension; values come through here.
 */
import * as path from 'node:path';

export type Parsers = typeof import('./index');

let loaded: Parsers | undefined;

/** The parsers (the bundle is required on the first call). */
export function discoveryParsers(): Parsers {
  loaded ??= require(path.join(__dirname, 'discovery.js')) as Parsers;
  return loaded;
}
