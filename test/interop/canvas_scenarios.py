"""Nested canvas sent by Celery's own client, for test/interop/nested-canvas.test.ts.

    python canvas_scenarios.py PREFIX [NAME ...]

Every scenario builds one canvas of the tasks named PREFIX.* (`ts`: TypeScript tasks on a Radish worker, queue `ts`;
`tasks`: their Python twins on a Celery worker, queue `py`), sends it, waits for its result and reports it as JSON,
the task ids replaced by what they are (`<first>`, `<second>`...) so that both runs compare value for value. The
`mixed_*` scenarios use both kinds of worker in one canvas. Prints one JSON object: scenario name -> outcome.
"""
import json
import sys
import time
import traceback

from celery import chain, chord, group

from celery_app.app import make_app
# Imported so that Python rebuilds the tasks' ExpectedException as itself (Celery only looks in loaded modules).
import celery_app.tasks  # noqa: F401  pylint: disable=unused-import

app = make_app('canvas_scenarios')
PREFIX = sys.argv[1]
TIMEOUT = 30
# Each signature names its queue: a worker sends the next steps by its own routes, which know nothing of ours.
QUEUES = {'ts': 'ts', 'tasks': 'py'}


def sig(prefix, name, args=(), kwargs=None):
    return app.signature('%s.%s' % (prefix, name), args=args, kwargs=kwargs or {}, queue=QUEUES[prefix])


def t(name, *args, **kwargs):
    return sig(PREFIX, name, args, kwargs)


def ti(name, *args, **kwargs):
    return t(name, *args, **kwargs).set(immutable=True)


def ts(name, *args):
    return sig('ts', name, args)


def py(name, *args):
    return sig('tasks', name, args)


def without_by(value):
    """A collect result without the `by` field naming the kind of worker."""
    if isinstance(value, dict):
        return {k: without_by(v) for k, v in value.items() if k != 'by'}
    if isinstance(value, list):
        return [without_by(v) for v in value]
    return value


def stored_value(task_id):
    """The value stored for a task, read from the backend until it is ready. Celery 5.2.6's AsyncResult.get() now
    and then misses a result stored while its client subscribes, so the tasks no caller waits on (links, errbacks)
    are read this way."""
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        meta = app.backend.get_task_meta(task_id)
        if meta['status'] in ('SUCCESS', 'FAILURE', 'REVOKED'):
            return meta['result']
        time.sleep(0.05)
    raise TimeoutError('no result for %s' % task_id)


def failure(exc):
    return {'type': type(exc).__name__, 'module': type(exc).__module__, 'args': [str(a) for a in exc.args]}


SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


@scenario
def chain_to_group():
    return (t('add', 1, 2) | group(t('add', 1), t('add', 2)))().get(timeout=TIMEOUT)


@scenario
def chain_to_chord():
    # group | task in a chain is a chord.
    return chain(t('add', 1, 2), group(t('add', 1), t('add', 2)), t('xsum'))().get(timeout=TIMEOUT)


@scenario
def group_of_chains_gets_the_result():
    return (t('add', 5, 6) | group(t('add', 1) | t('add', 2), t('add', 3)))().get(timeout=TIMEOUT)


@scenario
def chain_of_chords():
    c = chain(chord([t('add', 1, 1), t('add', 2, 2)], t('xsum')), chord([t('add', 10), t('add', 20)], t('xsum')))
    return c().get(timeout=TIMEOUT)


@scenario
def chord_then_group_then_task():
    c = chain(chord([t('add', 1, 1), t('add', 2, 2)], t('xsum')), group(t('add', 1), t('add', 2)), t('xsum'))
    return c().get(timeout=TIMEOUT)


@scenario
def group_nested_in_chord_header():
    # The nested group's members report to the chord too: a chord size of 3.
    return without_by(chord([group(t('add', 1, 1), t('add', 2, 2)), t('add', 3, 3)])(t('collect')).get(timeout=TIMEOUT))


@scenario
def chain_in_chord_header():
    return without_by(chord([t('add', 1, 1) | t('add', 1), t('add', 5, 5)])(t('collect')).get(timeout=TIMEOUT))


@scenario
def chain_ending_in_group_in_chord_header():
    # The header's result holds a group: the chord saves it, and the callback gets the nested results.
    c = chord([t('add', 1, 1) | group(t('add', 1), t('add', 2)), t('add', 5, 5)])(t('collect'))
    return without_by(c.get(timeout=TIMEOUT))


@scenario
def chord_nested_in_chord_header():
    c = chord([chord([t('add', 1, 1), t('add', 2, 2)], t('xsum')), t('add', 5, 5)])(t('collect'))
    return without_by(c.get(timeout=TIMEOUT))


