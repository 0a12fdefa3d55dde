/**
 * A RabbitMQ project as a user meets it, in the real workbench (code-server in headless chromium) on a copy of
 * examples/ts-tasks whose settings name a RabbitMQ vhost of its own as the broker and a private redis-server as the
 * result backend: the Queues view shows the depth of a queue, and a click on its row shows, instead of its messages,
 * why RabbitMQ cannot list them (it would have to take them), without taking any. Skipped, with the reason, when the
 * VS Code host or RabbitMQ is not there.
 */
import assert from 'node:assert/strict';
import { Radish } from '../../runner/app';
import { rabbitVhost } from '../support/rabbitmq';
import { e2e, projectWorkbench, rowsOf, TIMEOUT } from '../support/workbench';

describe('a RabbitMQ project in the workbench (UI, code-server + chromium)', function () {
  this.timeout(300_000);
  const rabbit = rabbitVhost();
  let client: Radish | undefined;
  const s = projectWorkbench('radish-e2e-rabbitmq', { open: false, cleanup: async () => { await client?.close(); } });

  it('shows a queue\'s depth, and a click on it says why its messages are not listed', async () => {
    client = new Radish({ broker: rabbit.url, backend: s.redis.url });
    for (const kind of ['daily', 'weekly']) await client.send('reports.build', [kind], {}, { queue: 'reports' });
    const page = await s.openWorkspace({ settings: { 'radish.brokerUrl': rabbit.url, 'radish.resultBackendUrl': s.redis.url }, showRadish: true });
    await rowsOf(page, 'Queues', 'reports with 2 waiting', (rows) => rows.some((r) => r.label === 'reports' && r.description === '2 waiting'));
    await (await e2e.treeRow(page, 'Queues', 'reports')).click({ timeout: TIMEOUT });
    const rows = await rowsOf(page, 'Queues', 'the explanation under reports', (found) => found.some((r) => r.label === 'RabbitMQ cannot show them'));
    assert.equal(rows.find((r) => r.label === 'RabbitMQ cannot show them')?.description, 'without taking them off the queue');
    assert.ok(!rows.some((r) => /cannot reach|error/i.test(`${r.label} ${r.description}`)), `no error row: ${JSON.stringify(rows)}`);
    await e2e.screenshot(page, 'radish-rabbitmq-queue');
    // Nothing was taken to show it.
    assert.equal((await (await client.broker()).depths(['reports']))[0]?.total, 2);
  });
});
