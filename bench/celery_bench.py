"""Python Celery for `npm run bench` (bench/celery-system.ts: the `celery` and `celery-amqp` systems).

Imported by the worker (`python3 -m celery -A celery_bench worker -P solo`), it is the app with the bench's two
tasks. Run as a script, it is the client: it reads one command a line on stdin and answers each with one JSON
line on stdout, so the bench times Celery's own apply_async, not a Node client sending Celery's bytes.

The results go to BENCH_REDIS_URL; the broker is BENCH_BROKER_URL when set (RabbitMQ, for celery-amqp), else the
same Redis.

    enqueue N          N x bench.noop.delay()                       -> {}
    stage N QUEUE      N x bench.noop.apply_async(queue=QUEUE)      -> {"ids": [...]}
    stamped ID         bench.latency.apply_async([now ms], task_id=ID) -> {}
"""
import json
import os
import sys
import time

from celery import Celery

URL = os.environ.get('BENCH_REDIS_URL', 'redis://127.0.0.1:6379/0')
BROKER = os.environ.get('BENCH_BROKER_URL', URL)
AMQP = BROKER.startswith(('amqp://', 'pyamqp://'))

app = Celery('celery_bench', broker=BROKER, backend=URL)
app.conf.update(
    # Ack after the result is stored, as Radish does; it also lets the bench count finished tasks the same way
    # for both (on Redis: queued + unacked; on RabbitMQ: results stored).
    task_acks_late=True,
    worker_hijack_root_logger=False,
)


def now_ms():
    # The monotonic clock (CLOCK_MONOTONIC), which bench/clock.ts reads too: one clock for every process.
    return time.monotonic() * 1000


@app.task(name='bench.noop')
def noop():
    return None


@app.task(name='bench.latency')
def latency(sent_at):
    return now_ms() - sent_at


def settle(queue):
    """On RabbitMQ, apply_async returns once its message is written to the socket (kombu asks for no publisher
    confirms by default), where a Redis LPUSH has its reply. One round-trip on the channel the messages went out on
    (the pool hands back the producer last used): a passive declare of the queue, answered once the broker has
    queued every message published before it on that channel. So a send measurement ends when the broker holds
    them all, as on Redis."""
    if AMQP:
        with app.producer_or_acquire() as producer:
            producer.channel.queue_declare(queue=queue, passive=True)


def serve():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == 'enqueue':
                for _ in range(int(words[1])):
                    noop.delay()
                settle('celery')
                reply = {}
            elif words[0] == 'stage':
                reply = {'ids': [noop.apply_async(queue=words[2]).id for _ in range(int(words[1]))]}
                settle(words[2])
            elif words[0] == 'stamped':
                latency.apply_async([now_ms()], task_id=words[1])
                reply = {}
            else:
                reply = {'error': 'unknown command %r' % words[0]}
        except Exception as exc:  # the bench prints it and stops; the client keeps no state worth keeping
            reply = {'error': '%s: %s' % (type(exc).__name__, exc)}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    serve()
