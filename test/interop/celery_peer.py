#!/usr/bin/python3
"""Real Celery on the other end of Radish's interop tests. Run with Debian's /usr/bin/python3.

Every subcommand takes --broker URL (redis:// or amqp://) and --backend URL (the result backend,
default the broker URL, which must then be Redis; with an amqp:// broker name a redis:// backend).

  worker --broker URL [--backend URL] -Q q1,q2 [-c N] [--pool solo|prefork|threads] [-n name@host]
         [--loglevel info] [--result-extended] [--track-started] [-- extra celery worker args]
      A real Celery worker running celery_app's tasks. Everything goes to stderr, including
      a line `celery_peer: ready <nodename>` once it consumes (whatever the log level).
      SIGTERM = Celery's warm shutdown. Exits by itself when its parent process dies.

  send --broker URL [--backend URL] [--wait SECONDS]
      Reads JSON lines {"task", "args"?, "kwargs"?, "queue"?, "priority"?, "countdown"?,
      "eta_in"?, "expires_in"?, "task_id"?, "options"?} from stdin and sends them all, in order,
      with app.send_task. eta_in / expires_in are seconds from now (negative: in the past).
      Prints one JSON line per request: {"id"}, or with --wait the outcome (see outcome()).
      --wait is one deadline for all the results, not per result.

  get --broker URL [--backend URL] [--timeout SECONDS] ID [ID...]
      Waits for results sent by someone else; prints outcomes like `send --wait`.

  watch --broker URL [--backend URL] [--wait SECONDS] [--interval SECONDS]
      Sends like `send`, then watches every result until it is ready, the way a Python
      caller would: the distinct states `AsyncResult.state` showed when polled (with `.info`
      and `.traceback`), every value the backend PUBLISHed on celery-task-meta-<id> (subscribed
      on the backend's Redis before sending, so none is missed), `date_done`, and what
      `AsyncResult.get()` returned or raised. Prints one JSON line per request (see watch_report()).

  events --broker URL [--backend URL] [--seconds SECONDS] [--no-wakeup]
      Celery's own event receiver (app.events.Receiver, bound to every routing key, as `celery
      events` and Flower use it). Prints `{"ready": true}` once it consumes, then one JSON line per
      event as it arrives (a task.multi batch as its events), for SECONDS (default 30) or until
      stdin closes. Unless --no-wakeup, it broadcasts the pidbox `heartbeat` on start, as `celery
      events` does, and workers answer with a worker-heartbeat.

Environment: CELERY_QUEUE_MAX_PRIORITY=N sets task_queue_max_priority on every app (see celery_app/app.py).

Exit status: 0 when the peer did its job (a task failing or timing out is an outcome, not an
error), 2 for bad input, 1 for anything else (e.g. no broker).
"""
import argparse
import json
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def emit(obj):
    print(json.dumps(obj, ensure_ascii=False, default=repr), flush=True)


def load_app(broker, result_extended=False, track_started=False, backend=None):
    """Import celery_app after setting its environment: it reads the config at import time."""
    os.environ['RADISH_TEST_BROKER'] = broker
    if backend:
        os.environ['RADISH_TEST_BACKEND'] = backend
    else:
        os.environ.pop('RADISH_TEST_BACKEND', None)
    if result_extended:
        os.environ['CELERY_RESULT_EXTENDED'] = '1'
    if track_started:
        os.environ['CELERY_TRACK_STARTED'] = '1'
    sys.path.insert(0, HERE)
    import celery_app
    return celery_app


