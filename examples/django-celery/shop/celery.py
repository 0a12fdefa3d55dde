"""The Celery app of the shop project (`celery -A shop worker`)."""
import os

from celery import Celery

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')

app = Celery('shop')
# Every `CELERY_*` Django setting configures Celery: CELERY_BROKER_URL -> broker_url, and so on.
app.config_from_object('django.conf:settings', namespace='CELERY')
# Loads `tasks.py` from every app in INSTALLED_APPS.
app.autodiscover_tasks()
