"""Celery tasks of the orders app, one per decorator style Celery projects use.

Task names are the wire contract (a TypeScript caller sends them by name):

    orders.tasks.send_confirmation   @shared_task
    orders.charge                    @shared_task(name=..., bind=True, max_retries=3)
    orders.tasks.order_total         @app.task
    orders.tasks.build_invoice       @shared_task, slow on purpose
    orders.tasks.fail_loudly         @shared_task, always raises ValueError
    orders.tasks.add_in_typescript   @shared_task, calls the TypeScript task `tasks.add`
"""
import time

from celery import shared_task
from celery.utils.log import get_task_logger

from shop.celery import app

logger = get_task_logger(__name__)


class GatewayTimeout(ConnectionError):
    """The (simulated) payment gateway did not answer in time: worth retrying."""


@shared_task
def send_confirmation(order_id, email):
    """Send the confirmation email of an order (simulated)."""
    logger.info('Confirming order %s to %s', order_id, email)
    return {'order_id': order_id, 'email': email, 'status': 'sent'}


@shared_task(name='orders.charge', bind=True, max_retries=3)
def charge(self, order_id, amount, failures=1):
    """Charge an order; the gateway times out on the first `failures` attempts.

    Each timeout is retried after a second. With `failures` above `max_retries` the task
    ends in FAILURE with the last `GatewayTimeout`.
    """
    attempt = self.request.retries + 1
    try:
        if attempt <= failures:
            raise GatewayTimeout(f'payment gateway timed out on order {order_id} (attempt {attempt})')
    except GatewayTimeout as exc:
        raise self.retry(exc=exc, countdown=1)
    return {'order_id': order_id, 'amount': amount, 'status': 'charged', 'attempts': attempt}


@app.task
def order_total(items, tax_rate=0.0):
    """Total of `items` (`[{"price": 9.5, "qty": 2}, ...]`) plus tax, rounded to cents."""
    subtotal = sum(item['price'] * item.get('qty', 1) for item in items)
    return round(subtotal * (1 + tax_rate), 2)


@shared_task
def build_invoice(order_id, seconds=5.0):
    """Render an invoice PDF (simulated by sleeping), long enough to watch it run."""
    time.sleep(seconds)
    return {'order_id': order_id, 'invoice': f'/invoices/{order_id}.pdf'}


@shared_task
def fail_loudly(order_id):
    """Always fail, so there is a failed task (args kept) to inspect and retry."""
    raise ValueError(f'order {order_id} cannot be processed')


@shared_task
def add_in_typescript(x=2, y=3):
    """Send `tasks.add(x, y)` to a TypeScript (Radish) worker; return that task's id.

    The task is sent by name: Python needs no definition of it. `CELERY_TASK_ROUTES` puts it on
    the `radish` queue. The caller reads its result with `AsyncResult(id).get()`; waiting for it
    here would block this worker (Celery forbids `.get()` inside a task).
    """
    return app.send_task('tasks.add', args=[x, y]).id
