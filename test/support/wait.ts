/** Waiting in tests: a plain delay, and polling for a state that no event announces. */

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `check` every `intervalMs` until it holds or `timeoutMs` has passed; resolves whether it held. For a wait
 * whose failure the caller's own assertion reports better than a timeout would (it says what was found instead).
 */
export async function poll(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await delay(intervalMs);
  }
  return true;
}

/**
 * Poll until `check` holds, failing with `what` after `timeoutMs`. `what` may be a function, so the message can
 * carry what was seen by then (a log, say) rather than what there was when the wait began.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 10_000, intervalMs = 10): Promise<void> {
  if (!(await poll(check, timeoutMs, intervalMs))) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

/** Mulberry32: a small seeded PRNG, so a failing random schedule can be replayed from its printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
