/**
 * Celery beat's schedules read from Python source (extension/discovery/python-beat.ts): the settings and app forms
 * projects use, the schedule kept as written, args that cannot be read said so; and the Django example's table
 * compared with what real Celery loads from it (skipped, saying why, when Celery or Django is missing).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { findCeleryBeatSchedules, type CeleryBeatEntry } from '../../extension/discovery/python-beat';
import { NOT_THE_PROJECT_GLOB, outsideProject } from '../../extension/discovery/python-paths';
import { requireCelery } from '../support/celery';

const ROOT = resolve(__dirname, '../..');
const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';

const pick = (e: CeleryBeatEntry) => ({ name: e.name, task: e.task, schedule: e.schedule, seconds: e.seconds, args: e.args, kwargs: e.kwargs, queue: e.queue, unreadable: e.unreadable });

describe('Celery beat schedules in Python source', () => {
  it('a Django setting: crontab and seconds as written, args, kwargs, options, the key\'s line', () => {
    const text = `from celery.schedules import crontab
EVERY = 30.0
CELERY_BEAT_SCHEDULE = {
    'cleanup': {
        'task': 'app.tasks.cleanup',
        'schedule': crontab(minute=0,
                            hour='*/3'),
        'args': (1, 'x'),
        'kwargs': {'dry': True, 'n': None},
        'options': {'queue': 'maintenance', 'priority': 5},
    },
    "ping": dict(task='app.tasks.ping', schedule=EVERY),
    'broken': {'schedule': 10},
}
`;
    const entries = findCeleryBeatSchedules('/p/settings.py', text);
    assert.deepEqual(entries.map(pick), [
      { name: 'cleanup', task: 'app.tasks.cleanup', schedule: "crontab(minute=0, hour='*/3')", seconds: undefined, args: [1, 'x'], kwargs: { dry: true, n: null }, queue: 'maintenance', unreadable: undefined },
      { name: 'ping', task: 'app.tasks.ping', schedule: 'EVERY', seconds: 30, args: undefined, kwargs: undefined, queue: undefined, unreadable: undefined },
    ]);
    assert.deepEqual(entries.map((e) => [e.setting, e.line, e.priority]), [['CELERY_BEAT_SCHEDULE', 3, 5], ['CELERY_BEAT_SCHEDULE', 11, undefined]]);
  });

  it('on an app: conf attribute, conf item, conf.update; Celery 3\'s CELERYBEAT_SCHEDULE; args that are not literals', () => {
    const app = `app = Celery('proj')
app.conf.beat_schedule = {'a': {'task': 't.a', 'schedule': timedelta(minutes=5)}}
`;
    assert.deepEqual(findCeleryBeatSchedules('/p/c.py', app).map((e) => [e.setting, e.name, e.schedule]), [['app.conf.beat_schedule', 'a', 'timedelta(minutes=5)']]);
    const item = `app.conf['beat_schedule'] = {'b': {'task': 't.b', 'schedule': 5}}\n`;
    assert.deepEqual(findCeleryBeatSchedules('/p/c.py', item).map((e) => [e.name, e.seconds]), [['b', 5]]);
    const update = `TABLE = {'c': {'task': 't.c', 'schedule': 1, 'args': [datetime.now()]}}\napp.conf.update(beat_schedule=TABLE)\n`;
    const [c] = findCeleryBeatSchedules('/p/c.py', update);
    assert.deepEqual([c?.name, c?.args], ['c', undefined]);
    assert.match(c?.unreadable ?? '', /its args \(\[datetime\.now\(\)\]\) are not literals/);
    const old = `CELERYBEAT_SCHEDULE = {'d': {'task': 't.d', 'schedule': 60}}\n`;
    assert.deepEqual(findCeleryBeatSchedules('/p/celeryconfig.py', old).map((e) => e.setting), ['CELERYBEAT_SCHEDULE']);
    assert.deepEqual(findCeleryBeatSchedules('/p/x.py', 'beat = 1\nSCHEDULE = {}\n'), []);
    assert.deepEqual(findCeleryBeatSchedules('/p/x.py', 'CELERY_BEAT_SCHEDULE = {\n  "half": {"task": '), [], 'mid-edit: nothing, no throw');
  });

  const example = resolve(ROOT, 'examples/django-celery/shop/settings.py');

  it('the Django example\'s CELERY_BEAT_SCHEDULE', () => {
    const entries = findCeleryBeatSchedules(example, readFileSync(example, 'utf8'));
    assert.deepEqual(entries.map((e) => [e.name, e.schedule]), [
      ['invoice-every-3-hours', "crontab(minute=0, hour='*/3')"],
      ['total-every-30s', '30.0'],
    ]);
  });

  it('the Django example\'s CELERY_BEAT_SCHEDULE read as real Celery loads it', function () {
    requireCelery(this);
    const entries = findCeleryBeatSchedules(example, readFileSync(example, 'utf8'));
    const script = `import json, os, sys
