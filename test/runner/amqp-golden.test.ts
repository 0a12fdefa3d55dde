/**
 * Golden tests against what a real Celery 5.2.6 (kombu 5.2.4, py-amqp 5.1.1) published on RabbitMQ 3.10, captured
 * frame by frame (test/fixtures/amqp-5.2.6, see its README): every captured task message reads as the call it was,
 * and Radish writing the same call produces the same AMQP message: properties, headers with their field-table types
 * and order, body (the same JSON, without Python's spaces); for a plain `delay()` the content header frame byte for byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { amqpToEnvelope, envelopeToAmqp, fromAmqpPriority, toAmqpPriority, type AmqpProperties } from '../../runner/protocol/amqp-envelope';
import { decodeTaskMessage, encodeTaskMessage, type TaskMessage } from '../../runner/protocol/message';
import { decodeFieldTable, UNDECODABLE } from '../../runner/broker/amqp/field-table';
import { publishOptionsOf } from '../../runner/broker/amqp/topology';
import { parseCeleryDate } from '../../runner/protocol/time';
import { callOf } from '../support/calls';

type Json = Record<string, unknown>;

/** One captured basic.publish with its content. */
interface Publish {
  label?: string;
  args: { exchange: string; routing_key: string };
  properties: Json;
  properties_present: string[];
  headers: Json;
  header_types: Json;
  body_b64: string;
  content_header_frame_b64?: string;
}

const captures = JSON.parse(readFileSync(join(__dirname, '../fixtures/amqp-5.2.6/task-messages.json'), 'utf8')) as Record<string, Json>;

/** amqplib's own property encoder (not exported by the package, so loaded by path): the frame Radish would send. */
const amqplibRequire = createRequire(require.resolve('amqplib'));
const defs = amqplibRequire('./lib/defs.js') as {
  encodeProperties(id: number, channel: number, size: number, fields: unknown): Buffer;
  BasicProperties: number;
};
const args = amqplibRequire('./lib/api_args.js') as { publish(exchange: string, routingKey: string, options: unknown): unknown };

function arrivalOf(p: Publish) {
  const props = p.properties;
  const properties: AmqpProperties = {
    contentType: props.content_type as string, contentEncoding: props.content_encoding as string, headers: p.headers,
    deliveryMode: props.delivery_mode as number, correlationId: props.correlation_id as string, replyTo: props.reply_to as string,
  };
  if (typeof props.priority === 'number') properties.priority = props.priority;
  if (typeof props.expiration === 'string') properties.expiration = props.expiration;
  return { content: Buffer.from(p.body_b64, 'base64'), properties, exchange: p.args.exchange, routingKey: p.args.routing_key, redelivered: false };
}

/** The field-table tag amqplib writes for a value as Radish types it (the fixture's notation: `{A: [...]}` for arrays). */
function tagOf(v: unknown): unknown {
  if (v === null) return 'V';
  if (typeof v === 'string') return 'S';
  if (typeof v === 'boolean') return 't';
  if (typeof v === 'number') return Number.isInteger(v) ? 'b?' : 'd';
  if (Array.isArray(v)) return { A: v.map(tagOf) };
  const typed = v as { '!'?: string; value?: unknown };
  if (typed['!'] === 'int') return 'I';
  if (typed['!'] === 'long') return 'l';
  return { F: Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [k, tagOf(x)])) };
}

/** py-amqp writes int64 as `L`; RabbitMQ (and amqplib) write `l`: the same type. */
function normalTags(t: unknown): unknown {
  if (t === 'L') return 'l';
  if (Array.isArray(t)) return t.map(normalTags);
  if (t && typeof t === 'object') return Object.fromEntries(Object.entries(t).map(([k, x]) => [k, normalTags(x)]));
  return t;
}

/** Times to the millisecond (JS keeps no microseconds), the rest as they are. */
function comparableHeaders(h: Json): Json {
  const { eta, expires, ...rest } = h;
  const ms = (v: unknown) => (typeof v === 'string' ? parseCeleryDate(v)?.getTime() : v);
  return { ...rest, eta: ms(eta), expires: ms(expires) };
}

const publishes: [string, Publish][] = [
  ['add.delay(2, 3)', captures.s1_add_delay!.publish as Publish],
  ...((captures.s2_apply_async_variants!.publishes as (Publish & { label: string })[]).map((p) => [p.label, p] as [string, Publish])),
  ...((captures.s5_worker_published!.worker_publishes as Publish[]).map((p, i) => [`worker publish ${i + 1}`, p] as [string, Publish])),
];

