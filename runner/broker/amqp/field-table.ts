/**
 * The AMQP 0-9-1 field-table decoder amqplib uses (installed in place of its own at build time by esbuild.mjs, and
 * for the tests by test/support/register.js), for two inputs a Celery fleet sends that amqplib 2.3 cannot read:
 *
 * - `L`: py-amqp writes a Python int outside int32 (a header `big=2**40`, a large stamp) as `L`, a signed 64-bit
 *   integer, where the 0-9-1 errata and amqplib say `l`; RabbitMQ passes it through as written. amqplib threw
 *   on it while parsing the frame, which closed the whole connection: RabbitMQ gave the message back, the worker
 *   reconnected and got it first again, for ever, and nothing behind it ran.
 * - any tag nobody knows: its length cannot be known, so the rest of that table cannot be read; the table's own
 *   length prefix still bounds it, so the frame and the connection are fine. The fields read so far are kept and
 *   {@link UNDECODABLE} says what went wrong, so the worker dead-letters the message with that reason.
 *
 * Values come out as amqplib's decoder gives them (its `{'!': 'decimal'|'timestamp', value}` shapes included), so
 * amqplib's own readers of server properties are unaffected.
 */

/** The header a table gets when part of it could not be read; its value says why. */
export const UNDECODABLE = 'x-radish-undecodable';

class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}
}

function value(r: Reader): { ok: true; value: unknown } | { ok: false; tag: string } {
  const { buf } = r;
  const tag = String.fromCharCode(buf[r.offset++]!);
  let v: unknown;
  switch (tag) {
    case 't': v = buf[r.offset] !== 0; r.offset += 1; break;
    case 'b': v = buf.readInt8(r.offset); r.offset += 1; break;
    case 'B': v = buf.readUInt8(r.offset); r.offset += 1; break;
    case 's': v = buf.readInt16BE(r.offset); r.offset += 2; break;
    case 'u': v = buf.readUInt16BE(r.offset); r.offset += 2; break;
    case 'I': v = buf.readInt32BE(r.offset); r.offset += 4; break;
    case 'i': v = buf.readUInt32BE(r.offset); r.offset += 4; break;
    // int64: `l` in the errata; `L` as py-amqp writes it (also signed, packed '>q').
    case 'l': case 'L': v = Number(buf.readBigInt64BE(r.offset)); r.offset += 8; break;
    case 'f': v = buf.readFloatBE(r.offset); r.offset += 4; break;
    case 'd': v = buf.readDoubleBE(r.offset); r.offset += 8; break;
    case 'D': {
      const places = buf[r.offset]!;
      const digits = buf.readUInt32BE(r.offset + 1);
      r.offset += 5;
      v = { '!': 'decimal', value: { places, digits } };
      break;
    }
    case 'T': v = { '!': 'timestamp', value: Number(buf.readBigUInt64BE(r.offset)) }; r.offset += 8; break;
    case 'S': {
      const len = buf.readUInt32BE(r.offset);
      r.offset += 4;
      v = buf.toString('utf8', r.offset, r.offset + len);
      r.offset += len;
      break;
    }
    case 'x': {
      const len = buf.readUInt32BE(r.offset);
      r.offset += 4;
      v = buf.subarray(r.offset, r.offset + len);
      r.offset += len;
      break;
    }
    case 'V': v = null; break;
    case 'F': {
      const len = buf.readUInt32BE(r.offset);
      r.offset += 4;
      v = decodeFieldTable(buf.subarray(r.offset, r.offset + len));
      r.offset += len;
      break;
    }
    case 'A': {
      const len = buf.readUInt32BE(r.offset);
      r.offset += 4;
      const end = r.offset + len;
      const items: unknown[] = [];
      while (r.offset < end) {
        const item = value(r);
        if (!item.ok) return item;
        items.push(item.value);
      }
      r.offset = end;
      v = items;
      break;
    }
    default:
      return { ok: false, tag };
  }
  return { ok: true, value: v };
}

/** Decode one field table (the bytes inside its length prefix). Never throws on an unknown type: see above. */
export function decodeFieldTable(slice: Buffer): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const r = new Reader(slice);
  while (r.offset < slice.length) {
    const keyLength = slice.readUInt8(r.offset);
    r.offset += 1;
    const key = slice.toString('utf8', r.offset, r.offset + keyLength);
    r.offset += keyLength;
    const read = value(r);
    if (!read.ok) {
      fields[UNDECODABLE] = `the AMQP field ${JSON.stringify(key)} has a type nobody defines (tag ${JSON.stringify(read.tag)}), so it and the fields after it could not be read`;
      break;
    }
    fields[key] = read.value;
  }
  return fields;
}
