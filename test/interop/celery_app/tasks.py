"""Reference tasks with explicit names, so a TypeScript client can call them by name."""
import time

from .app import app


@app.task(name='tasks.add')
def add(x, y):
    return x + y


@app.task(name='tasks.mul')
def mul(x, y):
    return x * y


@app.task(name='tasks.echo')
def echo(*args, **kwargs):
    return {'args': list(args), 'kwargs': kwargs}


@app.task(name='tasks.fail')
def fail(msg='boom'):
    raise ValueError(msg)


@app.task(name='tasks.sleep')
def sleep(seconds):
    time.sleep(seconds)
    return seconds


@app.task(name='tasks.who')
def who(i):
    """Tells which kind of worker ran it, for tests where Radish and Celery share a queue."""
    return {'i': i, 'by': 'celery'}


@app.task(name='tasks.count')
def count(i):
    """Counts each run in Redis (HINCRBY interop:runs i, on the result backend's Redis), so a test can see every task ran exactly once."""
    import redis
    redis.Redis.from_url(app.conf.result_backend).hincrby('interop:runs', str(i), 1)
    return {'i': i, 'by': 'celery'}


# Twins of the TypeScript tasks in test/interop/guarantees.test.ts: the same names, arguments and
# behaviour, so that the same calls can be watched on a Radish worker and on a Celery worker.

@app.task(name='tasks.retry_twice', bind=True)
def retry_twice(self, x):
    """Retries twice (RETRY, RETRY), then succeeds."""
    if self.request.retries < 2:
        raise self.retry(countdown=0.5, exc=RuntimeError('attempt %d' % self.request.retries))
    return {'value': x * 2, 'retries': self.request.retries}


@app.task(name='tasks.retry_handoff', bind=True)
def retry_handoff(self, x, tag=None):
    """Retries once with a 3 s countdown; the second attempt tells who ran it and what it was given."""
    if self.request.retries < 1:
        raise self.retry(countdown=3, exc=RuntimeError('handoff %d' % self.request.retries))
    return {
        'by': 'celery', 'x': x, 'tag': tag, 'at': time.time(),
        'id': self.request.id, 'retries': self.request.retries,
        'parent_id': self.request.parent_id, 'root_id': self.request.root_id,
        'eta': self.request.eta,
    }


@app.task(name='tasks.autoretry_always', bind=True, autoretry_for=(ConnectionError,),
          max_retries=2, retry_backoff=1, retry_jitter=False)
def autoretry_always(self):
    """Always raises an error it retries automatically: RETRY, RETRY, then FAILURE with that error."""
    raise ConnectionError('down %d' % self.request.retries)


@app.task(name='tasks.stamp')
def stamp(tag):
    """When it ran."""
    return {'tag': tag, 'at': time.time(), 'by': 'celery'}


@app.task(name='tasks.mark')
def mark(key):
    """Counts its runs in Redis (HINCRBY interop:ran key, on the result backend's Redis), so a test can tell that it never ran."""
    import redis
    redis.Redis.from_url(app.conf.result_backend).hincrby('interop:ran', key, 1)
    return 'ran'


# Canvas: a chord callback, and tasks that report what they were given.

@app.task(name='tasks.xsum')
def xsum(numbers):
    """Sum of a list (a chord callback: gets the header's results in order)."""
    return sum(numbers)


@app.task(name='tasks.collect')
def collect(results, tag=None):
    """A chord callback that returns what it was given, so a test sees the order and the values."""
    return {'results': results, 'tag': tag, 'by': 'celery'}


# Twins of the TypeScript tasks in test/interop/nested-canvas.test.ts (same names under `tasks.`, same results), so
# that one canvas run on Celery and on Radish can be compared value for value.

class ExpectedException(Exception):
    """Raised on purpose, with several arguments (Python keeps them apart in .args)."""

    def __eq__(self, other):
        return type(other) is type(self) and other.args == self.args

    def __hash__(self):
        return hash(self.args)


@app.task(name='tasks.fail_args')
def fail_args(*args):
    raise ExpectedException(*args)


@app.task(name='tasks.ids', bind=True)
def ids(self, i):
    """Where it ran in its canvas: [root_id, parent_id, i]."""
    return [self.request.root_id, self.request.parent_id, i]


@app.task(name='tasks.collect_ids', bind=True)
def collect_ids(self, results, i):
    """A chord callback reporting what it got and where it ran: [results, [root_id, parent_id, i]]."""
    return [results, [self.request.root_id, self.request.parent_id, i]]


@app.task(name='tasks.seen')
def seen(task_id):
    """An old-style errback (one argument): returns the id of the task that failed."""
    return task_id


@app.task(name='tasks.trace_echo', bind=True)
def trace_echo(self, *args, **kwargs):
    """The trace context its message carried, where Celery's OpenTelemetry instrumentation reads it: the request's
    `traceparent` / `tracestate` attributes (its getter is getattr(request, key)), i.e. the message's top-level headers."""
    return {
        'traceparent': getattr(self.request, 'traceparent', None),
        'tracestate': getattr(self.request, 'tracestate', None),
    }
