/**
 * Bad input on RabbitMQ: malformed and hostile AMQP messages (bodies that are not JSON, not UTF-8 or pickles,
 * headers of the wrong types or missing, unknown tasks, a 5 MB body...) published raw to the `celery` queue among
 * valid tasks, through one in-process worker. Every valid task must succeed; every bad message must be in
 * `radish.dlq` with a reason and its body kept (byte for byte where it is not UTF-8); the worker must still consume
 * at the end, with the queue empty. The counts must match exactly.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type * as amqp from 'amqplib';
import { Radish } from '../../runner/app';
import type { AmqpBroker } from '../../runner/broker/amqp/amqp-broker';
import type { DeadLetterRecord } from '../../runner/broker/transport';
import { createLogger } from '../../runner/log';
import { Worker } from '../../runner/worker/worker';
import { checkQueue, rabbitVhost } from '../support/rabbitmq';
import { redisHarness } from '../support/redis';
import { poll, prng } from '../support/wait';

/** A raw AMQP message: content and publish options, and the reason it must be dead-lettered with. */
interface Bad {
  label: string;
  content: Buffer;
  options: amqp.Options.Publish;
  reason: RegExp;
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const taskHeaders = (extra: Record<string, unknown> = {}) => ({ lang: 'py', task: 'tasks.scale', id: randomUUID(), retries: 0, ...extra });
const props = (headers: Record<string, unknown>, extra: amqp.Options.Publish = {}): amqp.Options.Publish =>
  ({ contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, headers, ...extra });

const KINDS: (() => Bad)[] = [
  () => ({ label: 'body not JSON', content: Buffer.from('[[1], {}, {'), options: props(taskHeaders()), reason: /not valid JSON/ }),
  () => ({ label: 'body not UTF-8', content: Buffer.concat([Buffer.from('[[1], {"x": "'), randomBytes(8), Buffer.from([0xff]), Buffer.from('"}, {}]')]), options: props(taskHeaders()), reason: /UTF-8/ }),
  () => ({ label: 'a pickle', content: Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1'), options: props(taskHeaders(), { contentType: 'application/x-python-serialize', contentEncoding: 'binary' }), reason: /content type/ }),
  () => ({ label: 'no content type', content: json([[1], {}, {}]), options: { headers: taskHeaders(), deliveryMode: 2 }, reason: /content type/ }),
  () => ({ label: 'no headers at all', content: json([[1], {}, {}]), options: props({}), reason: /./ }),
  () => ({ label: 'task id a number', content: json([[1], {}, {}]), options: props(taskHeaders({ id: 42 })), reason: /id/ }),
  () => ({ label: 'body an object', content: json({ args: [1] }), options: props(taskHeaders()), reason: /./ }),
  () => ({ label: 'args not a list', content: json([{ a: 1 }, {}, {}]), options: props(taskHeaders()), reason: /args/ }),
  () => ({ label: 'eta not a date', content: json([[1], {}, {}]), options: props(taskHeaders({ eta: 'tomorrow-ish' })), reason: /eta/ }),
  () => ({ label: 'unknown task', content: json([[1], {}, {}]), options: props(taskHeaders({ task: 'tasks.nobody' })), reason: /unregistered/ }),
  () => ({ label: 'content encoding latin-1', content: json([[1], {}, {}]), options: props(taskHeaders(), { contentEncoding: 'latin-1' }), reason: /encoding/ }),
];

describe('bad input on RabbitMQ', function () {
  this.timeout(120_000);
  const rabbit = rabbitVhost();
  const redis = redisHarness();

  it('dead-letters every malformed or hostile message with its reason, runs every valid one, and keeps consuming', async () => {
    const random = prng(Number(process.env.RADISH_BAD_INPUT_SEED ?? (Date.now() % 2 ** 31)));
    const app = new Radish({ broker: rabbit.url, backend: redis.server.url });
    app.task('tasks.scale', (i: number) => i * 7);
    const lines: string[] = [];
    const worker = new Worker(app, { hostname: 'bad-input@amqp', concurrency: 10, logger: createLogger('info', (l) => lines.push(l)) });
    await worker.start();
    const broker = await app.broker() as AmqpBroker;
    await broker.purgeDeadLetters();
    const connection = await rabbit.connect();
    const ch = await connection.createConfirmChannel();
    try {
      const bad: Bad[] = [];
      for (let i = 0; i < 20; i++) for (const kind of KINDS) bad.push(kind());
      bad.push({ label: '5 MB body not JSON', content: Buffer.alloc(5 * 1024 * 1024, 0x61), options: props(taskHeaders()), reason: /not valid JSON/ });
      const validIds: string[] = [];
      const order: ({ bad: Bad } | { valid: number })[] = [...bad.map((b) => ({ bad: b })), ...Array.from({ length: 100 }, (_, i) => ({ valid: i }))];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const item of order) {
        if ('bad' in item) {
          ch.publish('', 'celery', item.bad.content, item.bad.options);
        } else {
          const msg = app.message({ name: 'tasks.scale', args: [item.valid] });
          validIds.push(msg.id);
          await broker.publish('celery', 0, msg.body);
        }
      }
      await ch.waitForConfirms();

      const backend = await app.backend();
      await poll(async () => (await broker.deadLetterCount()) === bad.length
        && (await backend.getMany(validIds)).every((m) => m?.status === 'SUCCESS'), 60_000, 200);
      const metas = await backend.getMany(validIds);
      assert.deepEqual(metas.map((m) => m?.status), validIds.map(() => 'SUCCESS'), 'every valid task ran');
      const records = (await broker.deadLetters(0, bad.length + 10)).map((r) => JSON.parse(r) as DeadLetterRecord);
      assert.equal(records.length, bad.length, 'every bad message is in the dead-letter queue, once');
      // Each bad message by its id (every kind but one carries one), once, with its kind's reason and its body.
      const idOf = (r: DeadLetterRecord): string | undefined => {
        try {
          return (JSON.parse(r.raw) as { headers?: { id?: unknown } }).headers?.id as string | undefined;
        } catch {
          return undefined; // a body that is not UTF-8 is kept as its bytes alone
        }
      };
      const byId = new Map<string, DeadLetterRecord[]>();
      for (const r of records) {
        const id = idOf(r) ?? r.task_id;
        if (typeof id === 'string') byId.set(id, [...(byId.get(id) ?? []), r]);
      }
      for (const b of bad) {
        const id = (b.options.headers as { id?: unknown } | undefined)?.id;
        if (typeof id !== 'string') continue;
        const found = byId.get(id) ?? [];
        assert.equal(found.length, 1, `${b.label} ${id}: one record (found ${found.length})`);
        assert.match(found[0]!.reason, b.reason, b.label);
        if (!/UTF-8/.test(b.label)) assert.equal((JSON.parse(found[0]!.raw) as { body: string }).body, b.content.toString('utf8'), `${b.label}: its body kept`);
      }
      assert.equal((await checkQueue(rabbit.url, 'celery'))?.messages, 0, 'nothing left waiting');
      assert.equal(await (await app.send('tasks.scale', [6])).get({ timeout: 5000 }), 42, 'the worker still consumes');
    } finally {
      await ch.close().catch(() => undefined);
      await worker.stop();
      await app.close();
    }
  });
});
