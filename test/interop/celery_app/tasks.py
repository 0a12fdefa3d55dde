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
    """Counts each run in Redis (HINCRBY interop:runs i), so a test can see every task ran exactly once."""
    import redis
    redis.Redis.from_url(app.conf.broker_url).hincrby('interop:runs', str(i), 1)
    return {'i': i, 'by': 'celery'}