describe('AMQP task messages (golden, Celery 5.2.6 on RabbitMQ)', () => {
  it('has the captures', () => {
    assert.ok(publishes.length >= 10, `expected the captured publishes, found ${publishes.length}`);
  });

  for (const [label, p] of publishes) {
    it(`${label}: reads as the call it was, and Radish writes the same message`, () => {
      const { raw } = amqpToEnvelope(arrivalOf(p), 'tag-1');
      const msg: TaskMessage = decodeTaskMessage(raw);
      assert.equal(msg.id, p.headers.id);
      assert.equal(msg.name, p.headers.task);
      assert.equal(msg.routingKey, p.args.routing_key);
      assert.deepEqual([msg.args, msg.kwargs], (JSON.parse(Buffer.from(p.body_b64, 'base64').toString()) as unknown[]).slice(0, 2));

      const ours = envelopeToAmqp(encodeTaskMessage(callOf(msg), {
        origin: p.headers.origin as string, replyTo: p.properties.reply_to as string, deliveryTag: 't', layout: '5.2',
      }));
      // Body: the same JSON value.
      assert.deepEqual(JSON.parse(ours.content.toString()), JSON.parse(Buffer.from(p.body_b64, 'base64').toString()), 'body');

      const headers = ours.properties.headers as Json;
      const plain = JSON.parse(JSON.stringify(headers, (_k, v: unknown) => (v && typeof v === 'object' && '!' in v ? (v as unknown as { value: unknown }).value : v))) as Json;
      assert.deepEqual(Object.keys(headers), Object.keys(p.headers), 'header order');
      assert.deepEqual(comparableHeaders(plain), comparableHeaders(p.headers), 'headers');
      const tags = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, tagOf(v)]));
      assert.deepEqual(tags, normalTags(p.header_types), 'field-table types');

      const props = ours.properties;
      assert.equal(props.contentType, p.properties.content_type);
      assert.equal(props.contentEncoding, p.properties.content_encoding);
      assert.equal(props.deliveryMode, p.properties.delivery_mode);
      assert.equal(props.correlationId, p.properties.correlation_id);
      assert.equal(props.replyTo, p.properties.reply_to);
      assert.equal(props.expiration !== undefined, p.properties.expiration !== undefined, 'expiration set with expires');
      // Celery omits the priority when a queue is named; Radish always sends one (the same lane: AMQP 0, its 9).
      assert.equal(props.priority, typeof p.properties.priority === 'number' ? p.properties.priority : 0, 'priority');
    });
  }

  it('add.delay(2, 3): the content header frame (properties and headers) is Celery\'s byte for byte', () => {
    const p = captures.s1_add_delay!.publish as Publish;
    const msg = decodeTaskMessage(amqpToEnvelope(arrivalOf(p), 't').raw);
    const ours = envelopeToAmqp(encodeTaskMessage(callOf(msg), {
      origin: p.headers.origin as string, replyTo: p.properties.reply_to as string, deliveryTag: 't', layout: '5.2',
    }));
    const fields = args.publish('', 'celery', publishOptionsOf(ours.properties));
    // The body is the same JSON written without Python's spaces, so its size differs: the frame is compared with
    // Celery's body size, and without amqplib's frame envelope (type, channel, length before; the end octet after).
    const celeryBodySize = Buffer.from(p.body_b64, 'base64').length;
    const frame = defs.encodeProperties(defs.BasicProperties, 1, celeryBodySize, fields);
    assert.equal(frame.subarray(7, -1).toString('base64'), p.content_header_frame_b64);
  });

  it('priorities: Radish\'s 0 (served first) is AMQP\'s 9 (served first), and back', () => {
    assert.deepEqual([0, 3, 5, 9].map(toAmqpPriority), [9, 6, 4, 0]);
    assert.deepEqual([9, 6, 4, 0, 255].map(fromAmqpPriority), [0, 3, 5, 9, 0]);
    const priority5 = (captures.s2_apply_async_variants!.publishes as Publish[])[1]!;
    assert.equal(priority5.properties.priority, 5);
    assert.equal(decodeTaskMessage(amqpToEnvelope(arrivalOf(priority5), 't').raw).priority, 4, 'a Celery client\'s AMQP 5 is Radish\'s 4');
  });
});

describe('AMQP field tables (the decoder amqplib is given)', () => {
  /** A table entry: short key, tag, value bytes. */
  const entry = (key: string, tag: string, bytes: Buffer) => Buffer.concat([Buffer.from([key.length]), Buffer.from(key), Buffer.from(tag), bytes]);
  const int64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigInt64BE(n); return b; };
  const longstr = (s: string) => { const b = Buffer.alloc(4); b.writeUInt32BE(Buffer.byteLength(s)); return Buffer.concat([b, Buffer.from(s)]); };

  it('reads py-amqp\'s int64 `L` as amqplib reads `l`, in tables and arrays', () => {
    const array = Buffer.concat([Buffer.from('L'), int64(-5n), Buffer.from('l'), int64(2n ** 40n)]);
    const arrayLen = Buffer.alloc(4);
    arrayLen.writeUInt32BE(array.length);
    const table = Buffer.concat([entry('big', 'L', int64(2n ** 40n)), entry('list', 'A', Buffer.concat([arrayLen, array])), entry('task', 'S', longstr('tasks.add'))]);
    assert.deepEqual(decodeFieldTable(table), { big: 2 ** 40, list: [-5, 2 ** 40], task: 'tasks.add' });
  });

  it('stops at a type nobody defines, keeps what came before, and says why (the worker dead-letters the message)', () => {
    const table = Buffer.concat([entry('task', 'S', longstr('tasks.add')), entry('odd', 'Z', Buffer.from([1, 2, 3])), entry('id', 'S', longstr('x'))]);
    const fields = decodeFieldTable(table);
    assert.equal(fields.task, 'tasks.add');
    assert.equal(fields.id, undefined);
    assert.match(String(fields[UNDECODABLE]), /"odd".*"Z"/);
  });

  it('is the decoder amqplib uses here (installed by test/support/register.js, as esbuild.mjs does for the bundles)', () => {
    const codec = amqplibRequire('./lib/codec.js') as { decodeFields: unknown };
    assert.equal(codec.decodeFields, decodeFieldTable);
  });
});
