/**
 * `radish dlq list|retry|discard --match QUERY`: the failures that match a search query (runner/monitor/search.ts),
 * as the Failed view lists them (dead letters and stored FAILURE results), listed or acted on in bulk.
 */
import { bulkSummary, discardFailures, retryFailures, type FailureActions } from './bulk';
import { failedEntryId, parseQuery, searchFailures, searchSummary, searchableFailure, type FailedEntry, type FailureSource } from './search';

export interface MatchCommand {
  action: 'list' | 'retry' | 'discard';
  /** The query as typed. */
  match: string;
  /** list: rows shown (default 50); retry, discard: tasks acted on at most (default 1000). */
  limit?: number;
  /** list: one JSON array of {id, name, exception, kind} instead of lines. */
  json?: boolean;
  write: (text: string) => void;
}

function line(entry: FailedEntry): string {
  const s = searchableFailure(entry);
  const exc = (s.exc ?? '').split('\n')[0] ?? '';
  return `${s.name ?? '(unreadable message)'}[${failedEntryId(entry) ?? '?'}]  ${exc}`;
}

/** Run one `--match` command; resolves to the exit code (1 when a bulk action could not act on some). */
export async function runMatchCommand(inspector: FailureSource & FailureActions, command: MatchCommand): Promise<number> {
  const query = parseQuery(command.match);
  if (command.action === 'list') {
    const found = await searchFailures(inspector, query, { limit: command.limit ?? 50, countAll: true });
    if (command.json) {
      command.write(JSON.stringify(found.items.map((e) => ({ kind: e.kind, id: failedEntryId(e), name: searchableFailure(e).name, exception: searchableFailure(e).exc }))) + '\n');
      return 0;
    }
    for (const entry of found.items) command.write(`${line(entry)}\n`);
    const cut = searchSummary(found, query, 'failures');
    command.write(`${found.cutShort === 'examine' ? 'at least ' : ''}${found.matched} failed task(s) match "${query.text}"${cut ? ` (${cut})` : ''}\n`);
    return 0;
  }
  const limit = command.limit ?? 1000;
  const found = await searchFailures(inspector, query, { limit, countAll: true });
  const outcome = command.action === 'retry'
    ? await retryFailures(inspector, found.items, { limit })
    : await discardFailures(inspector, found.items, { limit });
  command.write(`${bulkSummary(command.action === 'retry' ? 'Retried' : 'Discarded', outcome, found.matched)}\n`);
  if (command.action === 'retry') for (const [was, now] of outcome.sent) command.write(`  ${was} -> ${now}\n`);
  return outcome.refused.length ? 1 : 0;
}
