"""Celery with the redis broker (kombu) and the redis result backend on miniredis.

A real worker process (``celery worker``, solo pool) runs the tasks: results come back
through the backend (the client waits on pub/sub), failures carry the exception,
retries with a countdown, groups and a chord (the backend's chord Lua scripts). With
late acknowledgement, a task whose worker is killed mid-run is redelivered after the
visibility timeout and completes on a new worker.
"""
from __future__ import annotations

import gc
import signal
import sys
import time

import pytest
import redis
from celery import chord, group

from tests.clients.conftest import wait_until
from tests.clients.tasks_celery import VISIBILITY_TIMEOUT, make_app


@pytest.fixture
def app(queue_url):
    base = queue_url.rsplit("/", 1)[0]
    app = make_app(base)
    yield app
    # The tests' AsyncResults sit in reference cycles with the result backend; their
    # finalizers unsubscribe through it, so they are collected while the server still
    # runs, not later in another test (a reconnect warning there).
    gc.collect()
    app.close()


def _worker(spawn, app, name):
    base = app.conf.broker_url.rsplit("/", 1)[0]
    return spawn([sys.executable, "-m", "celery", "-A", "tests.clients.tasks_celery",
                  "worker", "-P", "solo", "-c", "1", "-n", name, "--without-gossip",
                  "--without-mingle", "--without-heartbeat", "-l", "warning"],
                 CELERY_URL=base)


def _stop(worker):
    """Warm shut-down (SIGTERM): the worker must exit cleanly."""
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0, worker.log_path.read_text()


def test_worker_results_failures_retries_groups_and_chords(app, spawn):
    add, fail, total = app.tasks["add"], app.tasks["fail"], app.tasks["total"]
    sent = add.delay(2, 3)
    failing = fail.delay("no good")
    retried = app.tasks["retrying"].delay("retry:attempts")
    later = add.apply_async((4, 4), countdown=1)
    assert sent.state == "PENDING"
    worker = _worker(spawn, app, "w1@test")
    assert sent.get(timeout=20) == 5 and sent.state == "SUCCESS"
    with pytest.raises(ValueError, match="no good"):
        failing.get(timeout=10)
    assert failing.state == "FAILURE"
    assert retried.get(timeout=10) == 3
    assert later.get(timeout=10) == 8
    assert group(add.s(i, i) for i in range(5))().get(timeout=10) == [0, 2, 4, 6, 8]
    header = [add.s(i, 1) for i in range(4)]
    assert chord(header)(total.s()).get(timeout=10) == 10
    # Everything was acknowledged: nothing left in the broker's bookkeeping.
    broker = redis.Redis.from_url(app.conf.broker_url)
    assert broker.llen("celery") == 0
    # (a late acknowledgement follows the result: wait for it)
    wait_until(lambda: broker.zcard("unacked_index") == 0, timeout=5)
    assert broker.hlen("unacked") == 0
    _stop(worker)


def test_late_ack_task_survives_a_killed_worker(app, spawn):
    side = redis.Redis.from_url(app.conf.broker_url.rsplit("/", 1)[0] + "/2")
    broker = redis.Redis.from_url(app.conf.broker_url)
    first = _worker(spawn, app, "first@test")
    result = app.tasks["slow"].delay("started", 1.5)
    wait_until(lambda: side.llen("started") == 1)
    # The message is delivered but not acknowledged: kombu keeps it aside.
    assert broker.hlen("unacked") == 1 and broker.zcard("unacked_index") == 1
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(VISIBILITY_TIMEOUT)
    second = _worker(spawn, app, "second@test")
    pid = result.get(timeout=20)
    assert side.lrange("started", 0, -1) == [str(first.pid).encode(), str(pid).encode()]
    assert pid == second.pid
    wait_until(lambda: broker.hlen("unacked") == 0)
    assert broker.zcard("unacked_index") == 0
    _stop(second)
