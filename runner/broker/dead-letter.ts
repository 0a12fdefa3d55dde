/** The dead-letter record as stored, by either transport: JSON, with a message that is not UTF-8 kept byte for byte. */
import type { DeadLetterRecord } from './transport';

/**
 * A record whose `raw` holds bytes that are not UTF-8, kept byte for byte: JSON.stringify escapes only quotes,
 * backslashes and control characters, so the bytes read as Latin-1, written back as Latin-1, are the message's own
 * (a reader of the record reads its `raw` back the same way).
 */
export function encodeDeadLetter(record: DeadLetterRecord, bytes?: Buffer): string | Buffer {
  if (!bytes) return JSON.stringify(record);
  const rest = JSON.stringify({ ...record, raw: undefined });
  return Buffer.concat([
    Buffer.from(`${rest.slice(0, -1)},"raw":`), Buffer.from(JSON.stringify(bytes.toString('latin1')), 'latin1'), Buffer.from('}'),
  ]);
}
