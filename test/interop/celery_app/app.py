"""Celery configuration shared by the peer's worker app and its task-less client app.

Environment (read when this module is imported):
  RADISH_TEST_BROKER      broker URL (default redis://127.0.0.1:6379/0): redis:// or amqp://
  RADISH_TEST_BACKEND     result backend URL (default: the broker URL, which must then be Redis)
  CELERY_QUEUE_MAX_PRIORITY  an integer -> task_queue_max_priority (queues declared with x-max-priority on AMQP)
  CELERY_RESULT_EXTENDED  '1' -> result_extended=True (name, args, worker... in celery-task-meta-*)
  CELERY_TRACK_STARTED    '1' -> task_track_started=True (a STARTED state before the result)
"""
import os

from celery import Celery

DEFAULT_BROKER = 'redis://127.0.0.1:6379/0'


def _flag(name):
    return os.environ.get(name, '0') == '1'


def make_app(main, include=()):
    """A Celery app on the configured broker. `include` names the task modules the worker imports."""
    url = os.environ.get('RADISH_TEST_BROKER', DEFAULT_BROKER)
    backend = os.environ.get('RADISH_TEST_BACKEND') or url
    app = Celery(main, broker=url, backend=backend, include=list(include))
    app.conf.update(
        # JSON only, like Radish: a pickle message must be refused, never run.
        task_serializer='json',
        result_serializer='json',
        accept_content=['json'],
        result_accept_content=['json'],
        task_track_started=_flag('CELERY_TRACK_STARTED'),
        result_extended=_flag('CELERY_RESULT_EXTENDED'),
        # No task-sent events: the tests watch the events channel and want only what workers emit.
        task_send_sent_event=False,
        # Leave the test process's logging alone; the worker still logs to stderr.
        worker_hijack_root_logger=False,
        enable_utc=True,
        timezone='UTC',
    )
    max_priority = os.environ.get('CELERY_QUEUE_MAX_PRIORITY')
    if max_priority:
        app.conf.task_queue_max_priority = int(max_priority)
    return app


# The worker's app. Tasks live in celery_app.tasks and bind to this instance only
# (no shared_task), so a client app made with make_app() knows no task names.
app = make_app('celery_app', include=['celery_app.tasks'])