def exit_with_parent():
    """A test runner that crashes must not leave workers behind: warm-stop when reparented."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name='exit-with-parent', daemon=True).start()


def cmd_worker(ns, extra):
    # Celery prints its banner on stdout; stdout is for JSON in the other commands,
    # so the worker keeps all of its output on stderr.
    os.dup2(2, 1)
    mod = load_app(ns.broker, ns.result_extended, ns.track_started, ns.backend)
    import celery_app.tasks  # noqa: F401  (register the tasks before the worker starts)
    from celery.signals import worker_ready

    @worker_ready.connect(weak=False)
    def announce(sender=None, **_):
        # Celery's own "<name> ready." line is INFO; this one shows at any --loglevel.
        print('celery_peer: ready %s' % sender.hostname, file=sys.stderr, flush=True)

    argv = ['worker', '-Q', ns.queues, '-c', str(ns.concurrency), '-P', ns.pool,
            '-l', ns.loglevel, '-n', ns.hostname or 'peer%d@%%h' % os.getpid(), *extra]
    print('celery_peer: celery %s' % ' '.join(argv), file=sys.stderr, flush=True)
    exit_with_parent()
    return mod.app.start(argv=argv) or 0


def outcome(res, deadline):
    """What a Python caller sees: the result, the exception it would raise, or a timeout."""
    from celery.exceptions import TimeoutError as CeleryTimeout
    try:
        value = res.get(timeout=max(deadline - time.monotonic(), 0.01), propagate=False)
    except CeleryTimeout:
        return {'id': res.id, 'state': 'TIMEOUT', 'last_state': res.state}
    if res.state == 'SUCCESS':
        return {'id': res.id, 'state': 'SUCCESS', 'result': value}
    # FAILURE, or REVOKED (e.g. expired): value is the exception Celery rebuilt from the backend.
    exc = value if isinstance(value, BaseException) else Exception(value)
    return {
        'id': res.id,
        'state': res.state,
        'exc_type': type(exc).__name__,
        'exc_module': type(exc).__module__,
        'exc_message': list(exc.args) or str(exc),
        'traceback': res.traceback,
    }


def read_requests():
    requests = []
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or not isinstance(req.get('task'), str):
                raise ValueError('need an object with a string "task"')
        except ValueError as err:
            print('celery_peer send: bad request on line %d: %s' % (n, err), file=sys.stderr)
            sys.exit(2)
        requests.append(req)
    return requests


def send_options(req):
    """`send_task` keywords of one request. eta_in / expires_in are seconds from now (JSON has no datetime)."""
    from datetime import datetime, timedelta, timezone
    options = dict(req.get('options') or {})
    for key in ('queue', 'priority', 'countdown', 'task_id'):
        if req.get(key) is not None:
            options[key] = req[key]
    now = datetime.now(timezone.utc)
    if req.get('eta_in') is not None:
        options['eta'] = now + timedelta(seconds=req['eta_in'])
    if req.get('expires_in') is not None:
        options['expires'] = now + timedelta(seconds=req['expires_in'])
    return options


def cmd_send(ns):
    requests = read_requests()
    # A client app with no tasks, like a service that only knows task names.
    app = load_app(ns.broker, backend=ns.backend).make_app('radish-peer-client')
    results = [app.send_task(req['task'], args=req.get('args') or [], kwargs=req.get('kwargs') or {},
                             **send_options(req))
               for req in requests]
    if ns.wait is None:
        for res in results:
            emit({'id': res.id})
        return 0
    deadline = time.monotonic() + ns.wait
    for res in results:
        emit(outcome(res, deadline))
    return 0


def describe_info(info):
    """`AsyncResult.info` as JSON: an exception by type, module and args, anything else as is."""
    if isinstance(info, BaseException):
        return {'exc_type': type(info).__name__, 'exc_module': type(info).__module__, 'exc_message': list(info.args)}
    return {'value': info}


def unix(dt):
    """A datetime (Celery's date_done is naive UTC) as unix seconds."""
    from datetime import timezone
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()


def sample(app, task_id):
    """One consistent look at a result through the public AsyncResult API, or None if it changed meanwhile."""
    res = app.AsyncResult(task_id)
    state = res.state
    info = res.info
    traceback = res.traceback
    if app.AsyncResult(task_id).state != state:
        return None
    return {'state': state, 'info': describe_info(info), 'traceback': traceback}


def watch_report(app, res, sent_at, options, polled, published, deadline):
    """What a Python caller learnt about one task (one JSON line of `watch`)."""
    from celery.exceptions import TimeoutError as CeleryTimeout
    report = {
        'id': res.id,
        'sent_at': sent_at,
        'eta': unix(options.get('eta')),
        'expires': unix(options.get('expires')),
        'polled': polled,
        'published': published,
        'state': app.AsyncResult(res.id).state,
        'date_done': None,
    }
    try:
        value = res.get(timeout=max(deadline - time.monotonic(), 0.01), propagate=True)
        report['get'] = {'value': value}
    except CeleryTimeout:
        report['get'] = {'timeout': True}
    except Exception as exc:  # noqa: BLE001  (whatever get() raises is the observation)
        report['get'] = {'raised': describe_info(exc)}
    report['date_done'] = unix(app.AsyncResult(res.id).date_done)
    return report


def cmd_watch(ns):
    import uuid
    import redis
    from celery import states
    requests = read_requests()
    app = load_app(ns.broker, backend=ns.backend).make_app('radish-peer-client')
    for req in requests:
        req.setdefault('task_id', str(uuid.uuid4()))
    ids = [req['task_id'] for req in requests]

    # Subscribe before sending, and wait for Redis to confirm it, so that no published state is missed. The
    # states are published by the result backend, on its own Redis (the broker's only when it is the backend).
    pubsub = redis.Redis.from_url(app.conf.result_backend).pubsub()
    channels = {'celery-task-meta-' + i: i for i in ids}
    pubsub.subscribe(*channels)
    confirmed = 0
    while confirmed < len(channels):
        msg = pubsub.get_message(timeout=5)
        if msg is None:
            raise RuntimeError('no subscribe confirmation from Redis')
        confirmed += msg['type'] == 'subscribe'
    published = {i: [] for i in ids}

    def drain():
        while True:
            msg = pubsub.get_message(timeout=0)
            if msg is None:
                return
            if msg['type'] == 'message':
                meta = json.loads(msg['data'])
                published[channels[msg['channel'].decode()]].append({'at': time.time(), 'meta': meta})

    sent = []
    for req in requests:
        options = send_options(req)
        sent_at = time.time()
        res = app.send_task(req['task'], args=req.get('args') or [], kwargs=req.get('kwargs') or {}, **options)
        sent.append((res, sent_at, options))

    deadline = time.monotonic() + ns.wait
    polled = {i: [] for i in ids}
    waiting = set(ids)
    while waiting and time.monotonic() < deadline:
        drain()
        for task_id in list(waiting):
            seen = sample(app, task_id)
            if seen is None:
                continue
            last = polled[task_id][-1] if polled[task_id] else None
            if last is None or {k: last[k] for k in seen} != seen:
                polled[task_id].append({**seen, 'at': time.time()})
            if seen['state'] in states.READY_STATES:
                waiting.discard(task_id)
        time.sleep(ns.interval)
    # The PUBLISH of a final state is in the same MULTI as its SETEX: it has been sent; read it.
    settle = time.monotonic() + 0.5
    while time.monotonic() < settle:
        drain()
        time.sleep(0.02)
    for res, sent_at, options in sent:
        emit(watch_report(app, res, sent_at, options, polled[res.id], published[res.id], deadline))
    return 0


def cmd_get(ns):
    app = load_app(ns.broker, backend=ns.backend).make_app('radish-peer-client')
    deadline = time.monotonic() + ns.timeout
    for task_id in ns.ids:
        emit(outcome(app.AsyncResult(task_id), deadline))
    return 0


def cmd_events(ns):
    """Celery's own event receiver: one JSON line per event, until --seconds pass or stdin closes."""
    app = load_app(ns.broker, backend=ns.backend).make_app('radish-peer-events')
    deadline = time.monotonic() + ns.seconds
    stop = threading.Event()

    def stdin_closed():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=stdin_closed, name='stdin-closed', daemon=True).start()

    with app.connection_for_read() as conn:
        class Receiver(app.events.Receiver):
            def on_consume_ready(self, connection, channel, consumers, wakeup=True, **kwargs):
                emit({'ready': True})
                super().on_consume_ready(connection, channel, consumers, wakeup=wakeup, **kwargs)

            def on_iteration(self):
                if stop.is_set() or time.monotonic() > deadline:
                    self.should_stop = True

        receiver = Receiver(conn, handlers={'*': emit})
        try:
            receiver.capture(limit=None, timeout=None, wakeup=not ns.no_wakeup)
        except KeyboardInterrupt:
            pass
    return 0


