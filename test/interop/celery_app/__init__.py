"""The real-Celery side of Radish's interop tests: a tiny app with reference tasks.

`celery -A celery_app worker` works too (Celery finds `app` here), but the tests
go through ../celery_peer.py, which is what test/support/celery.ts spawns.
"""
from .app import app, make_app

__all__ = ('app', 'make_app')