sys.path.insert(0, ${JSON.stringify(resolve(ROOT, 'examples/django-celery'))})
os.environ['DJANGO_SETTINGS_MODULE'] = 'shop.settings'
import django
django.setup()
from shop.celery import app
print(json.dumps({k: {'task': v['task'], 'args': list(v.get('args', [])), 'kwargs': v.get('kwargs', {}), 'queue': v.get('options', {}).get('queue')} for k, v in app.conf.beat_schedule.items()}))`;
    const python = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
    if (python.status !== 0 && /No module named 'django'/.test(python.stderr)) {
      console.log('      skipped the comparison: Django is not installed beside Celery');
      this.skip();
    }
    assert.equal(python.status, 0, python.stderr);
    const celery = JSON.parse(python.stdout) as Record<string, { task: string; args: unknown[]; kwargs: unknown; queue: string | null }>;
    const ours = Object.fromEntries(entries.map((e) => [e.name, { task: e.task, args: e.args ?? [], kwargs: e.kwargs ?? {}, queue: e.queue ?? null }]));
    assert.deepEqual(ours, celery);
  });
});

describe('The Python files read for beat schedules and the project\'s broker', () => {
  it('skips virtual environments, installed packages and caches at any depth, by the workspace-relative path only', () => {
    for (const skipped of ['.venv/lib/python3.11/site-packages/celery/app/defaults.py', 'venv/bin/x.py', 'src/node_modules/a/b.py',
      'lib\\site-packages\\kombu\\connection.py', 'shop/__pycache__/settings.py', '.tox/py311/lib/c.py']) {
      assert.equal(outsideProject(skipped), true, skipped);
    }
    for (const kept of ['shop/settings.py', 'celeryconfig.py', 'venvs_notes.py', 'apps/build_tools/tasks.py', 'shop\\celery.py']) {
      assert.equal(outsideProject(kept), false, kept);
    }
    // The same folders in the glob the first scan excludes.
    for (const dir of ['.venv', 'venv', 'site-packages', 'node_modules', '__pycache__']) assert.ok(NOT_THE_PROJECT_GLOB.includes(`**/${dir}/**`), dir);
  });

  it('loads the beat parser from the lazily required discovery bundle, not the extension\'s', function () {
    const bundle = resolve(ROOT, 'dist/extension.js');
    if (!existsSync(bundle)) this.skip();
    // A message only python-beat.ts has: in dist/discovery.js, and not in what activation loads.
    const marker = 'Radish reads them without running Python';
    assert.ok(readFileSync(resolve(ROOT, 'extension/discovery/python-beat.ts'), 'utf8').includes(marker), 'python-beat.ts still says it');
    assert.ok(!readFileSync(bundle, 'utf8').includes(marker), 'not in dist/extension.js');
    assert.ok(readFileSync(resolve(ROOT, 'dist/discovery.js'), 'utf8').includes(marker), 'in dist/discovery.js');
  });
});
