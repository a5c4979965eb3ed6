"""A Celery app and its tasks, for the test process (which sends) and the worker
subprocess (``celery -A tests.clients.tasks_celery worker``).

The broker (kombu's redis transport) is database 0 and the result backend database 1
of the server at ``CELERY_URL`` (``redis://host:port``). Late acknowledgement with a
short visibility timeout: kombu keeps every delivered message in ``unacked`` (a hash)
and ``unacked_index`` (a sorted set) until the task is acknowledged, and a worker puts
back messages left unacknowledged longer than the timeout (WATCH/MULTI, under the
``unacked_mutex`` lock).
"""
from __future__ import annotations

import os
import time
from typing import Any, List

import redis
from celery import Celery

VISIBILITY_TIMEOUT = 2


def make_app(url: str) -> Celery:
    app = Celery("tests.clients.tasks_celery", broker=url + "/0", backend=url + "/1",
                 set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT,
            # Look for overdue unacknowledged messages every second, on every look.
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
        result_expires=600,
    )
    side = redis.Redis.from_url(url + "/2")     # the tasks' own bookkeeping
    # (shared=False: each test's app has its own tasks, not also the ones an earlier
    # app in this process shared with every later one)

    @app.task(name="add", shared=False)
    def add(a: int, b: int) -> int:
        return a + b

    @app.task(name="fail", shared=False)
    def fail(message: str) -> None:
        raise ValueError(message)

    @app.task(name="total", shared=False)
    def total(values: List[int]) -> int:
        return sum(values)

    @app.task(name="retrying", bind=True, max_retries=3, shared=False)
    def retrying(self: Any, counter: str) -> int:
        # Retried with a countdown: kombu holds the message until its ETA.
        attempt = side.incr(counter)
        if attempt < 3:
            raise self.retry(countdown=0.5)
        return attempt

    @app.task(name="slow", shared=False)
    def slow(marker: str, seconds: float) -> int:
        side.rpush(marker, os.getpid())
        time.sleep(seconds)
        return os.getpid()

    return app


app = make_app(os.environ["CELERY_URL"]) if os.environ.get("CELERY_URL") else None
