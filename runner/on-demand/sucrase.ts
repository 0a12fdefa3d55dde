/**
 * What Radish's TypeScript loader uses of sucrase, bundled on its own as dist/vendor/sucrase.js (see ./load.ts): its
 * transform, and the part of its parser used to find namespaces that hold values (runner/worker/loader.ts).
 */
export { transform, type Transform } from 'sucrase';

/** This file, as loaded (dist/vendor/sucrase.js in the build), so that it can be let go (./load.ts). */
export const filename: string = __filename;

/** Sucrase's parser and token tables (its package has no types for them): pinned by the lockfile, and a test covers them. */
interface SucraseParser {
  parse(input: string, jsx: boolean, typescript: boolean, flow: boolean): {
    tokens: { type: number; contextualKeyword: number; isType: boolean; start: number }[];
  };
}

export const { parse } = require('sucrase/dist/parser') as SucraseParser;
export const { TokenType } = require('sucrase/dist/parser/tokenizer/types') as { TokenType: Record<string, number> };
export const { ContextualKeyword } = require('sucrase/dist/parser/tokenizer/keywords') as { ContextualKeyword: Record<string, number> };
