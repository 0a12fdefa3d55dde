/**
 * Which task was retried as which: a retry from the window is a new task (a new id), so the failed attempt stays on
 * record; this links the two both ways. Kept in the workspace's state (across reloads), the newest links only.
 */
import type * as vscode from 'vscode';

const KEY = 'radish.retryLinks';
/** Links kept: enough for weeks of clicking Retry, small enough to rewrite on each one. */
const MAX = 2000;

/** [earlier attempt, new attempt], oldest first. */
export type Link = [from: string, to: string];

export class RetryLinks {
  constructor(private readonly state: vscode.Memento) {}

  private all(): Link[] {
    return this.state.get<Link[]>(KEY) ?? [];
  }

  async add(...links: Link[]): Promise<void> {
    if (links.length) await this.state.update(KEY, [...this.all(), ...links].slice(-MAX));
  }

  /** The attempt `id` was retried from. */
  retryOf(id: string): string | undefined {
    return this.all().find(([, to]) => to === id)?.[0];
  }

  /** The attempts retried from `id`, oldest first. */
  retriedAs(id: string): string[] {
    return this.all().filter(([from]) => from === id).map(([, to]) => to);
  }
}
