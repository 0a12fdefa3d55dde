"""Django settings for the shop example: just enough Django to host Celery tasks."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get('DJANGO_SECRET_KEY', 'django-insecure-radish-example-only')
DEBUG = os.environ.get('DJANGO_DEBUG', '1') == '1'
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']

INSTALLED_APPS = [
    'orders.apps.OrdersConfig',
]

MIDDLEWARE = [
    'django.middleware.security.SecurityMiddleware',
    'django.middleware.common.CommonMiddleware',
]

ROOT_URLCONF = 'shop.urls'
WSGI_APPLICATION = 'shop.wsgi.application'

# The tasks touch no models; the file is only created if something connects (it is git-ignored).
DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': BASE_DIR / 'db.sqlite3',
    },
}
DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'

LANGUAGE_CODE = 'en-us'
TIME_ZONE = 'UTC'
USE_I18N = False
USE_TZ = True

# --- Celery (read by shop/celery.py with namespace='CELERY') ---------------------------------
CELERY_BROKER_URL = os.environ.get('CELERY_BROKER_URL', 'redis://127.0.0.1:6379/0')
CELERY_RESULT_BACKEND = os.environ.get('CELERY_RESULT_BACKEND', CELERY_BROKER_URL)

# JSON only: never pickle, so a Radish (TypeScript) peer can read and write every message.
CELERY_TASK_SERIALIZER = 'json'
CELERY_RESULT_SERIALIZER = 'json'
CELERY_ACCEPT_CONTENT = ['json']

# Keep name, args and kwargs with each result, so a failed task can be retried from the editor.
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
# Task events for monitors (the same as `worker -E`), including task-sent from clients.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_TIMEZONE = TIME_ZONE

# The Python worker consumes `celery`. TypeScript tasks (examples/ts-tasks) go to queues that only a
# Radish worker consumes, so neither worker receives a task it does not define.
CELERY_TASK_ROUTES = {
    'tasks.*': {'queue': 'radish'},
    'emails.*': {'queue': 'radish'},
    'images.*': {'queue': 'radish'},
    'reports.*': {'queue': 'reports'},
}

# Celery beat (`celery -A shop beat`): periodic tasks. The Radish extension lists them in its Schedules view
# (read from this file, never run) and can send one now.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    'invoice-every-3-hours': {
        'task': 'orders.tasks.build_invoice',
        'schedule': crontab(minute=0, hour='*/3'),
        'args': (42,),
        'kwargs': {'seconds': 0.1},
    },
    'total-every-30s': {
        'task': 'orders.tasks.order_total',
        'schedule': 30.0,
        'args': ([{'price': 9.5, 'qty': 2}],),
        'options': {'queue': 'celery'},
    },
}