def main(argv=None):
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        stream.reconfigure(encoding='utf-8')
    p = argparse.ArgumentParser(prog='celery_peer.py', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)

    def connection_args(parser):
        parser.add_argument('--broker', required=True)
        parser.add_argument('--backend', help='result backend URL, default the broker URL')

    w = sub.add_parser('worker')
    connection_args(w)
    w.add_argument('-Q', '--queues', default='celery', help='comma-separated')
    w.add_argument('-c', '--concurrency', type=int, default=1)
    w.add_argument('--pool', '-P', default='solo', choices=('solo', 'prefork', 'threads'))
    w.add_argument('-n', '--hostname', help='nodename, default peer<pid>@%%h (unique per worker)')
    w.add_argument('--loglevel', '-l', default='info')
    w.add_argument('--result-extended', action='store_true')
    w.add_argument('--track-started', action='store_true')

    s = sub.add_parser('send')
    connection_args(s)
    s.add_argument('--wait', type=float, help='seconds to wait for all the results')

    wa = sub.add_parser('watch')
    connection_args(wa)
    wa.add_argument('--wait', type=float, default=30.0, help='seconds to wait for all the results')
    wa.add_argument('--interval', type=float, default=0.02, help='seconds between polls')

    g = sub.add_parser('get')
    connection_args(g)
    g.add_argument('--timeout', type=float, default=10.0)
    g.add_argument('ids', nargs='+')

    e = sub.add_parser('events')
    connection_args(e)
    e.add_argument('--seconds', type=float, default=30.0, help='stop after this long')
    e.add_argument('--no-wakeup', action='store_true', help='do not broadcast the pidbox heartbeat on start')

    # Anything the worker parser does not know (e.g. -E, --without-mingle,
    # --prefetch-multiplier 1) goes to `celery worker` as is.
    ns, extra = p.parse_known_args(argv)
    if ns.cmd == 'worker':
        return cmd_worker(ns, [a for a in extra if a != '--'])
    if extra:
        p.error('unrecognized arguments: %s' % ' '.join(extra))
    return {'send': cmd_send, 'get': cmd_get, 'watch': cmd_watch, 'events': cmd_events}[ns.cmd](ns)


if __name__ == '__main__':
    sys.exit(main())
