"""The orders app."""
from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """Orders: the tasks live in `orders/tasks.py`, found by `app.autodiscover_tasks()`."""

    name = 'orders'
