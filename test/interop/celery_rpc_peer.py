"""Real Celery on RabbitMQ with the rpc:// result backend, for test/interop/rpc-backend.test.ts.

    celery_rpc_peer.py worker QUEUE        a Celery worker (solo pool) consuming QUEUE, tasks peer.add and peer.fail
    celery_rpc_peer.py client CALLS_JSON   send every call, then wait for their results in reverse order; prints JSON
    celery_rpc_peer.py chord               try a chord on rpc://; prints how Celery refuses it

The broker is $RPC_PEER_BROKER (an amqp:// URL). Calls are [{"name", "args", "queue"}]; each outcome printed is
{"id", "ok": value} or {"id", "error": type name, "module": its module, "args": exception args}.
"""
import json
import os
import sys

from celery import Celery, chord, signature

app = Celery('rpcpeer', broker=os.environ['RPC_PEER_BROKER'], backend='rpc://')
app.conf.update(
    task_serializer='json',
    result_serializer='json',
    accept_content=['json'],
    result_persistent=os.environ.get('RPC_PEER_PERSISTENT') == '1',
)


@app.task(name='peer.add')
def add(x, y):
    return x + y


@app.task(name='peer.fail')
def fail():
    raise ValueError('boom')


def run_client(calls):
    sent = [app.send_task(c['name'], args=c.get('args', []), queue=c.get('queue', 'celery')) for c in calls]
    outcomes = [None] * len(sent)
    # Waited for last first: the earlier results come meanwhile and are kept by Celery's client for their turn.
    for i in reversed(range(len(sent))):
        r = sent[i]
        try:
            outcomes[i] = {'id': r.id, 'ok': r.get(timeout=20)}
        except Exception as exc:  # the task's exception, rebuilt by Celery
            outcomes[i] = {'id': r.id, 'error': type(exc).__name__, 'module': type(exc).__module__,
                           'args': [str(a) for a in exc.args]}
    print(json.dumps(outcomes), flush=True)


def run_chord():
    try:
        chord([signature('peer.add', args=(1, 1))], signature('peer.add', args=(1,))).apply_async()
        print(json.dumps({'refused': False}), flush=True)
    except Exception as exc:
        print(json.dumps({'refused': True, 'error': type(exc).__name__, 'message': str(exc)}), flush=True)


if __name__ == '__main__':
    mode = sys.argv[1]
    if mode == 'worker':
        app.worker_main(['worker', '-Q', sys.argv[2], '-P', 'solo', '-c', '1', '-n', 'py@rpc',
                         '--without-mingle', '--without-gossip', '--loglevel', 'INFO'])
    elif mode == 'client':
        run_client(json.loads(sys.argv[2]))
    elif mode == 'chord':
        run_chord()
    else:
        raise SystemExit('unknown mode ' + mode)
