/**
 * Celery's own clients (Debian's Celery 5.2.6, `/usr/bin/python3`) with a Radish worker on the broker: the commands a
 * Radish node answered with KeyError before (hello, heartbeat, report, conf, revoke_by_stamped_headers) parse where
 * Celery reads them, a starting Celery worker's mingle syncs with the Radish node, and `inspect ping` sees both kinds
 * of node. Celery 5.2.6 has no `app.control.revoke_by_stamped_headers` (5.3+): there its broadcast is sent by hand,
 * with the arguments 5.6's client sends, and the reply read the way 5.6's client reads it; with a newer Celery
 * (`CELERY_PYTHON`) its own call is used.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { celeryCli, type CeleryWorker, requireCelery, startCeleryWorker } from '../support/celery';
import { workerHarness } from '../support/worker-harness';
import type { Worker } from '../../runner/worker/worker';

const PYTHON = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
const NODE = 'w1@test';

/**
 * Run Python with `app`, a Celery client app on `brokerUrl` (test/interop/celery_app), and `NODE`; the code prints
 * one JSON value (`out(value)`), which is returned.
 */
function python(brokerUrl: string, code: string): Promise<unknown> {
  const prelude = [
    'import json, sys, time',
    'from celery_app.app import make_app',
    "app = make_app('radish-interop-client')",
    `NODE = ${JSON.stringify(NODE)}`,
    'def out(value): print(json.dumps(value))',
  ].join('\n');
  return new Promise((done, fail) => {
    execFile(PYTHON, ['-c', `${prelude}\n${code}`], {
      cwd: resolve(__dirname), timeout: 60_000,
      env: { ...process.env, RADISH_TEST_BROKER: brokerUrl, PYTHONIOENCODING: 'utf-8' },
    }, (err, stdout, stderr) => {
      if (err) return fail(new Error(`python failed: ${err.message}\n${stderr}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        done(JSON.parse(last));
      } catch {
        fail(new Error(`python printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('Celery clients and workers beside a Radish worker: hello, heartbeat, report, conf, stamped revokes', function () {
  this.timeout(120_000);
  before(function () {
    requireCelery(this);
  });
  const h = workerHarness();
  let celery: CeleryWorker | undefined;

  afterEach(async () => {
    await celery?.stop();
    celery = undefined;
  });

  async function radish(): Promise<Worker> {
    h.app.task('tasks.add', (a: number, b: number) => a + b);
    return h.startWorker({ concurrency: 1 });
  }

  it('app.control.inspect().ping() hears the Radish node and a Celery node', async () => {
    await radish();
    celery = await startCeleryWorker(h.server.url, { queues: ['py'] });
    const node = celery.hostname;
    const pongs = await python(h.server.url, `
deadline = time.time() + 20
while True:
    pongs = app.control.inspect(timeout=1).ping() or {}
    if len(pongs) >= 2 or time.time() > deadline: break
out(pongs)`) as Record<string, unknown>;
    assert.deepEqual(pongs, { [NODE]: { ok: 'pong' }, [node]: { ok: 'pong' } });
  });

  it('a Celery worker starting beside the Radish node syncs with it (mingle): our revoked ids reach it', async () => {
    const worker = await radish();
    await worker.revoke(['revoked-before-celery']);
    celery = await startCeleryWorker(h.server.url, { queues: ['py'] });
    const log = celery.log();
    assert.match(log, /mingle: sync with 1 nodes/);
    assert.doesNotMatch(log, /sync with .* failed/);
    assert.doesNotMatch(log, /KeyError/);
    assert.ok(h.lines.some((l) => l.includes(`sync with ${celery!.hostname}`)), h.lines.join('\n'));
    const listed = await celeryCli(h.server.url, ['inspect', 'revoked', '-j', '-d', celery.hostname, '-t', '5']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as Record<string, string[]>)[celery.hostname]?.includes('revoked-before-celery'), listed.stdout);
  });

  it('hello: the reply goes through mingle\'s own code (clock.adjust, LimitedSet.update), and the sender\'s ids are taken', async () => {
    const worker = await radish();
    await worker.revoke(['radish-revoked']);
    const result = await python(h.server.url, `
from celery.utils.collections import LimitedSet
sent = {'py-revoked': (time.monotonic(), 'py-revoked')}
replies = app.control.inspect(timeout=2, destination=[NODE]).hello('py@elsewhere', sent)
reply = replies[NODE]
theirs = LimitedSet(maxlen=50000, expires=10800)
theirs.update(reply['revoked'])   # raises ValueError on a timestamp that is not a float
theirs.purge()
before = app.clock.value
app.clock.adjust(reply['clock'])
out({'keys': sorted(reply), 'ids': sorted(theirs), 'clock_moved': app.clock.value > before, 'clock': reply['clock']})`) as
      { keys: string[]; ids: string[]; clock_moved: boolean; clock: number };
    assert.deepEqual(result.keys, ['clock', 'revoked']);
    assert.deepEqual(result.ids, ['py-revoked', 'radish-revoked'], 'kept by a LimitedSet (not expired at once)');
    assert.equal(result.clock_moved, true);
    assert.ok(worker.revokedIds().includes('py-revoked'));
  });

  it('heartbeat, report and conf: replies Celery\'s client and CLI read', async () => {
    await radish();
    const got = await python(h.server.url, `
i = app.control.inspect(timeout=2, destination=[NODE])
out({
  'heartbeat': app.control.broadcast('heartbeat', reply=True, timeout=2, destination=[NODE]),
  'report': i.report(),
  'conf': i.conf(),
  'conf_all': i.conf(with_defaults=True),
})`) as { heartbeat: unknown; report: Record<string, { ok: string }>; conf: Record<string, Record<string, unknown>>; conf_all: Record<string, Record<string, unknown>> };
    assert.deepEqual(got.heartbeat, [{ [NODE]: null }]);
    assert.match(got.report[NODE]!.ok, /^\nsoftware -> radish:/);
    assert.equal(got.conf[NODE]!.broker_url, h.server.url);
    assert.equal(got.conf_all[NODE]!.worker_prefetch_multiplier, 4);

    const report = await celeryCli(h.server.url, ['inspect', 'report', '-d', NODE, '-t', '5']);
    console.log(`      celery inspect report printed:\n${report.stdout.trimEnd().replace(/^/gm, '        | ')}`);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, new RegExp(`^->  ${NODE}: OK\n`));
    assert.match(report.stdout, /^ {8}settings -> transport:redis results:redis:\/\//m);
    const conf = await celeryCli(h.server.url, ['inspect', 'conf', '-d', NODE, '-t', '5', '-j']);
    assert.equal(conf.code, 0, conf.stderr);
    assert.equal((JSON.parse(conf.stdout) as Record<string, Record<string, unknown>>)[NODE]!.task_acks_late, true);
  });

  it('revoke_by_stamped_headers (Celery 5.3+\'s call, or its broadcast sent by hand on 5.2): an {ok} reply, and the stamped task is revoked', async () => {
    await radish();
    const result = await python(h.server.url, `
if hasattr(app.control, 'revoke_by_stamped_headers'):
    # Celery 5.3+ (CELERY_PYTHON): its own call, which raises KeyError: 'ok' on an error reply.
    result = app.control.revoke_by_stamped_headers({'monitoring_id': 'mon-42'}, destination=[NODE], reply=True, timeout=2)
else:
    result = app.control.broadcast('revoke_by_stamped_headers', destination=[NODE], reply=True, timeout=2,
                                   arguments={'headers': {'monitoring_id': 'mon-42'}, 'terminate': False, 'signal': 'SIGTERM'})
    # What Celery 5.6's app.control.revoke_by_stamped_headers does with the replies.
    for host in result:
        for response in host.values():
            isinstance(response['ok'], set)
stamped = app.send_task('tasks.add', args=[1, 2], task_id='py-stamped',
                        headers={'stamped_headers': ['monitoring_id'], 'stamps': {'monitoring_id': 'mon-42'}})
plain = app.send_task('tasks.add', args=[3, 4], task_id='py-plain')
value = plain.get(timeout=20)
deadline = time.time() + 20
while stamped.state == 'PENDING' and time.time() < deadline: time.sleep(0.05)
out({'replies': result, 'plain': {'state': plain.state, 'value': value}, 'stamped': stamped.state})`) as
      { replies: unknown; plain: { state: string; value: unknown }; stamped: string };
    assert.deepEqual(result.replies, [{ [NODE]: { ok: "headers {'monitoring_id': 'mon-42'} flagged as revoked, but not terminated" } }]);
    assert.deepEqual(result.plain, { state: 'SUCCESS', value: 7 });
    assert.equal(result.stamped, 'REVOKED', 'as Celery\'s client reads the stamped task\'s state');
    assert.equal((await h.stored('py-stamped'))?.status, 'REVOKED');
  });

  it('revoke through Celery\'s client gets the wording of the Celery the worker is set to (default 5.6)', async () => {
    await radish();
    const replies = await python(h.server.url, `
out(app.control.revoke('py-revoke-text', reply=True, timeout=2, destination=[NODE]))`);
    assert.deepEqual(replies, [{ [NODE]: { ok: "tasks {'py-revoke-text'} flagged as revoked" } }]);
  });
});
