/**
 * One way to run a bulk action from a view (Retry / Revoke / Discard All Matching): say how many match and ask, act
 * on at most `radish.bulk.limit` of them under a cancellable progress notification, and say what was done.
 */
import * as vscode from 'vscode';
import type { BulkOptions, BulkOutcome } from '../../../runner/index';
import { runner } from '../../runner';

/** How a caller other than a menu (a test, another extension) may run a bulk action. */
export interface BulkCommandOptions {
  /** Ask the user first. Default true. */
  confirm?: boolean;
}

/** Whether the caller asked to skip the confirmation (`{ confirm: false }` as the command's last argument). */
export function confirmWanted(options: unknown): boolean {
  return !(typeof options === 'object' && options !== null && !Array.isArray(options) && (options as BulkCommandOptions).confirm === false);
}

/** The most tasks a bulk action acts on at once: the `radish.bulk.limit` setting (default 1000). */
export function bulkLimit(): number {
  const limit = vscode.workspace.getConfiguration('radish').get<number>('bulk.limit') ?? 1000;
  return Number.isInteger(limit) && limit >= 1 ? limit : 1000;
}

export interface BulkRun {
  /** `Retry`, `Revoke`, `Discard`: the button and the verb. */
  verb: string;
  /** `Retried`: the notification's verb. */
  done: string;
  /** `failed tasks`, `unfinished tasks`. */
  noun: string;
  /** The filter as typed (empty: all). */
  filter: string;
  /** How many match. */
  matched: number;
  /**
   * Set when the search stopped after looking at this many tasks (there were more): `matched` is then a lower
   * bound, and the question says "at least".
   */
  searched?: number;
  /** What the action does to each, for the modal's detail. */
  detail: string;
  confirm: boolean;
  act: (options: BulkOptions) => Promise<BulkOutcome>;
}

/**
 * Run the count that comes before the question under a progress notification: a search of up to 10,000 tasks
 * takes a moment, and without one the command seems to do nothing.
 */
export function counting<T>(what: string, search: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Radish: counting ${what}…` }, search);
}

/** Ask, act, report. Resolves to the outcome, or undefined when the user said no. */
export async function runBulk(run: BulkRun): Promise<BulkOutcome | undefined> {
  const limit = bulkLimit();
  const n = (x: number) => x.toLocaleString('en-US');
  const matching = run.filter ? ` matching "${run.filter}"` : '';
  if (run.confirm) {
    const capped = run.matched > limit ? `\n\nAt most ${n(limit)} at once (the radish.bulk.limit setting): the first ${n(limit)} now; run it again for the rest.` : '';
    const count = run.searched === undefined ? n(run.matched) : `at least ${n(run.matched)}`;
    const searched = run.searched === undefined ? '' : ` (searched the last ${n(run.searched)})`;
    const answer = await vscode.window.showWarningMessage(`${run.verb} ${count} ${run.noun}${matching}${searched}?`,
      { modal: true, detail: `${run.detail}${capped}` }, run.verb);
    if (answer !== run.verb) return undefined;
  }
  const total = Math.min(limit, run.matched);
  const outcome = await vscode.window.withProgress({
    location: vscode.ProgressLocation.Notification, title: `Radish: ${run.verb.toLowerCase()} ${n(total)} ${run.noun}`, cancellable: true,
  }, async (progress, token) => {
    const abort = new AbortController();
    const cancelled = token.onCancellationRequested(() => abort.abort());
    let reported = 0;
    try {
      return await run.act({
        limit, signal: abort.signal,
        onProgress: (handled, of) => {
          const step = (100 * (handled - reported)) / Math.max(1, of);
          reported = handled;
          progress.report({ increment: step, message: `${n(handled)} of ${n(of)}` });
        },
      });
    } finally {
      cancelled.dispose();
    }
  });
  const text = `Radish: ${runner().bulkSummary(run.done, outcome, run.matched)}`;
  if (outcome.refused.length) void vscode.window.showWarningMessage(text);
  else void vscode.window.showInformationMessage(text);
  return outcome;
}
