/**
 * The RabbitMQ harness itself (test/support/rabbitmq.ts): a vhost of a suite's own on the shared broker, an own node
 * that keeps a persistent message through a crash. The cluster harness is exercised by amqp-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import { answers } from '../support/net';
import {
  checkQueue, createVhost, rabbitNode, rabbitVhost, requireRabbit,
} from '../support/rabbitmq';

/** Publish with a publisher confirm, so the broker has the message when this resolves. */
async function publish(connection: amqp.ChannelModel, queue: string, body: string, options: amqp.Options.AssertQueue = {}): Promise<void> {
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true, ...options });
  channel.sendToQueue(queue, Buffer.from(body), { persistent: true });
  await channel.waitForConfirms();
  await channel.close();
}

async function take(url: string, queue: string): Promise<string | undefined> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const message = await channel.get(queue, { noAck: true });
    return message ? message.content.toString() : undefined;
  } finally {
    await connection.close();
  }
}

describe('RabbitMQ harness', function () {
  describe('a vhost per suite', function () {
    const rabbit = rabbitVhost();

    it('round-trips a message in the suite\'s vhost and lists its queues', async function () {
      assert.match(rabbit.vhost.name, new RegExp(`^radish-test-${process.pid}-\\d+$`));
      const connection = await rabbit.connect();
      await publish(connection, 'harness', 'hello', { arguments: { 'x-max-priority': 5 } });
      const [queue] = await rabbit.vhost.listQueues();
      assert.deepEqual(queue && { ...queue, consumers: undefined }, {
        name: 'harness', messages: 1, messagesReady: 1, messagesUnacknowledged: 0, consumers: undefined,
        arguments: { 'x-max-priority': 5 }, durable: true, type: 'classic',
      });
      assert.equal(await take(rabbit.url, 'harness'), 'hello');
      assert.deepEqual(await checkQueue(rabbit.url, 'harness'), { messages: 0, consumers: 0 });
      assert.equal(await checkQueue(rabbit.url, 'no-such-queue'), undefined);
    });

    for (const via of ['management', 'rabbitmqctl'] as const) {
      it(`makes and deletes a vhost through ${via}`, async function () {
        requireRabbit(this);
        let vhost;
        try {
          vhost = await createVhost(undefined, { via });
        } catch (err) {
          if (via === 'management' && err instanceof Error && /no management API/.test(err.message)) {
            console.log(`      skipped: ${err.message}`);
            this.skip();
          }
          throw err;
        }
        const connection = await amqp.connect(vhost.url);
        await publish(connection, 'q', 'x');
        await connection.close();
        assert.deepEqual((await vhost.listQueues()).map((q) => [q.name, q.messages]), [['q', 1]]);
        await vhost.delete();
        // amqplib's error says only "Expected ConnectionOpenOk; got <ConnectionClose channel:0>" (530 NOT_ALLOWED).
        await assert.rejects(amqp.connect(vhost.url), /ConnectionClose|NOT_ALLOWED/);
      });
    }
  });

  describe('an own node', function () {
    const rabbit = rabbitNode();

    it('keeps a persistent message on a durable queue through a kill and a restart', async function () {
      this.timeout(90_000); // a start takes 3 s on an idle machine, 12 s on a busy one
      const { node } = rabbit;
      assert.ok(node.rss(), 'the node reports its memory');
      await publish(await rabbit.connect(), 'durable', 'survives');
      // RabbitMQ 3.10 itself sometimes loses a queue declared just before a SIGKILL (see syncMetadata).
      await node.syncMetadata();
      await node.kill();
      assert.equal(node.running, false);
      assert.equal(await answers(node.port), false);
      await node.start();
      assert.deepEqual(await checkQueue(node.url, 'durable'), { messages: 1, consumers: 0 });
      assert.equal(await take(node.url, 'durable'), 'survives');
      console.log(`      (node restarted in ${(node.lastStartMs / 1000).toFixed(1)} s, RSS ${Math.round((node.rss() ?? 0) / 2 ** 20)} MiB)`);
    });
  });

});
