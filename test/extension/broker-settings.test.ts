/**
 * Where the extension connects, without VS Code: the broker and result backend a Celery project names in its Python
 * settings (read as literals, never run), which one the workspace's project is, how that combines with the Radish
 * settings, and how a password is put into a URL for a worker.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chooseProjectBroker, findPythonBroker, type BrokerSource } from '../../extension/discovery/python-broker';
import { decideEndpoints, isAmqpUrl, isRedisUrl, withPassword } from '../../extension/urls';

const ROOT = resolve(__dirname, '../..');

/** A project of one file. */
const project = (file: string, text: string): BrokerSource[] => [{ file, facts: findPythonBroker(text) }];

describe('broker settings of a Celery project', () => {
  it('reads a Django project on RabbitMQ: CELERY_BROKER_URL from the environment with its default, the backend beside it', () => {
    const settings = `
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
CELERY_BROKER_URL = os.environ.get('CELERY_BROKER_URL', 'amqp://guest:guest@localhost:5672//')
CELERY_RESULT_BACKEND = os.getenv("CELERY_RESULT_BACKEND", default="redis://localhost:6379/1")
CELERY_TASK_ROUTES = {'orders.*': 'orders'}
`;
    const choice = chooseProjectBroker(project('/w/shop/settings.py', settings), {});
    assert.deepEqual(choice, {
      broker: { url: 'amqp://guest:guest@localhost:5672//', file: '/w/shop/settings.py' },
      backend: { url: 'redis://localhost:6379/1', file: '/w/shop/settings.py' },
    });
    assert.equal(isAmqpUrl(choice.broker!.url), true);
    // The environment a worker would see wins over the default, as os.environ.get does.
    const fromEnv = chooseProjectBroker(project('/w/shop/settings.py', settings), { CELERY_BROKER_URL: 'pyamqp://rabbit//' });
    assert.equal(fromEnv.broker?.url, 'pyamqp://rabbit//');
  });

  it('reads the example Django project: Redis, its backend following the broker', () => {
    const text = readFileSync(join(ROOT, 'examples/django-celery/shop/settings.py'), 'utf8');
    const choice = chooseProjectBroker(project('/w/shop/settings.py', text), {});
    assert.equal(choice.broker?.url, 'redis://127.0.0.1:6379/0');
    assert.equal(choice.backend?.url, 'redis://127.0.0.1:6379/0');
    // Given another broker (a setting, passed to the worker as CELERY_BROKER_URL), the backend follows it.
    assert.equal(chooseProjectBroker(project('/w/shop/settings.py', text), {}, 'amqp://h//').backend?.url, 'amqp://h//');
  });

  it('reads what an app sets, which wins over settings modules', () => {
    const app = `
from celery import Celery
import os
app = Celery('tasks', broker='pyamqp://guest@localhost//', backend=os.environ.get('RESULTS', 'redis://localhost/2'))
app.config_from_object('django.conf:settings', namespace='CELERY')
`;
    const settings = "CELERY_BROKER_URL = 'redis://localhost:6379/0'\n";
    const choice = chooseProjectBroker([...project('/w/proj/settings.py', settings), ...project('/w/proj/celery.py', app)], {});
    assert.equal(choice.broker?.url, 'pyamqp://guest@localhost//');
    assert.equal(choice.backend?.url, 'redis://localhost/2');
    assert.deepEqual(findPythonBroker("app.conf.broker_url = 'amqps://r//'\napp.conf['result_backend'] = 'rpc://'\n").app,
      { broker: { kind: 'url', url: 'amqps://r//' }, backend: { kind: 'url', url: 'rpc://' } });
    assert.deepEqual(findPythonBroker("app.conf.update(broker_url='amqp://a//', result_backend=RESULTS)\n").app, { broker: { kind: 'url', url: 'amqp://a//' } });
    assert.deepEqual(findPythonBroker("RES = 'redis://r/3'\napp.conf.update({'broker_url': 'amqp://a//', 'result_backend': RES})\n").app,
      { broker: { kind: 'url', url: 'amqp://a//' }, backend: { kind: 'url', url: 'redis://r/3' } });
  });

  it('reads celeryconfig.py names, Celery 3 names, django-environ and decouple, and names bound to a URL', () => {
    assert.equal(chooseProjectBroker(project('/w/celeryconfig.py', "broker_url = 'amqp://c//'\nresult_backend = 'redis://c/0'"), {}).backend?.url, 'redis://c/0');
    assert.equal(chooseProjectBroker(project('/w/s.py', "BROKER_URL = 'amqp://old//'"), {}).broker?.url, 'amqp://old//');
    assert.equal(chooseProjectBroker(project('/w/s.py', "CELERY_BROKER_URL = env('BROKER', default='amqp://e//')"), {}).broker?.url, 'amqp://e//');
    // env()'s second positional argument is a cast, not a default.
    assert.equal(chooseProjectBroker(project('/w/s.py', "CELERY_BROKER_URL = env('BROKER', str)"), {}).broker, undefined);
    assert.equal(chooseProjectBroker(project('/w/s.py', "CELERY_BROKER_URL = config('BROKER', default='amqp://d//')"), {}).broker?.url, 'amqp://d//');
    assert.equal(chooseProjectBroker(project('/w/s.py', "RABBIT = 'amqp://n//'\nCELERY_BROKER_URL = RABBIT"), {}).broker?.url, 'amqp://n//');
    assert.equal(chooseProjectBroker(project('/w/s.py', "CELERY_BROKER_URL = os.environ['BROKER']"), { BROKER: 'amqp://x//' }).broker?.url, 'amqp://x//');
  });

  it('leaves out what it cannot read, and brokers Radish does not speak', () => {
    for (const text of [
      "CELERY_BROKER_URL = f'amqp://{USER}@host//'",
      "CELERY_BROKER_URL = os.environ.get('B') or 'amqp://x//'",
      "CELERY_BROKER_URL = os.environ.get('B')",
      "CELERY_BROKER_URL = 'sqs://'",
      "def f():\n    CELERY_BROKER_URL = 'amqp://inner//'",
      "x = 'CELERY_BROKER_URL = \"amqp://in-a-string//\"'",
    ]) {
      assert.equal(chooseProjectBroker(project('/w/s.py', text), {}).broker, undefined, text);
    }
  });

  it('takes the shallowest project, and local settings before production ones', () => {
    const sources = [
      ...project('/w/proj/settings/production.py', "CELERY_BROKER_URL = 'amqp://prod//'"),
      ...project('/w/proj/settings/local.py', "CELERY_BROKER_URL = 'amqp://local//'"),
      ...project('/w/vendor/deep/pkg/settings.py', "CELERY_BROKER_URL = 'redis://deep/0'"),
    ];
    assert.equal(chooseProjectBroker(sources, {}).broker?.url, 'amqp://local//');
  });
});

