// Types for suite-runner.js, for a suite's index.ts inside the extension host.

export interface RunOptions {
  /** Matched against paths relative to testsRoot. Default /\.test\.js$/. */
  pattern?: RegExp;
  /** Per test, ms. Default RADISH_TEST_TIMEOUT or 30000. */
  timeout?: number;
  /** Only tests whose full title matches. Default RADISH_TEST_GREP. */
  grep?: string;
}

/** Runs the compiled test files under testsRoot with mocha (describe/it); rejects on failure or when nothing ran. */
export function run(testsRoot: string, options?: RunOptions): Promise<void>;
export function findTestFiles(root: string, pattern: RegExp): string[];
