/** Radish's version, set at build time from package.json (esbuild `define`); `dev` when run from source. */
declare const RADISH_VERSION: string | undefined;

export const VERSION: string = typeof RADISH_VERSION === 'string' ? RADISH_VERSION : 'dev';