@scenario
def nested_chain_group_chord():
    c = chain(ti('add', 1, 0), group(ti('add', 1, 100), chain(ti('add', 1, 200), group(ti('add', 1, 1000), ti('add', 1, 2000)))),
              t('collect'))
    return without_by(c().get(timeout=TIMEOUT))


@scenario
def parent_ids_in_a_group():
    c = ti('ids', i=1) | ti('ids', i=2) | group(ti('ids', i=i) for i in range(3))
    res = c()
    values = res.get(timeout=TIMEOUT)
    root, second = res.parent.parent.id, res.parent.id
    return [[r == root, p == second, i] for r, p, i in values]


@scenario
def parent_ids_in_a_chord():
    first = ti('ids', i=1)
    second = ti('ids', i=2)
    root, second_id = first.freeze().id, second.freeze().id
    res = chain(first, second, chord(group(ti('ids', i=i) for i in range(3)), t('collect_ids', i=3)))()
    header, (cb_root, cb_parent, i) = res.get(timeout=TIMEOUT)
    return {
        'header': [[r == root, p == second_id, n] for r, p, n in header],
        'callback': [cb_root == root, cb_parent == second_id, i],
    }


@scenario
def chord_member_fails():
    # An errback of one argument (the failed task's id) is sent as a task by Celery's worker too; one of more
    # arguments is called in the failing Celery worker's process, which a TypeScript worker cannot do.
    errback = t('seen')
    errback_id = errback.freeze().id
    body = t('xsum')
    body.link_error(errback)
    res = chord([t('add', 1, 1), t('fail_args', 'member failed', 'x')])(body)
    member = res.parent.results[1].id
    exc = res.get(timeout=TIMEOUT, propagate=False)
    echoed = stored_value(errback_id)
    return {
        'callback': {**failure(exc), 'args': [a.replace(member, '<member>') for a in failure(exc)['args']]},
        'errback_got_callback_id': echoed == res.id,
    }


def raised(res):
    """What waiting on `res` raised (its `failure()`), or 'no error'."""
    try:
        res.get(timeout=TIMEOUT)
    except Exception as exc:
        return failure(exc)
    return 'no error'


@scenario
def chain_failure_fails_what_follows():
    return raised((t('add', 1, 1) | t('fail_args', 'broke', 'the chain') | t('add', 1) | t('add', 2))())


@scenario
def chain_failure_fails_the_chord_after_it():
    # fail | group | xsum: the group and xsum are a chord whose id is xsum's, which the failure also fails.
    return raised((t('fail_args', 'broke', 'before the chord') | group(t('add', 1, 1), t('add', 1, 1)) | t('xsum'))())


@scenario
def exception_with_arguments():
    res = t('fail_args', 'Task expected to fail', 'test').apply_async()
    exc = res.get(timeout=TIMEOUT, propagate=False)
    return {**failure(exc), 'repr': repr(exc)}


@scenario
def errbacks_get_the_failed_id():
    errbacks = [t('seen'), t('seen')]
    ids = [e.freeze().id for e in errbacks]
    res = t('fail_args', 'x').apply_async(link_error=errbacks)
    res.get(timeout=TIMEOUT, propagate=False)
    return [stored_value(i) == res.id for i in ids]


@scenario
def several_links_get_the_result():
    links = [t('add', 1), t('add', 2)]
    ids = [l.freeze().id for l in links]
    res = t('add', 2, 2).apply_async(link=links)
    res.get(timeout=TIMEOUT)
    return [stored_value(i) for i in ids]


@scenario
def mixed_chain_group_chord():
    c = chain(py('add', 1, 2), group(ts('add', 1), py('add', 2)), ts('xsum'), group(py('add', 1), ts('add', 2)))
    return c().get(timeout=TIMEOUT)


@scenario
def mixed_nested_chord_header():
    c = chord([ts('add', 1, 1) | group(py('add', 1), ts('add', 2)), py('add', 5, 5)])(py('collect'))
    return without_by(c.get(timeout=TIMEOUT))


names = sys.argv[2:] or list(SCENARIOS)
out = {}
for name in names:
    # A wait that times out is tried once more, as Celery's own suite reruns its flaky canvas tests: Celery 5.2.6's
    # client now and then misses a result published while it subscribes (seen with Celery workers too). Said on
    # stderr, which the test prints.
    for attempt in (1, 2):
        try:
            out[name] = SCENARIOS[name]()
            break
        except Exception as exc:  # reported, not raised: the test says which scenario failed and how
            out[name] = {'raised': type(exc).__name__, 'message': str(exc), 'traceback': traceback.format_exc()[-2000:]}
            if type(exc).__name__ != 'TimeoutError' or attempt == 2:
                break
            print('canvas_scenarios: %s %s timed out; trying once more' % (PREFIX, name), file=sys.stderr, flush=True)
print(json.dumps(out))