describe('where the extension connects', () => {
  const amqp = { url: 'amqp://guest@rabbit:5672/app', from: 'radish.brokerUrl' };
  const redis = { url: 'redis://r:6379/0', from: 'radish.resultBackendUrl' };
  const project = { broker: { url: 'amqp://p//', from: 'shop/settings.py' }, backend: { url: 'redis://p/1', from: 'shop/settings.py' } };

  it('takes the settings first, then the project, then the local Redis', () => {
    assert.deepEqual(decideEndpoints({ broker: amqp, backend: redis }, project), { broker: amqp, backend: redis });
    assert.deepEqual(decideEndpoints({}, project), project);
    assert.deepEqual(decideEndpoints({ broker: amqp }, project), { broker: amqp, backend: project.backend });
    assert.deepEqual(decideEndpoints({}, {}), { broker: { url: 'redis://127.0.0.1:6379/0', from: 'the default' } });
  });

  it('has no backend apart from a Redis broker that is its own backend, and says which one RabbitMQ cannot use', () => {
    const broker = { url: 'redis://r/0', from: 'radish.brokerUrl' };
    assert.deepEqual(decideEndpoints({ broker }, { backend: { url: 'redis://r/0', from: 's.py' } }), { broker });
    assert.deepEqual(decideEndpoints({ broker: amqp }, { backend: { url: 'rpc://', from: 's.py' } }), { broker: amqp, unreadableBackend: { url: 'rpc://', from: 's.py' } });
    assert.deepEqual(decideEndpoints({ broker: amqp }, {}), { broker: amqp });
  });

  it('tells RabbitMQ from Redis', () => {
    for (const url of ['amqp://h//', 'amqps://h//', 'pyamqp://h//', 'AMQP://h']) assert.equal(isAmqpUrl(url), true, url);
    for (const url of ['redis://h/0', 'rediss://h/0', 'sentinel://h:26379']) assert.equal(isAmqpUrl(url), false, url);
    assert.equal(isRedisUrl('rpc://'), false);
    assert.equal(isRedisUrl('rediss://h/0'), true);
  });

  it('puts the stored password into every URL of a list, for a worker', () => {
    assert.equal(withPassword('amqp://guest@127.0.0.1:5672/app', 's3cr:t'), 'amqp://guest:s3cr%3At@127.0.0.1:5672/app');
    assert.equal(withPassword('redis://127.0.0.1:6379/0', 'p'), 'redis://:p@127.0.0.1:6379/0');
    assert.equal(withPassword('amqp://u@h1//;amqp://u@h2//', 'p'), 'amqp://u:p@h1//;amqp://u:p@h2//');
    assert.equal(withPassword('amqp://u@h//', undefined), 'amqp://u@h//');
  });
});
