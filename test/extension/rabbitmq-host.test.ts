/**
 * Runs the RabbitMQ host suites in a real VS Code host (code-server), each with a RabbitMQ vhost of its own as the
 * broker and a redis-server as the result backend: test/extension/rabbitmq-project.suite.ts on a copy of
 * examples/ts-tasks whose workspace settings name them (`radish.brokerUrl`, `radish.resultBackendUrl`), and
 * test/extension/rabbitmq-django.suite.ts on a copy of examples/django-celery whose Django settings name them (no
 * Radish setting does). Skipped, with the reason, when the host, RabbitMQ (with its management API, or rabbitmqctl,
 * to make the vhost) or, for the second, Celery is not there.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireCelery } from '../support/celery';
import { createVhost, requireRabbit, type RabbitVhost } from '../support/rabbitmq';
import { startRedis, type TestRedis } from '../support/redis';
import { copyExample, indent, requireHost, runSuite } from './host-run';

describe('extension on RabbitMQ in a real VS Code host (code-server)', function () {
  this.timeout(300_000);
  let vhost: RabbitVhost | undefined;
  let redis: TestRedis | undefined;

  before(async function () {
    requireHost(this);
    requireRabbit(this);
    redis = await startRedis();
  });
  beforeEach(async () => {
    vhost = await createVhost();
  });
  afterEach(async () => {
    await vhost?.delete();
  });
  after(async () => {
    await redis?.stop();
  });

  it('TypeScript project on RabbitMQ: queues, worker, Workers, Tasks, Failed and retry, and the errors that say what to set', async () => {
    const workspace = copyExample('ts-tasks', { 'radish.brokerUrl': vhost!.url, 'radish.resultBackendUrl': redis!.url });
    // A Python package beside the tasks, where the suite writes Django-style settings naming the broker (into a folder
    // that exists: a file created with its folder at once may reach the file watcher as the folder only).
    mkdirSync(join(workspace, 'shop'));
    writeFileSync(join(workspace, 'shop', '__init__.py'), '');
    const started = Date.now();
    const { code, output } = await runSuite('rabbitmq-project', workspace, { RABBIT_URL: vhost!.url, RESULTS_URL: redis!.url });
    console.log(indent(output));
    console.log(`      host suite wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(code, 0, 'the host suite passed');
  });

  it('Django + Celery project on RabbitMQ: found in its settings, a real Celery worker, Workers, Tasks, Failed and retry', async function () {
    requireCelery(this);
    const workspace = copyExample('django-celery');
    // The project's own settings name the broker and the backend, as a Django project on RabbitMQ does.
    const settings = join(workspace, 'shop', 'settings.py');
    const text = readFileSync(settings, 'utf8')
      .replace("os.environ.get('CELERY_BROKER_URL', 'redis://127.0.0.1:6379/0')", `os.environ.get('CELERY_BROKER_URL', '${vhost!.url}')`)
      .replace("os.environ.get('CELERY_RESULT_BACKEND', CELERY_BROKER_URL)", `os.environ.get('CELERY_RESULT_BACKEND', '${redis!.dbUrl(1)}')`);
    assert.ok(text.includes(vhost!.url) && text.includes(redis!.dbUrl(1)), 'the settings name RabbitMQ and Redis');
    writeFileSync(settings, text);
    const started = Date.now();
    const { code, output } = await runSuite('rabbitmq-django', workspace, { RABBIT_URL: vhost!.url, RESULTS_URL: redis!.dbUrl(1) });
    console.log(indent(output));
    console.log(`      host suite wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(code, 0, 'the host suite passed');
  });
});
