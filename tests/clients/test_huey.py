"""huey on miniredis: a real consumer subprocess runs the tasks a test enqueues.

Every storage huey has for Redis is covered: RedisStorage (results in a hash, result
notification through BLPOP), PriorityRedisStorage (the queue is a sorted set served by
BZPOPMIN) and RedisExpireStorage (results as keys with a TTL). Each run covers results,
tasks scheduled with a delay and with an eta, periodic tasks, retries (immediate and
delayed through the schedule), revocation and ``lock_task``. huey's schedule is popped
by its Lua script (SCHEDULE_POP_LUA), so every scheduled task goes through EVALSHA.
"""
from __future__ import annotations

import datetime
import signal
import sys
from typing import Any

import pytest
from huey.exceptions import TaskException

from tests.clients.conftest import wait_until
from tests.clients.tasks_huey import make_huey

CONSUMER = "tests.clients.tasks_huey.huey"


def _start_consumer(spawn: Any, kind: str, url: str, workers: int) -> Any:
    # Threads (no fork of the test process); short polling delays keep the tests fast;
    # the scheduler's smallest interval is one second.
    return spawn([sys.executable, "-m", "huey.bin.huey_consumer", CONSUMER,
                  "-w", str(workers), "-k", "thread", "-d", "0.05", "-m", "0.2",
                  "-s", "1"], HUEY_KIND=kind, HUEY_URL=url)


def _stop(consumer: Any) -> None:
    """A graceful stop (SIGINT, huey's default graceful signal) must exit cleanly."""
    consumer.send_signal(signal.SIGINT)
    assert consumer.wait(timeout=10) == 0, consumer.log_path.read_text()


@pytest.mark.parametrize("kind", ["plain", "priority", "expire"])
def test_consumer_runs_results_schedules_retries_revokes_and_locks(kind, queue_url, spawn):
    huey, tasks = make_huey(kind, queue_url)
    conn = huey.storage.conn
    added = tasks.add(1, 2)
    delayed = tasks.add.schedule((5, 6), delay=1)
    at_eta = tasks.add.schedule(
        (7, 8), eta=datetime.datetime.now() + datetime.timedelta(seconds=1))
    revoked = tasks.add(10, 20)
    revoked.revoke()
    flaky = tasks.flaky("flaky.attempts")
    hopeless = tasks.hopeless("hopeless.attempts")
    # Scheduled tasks wait in the queue until a consumer moves them to the schedule.
    assert huey.pending_count() == 6
    assert not huey.is_locked("shared")

    consumer = _start_consumer(spawn, kind, queue_url, workers=2)
    assert added.get(blocking=True, timeout=10) == 3
    assert delayed.get(blocking=True, timeout=10) == 11
    assert at_eta.get(blocking=True, timeout=10) == 15
    assert flaky.get(blocking=True, timeout=10) == 3
    assert conn.get("flaky.attempts") == b"3"
    # The retry waits a second in the schedule before the second (last) attempt.
    wait_until(lambda: conn.get("hopeless.attempts") == b"2")
    with pytest.raises(TaskException) as failure:
        hopeless.get(blocking=True, timeout=10)
    assert "always" in failure.value.metadata["error"]
    wait_until(lambda: conn.get("ticks"))

    # Two tasks on one lock at once: one runs, the other fails to take the lock.
    first, second = tasks.locked(1.0), tasks.locked(1.0)
    outcomes = []
    for result in (first, second):
        try:
            outcomes.append(result.get(blocking=True, timeout=10))
        except TaskException as exc:
            outcomes.append(exc.metadata["error"])
    assert sorted(outcomes, key=len) == ["done", "TaskLockedException('unable to acquire "
                                                 "lock shared')"]
    assert conn.llen("locked.started") == 1
    assert not huey.is_locked("shared")

    # A marker task runs after the revoked one: the revoked task never produced a value.
    assert tasks.add(0, 0).get(blocking=True, timeout=10) == 0
    assert revoked.get() is None
    assert huey.pending_count() == 0 and huey.scheduled_count() == 0
    _stop(consumer)


def test_results_storage_differs_by_kind(queue_url, spawn):
    """RedisStorage pops a result from its hash when read; RedisExpireStorage keeps it
    in a key of its own with the configured TTL."""
    plain, plain_tasks = make_huey("plain", queue_url)
    expire, expire_tasks = make_huey("expire", queue_url.replace("/0", "/1"))
    first = plain_tasks.add(2, 2)
    second = expire_tasks.add(3, 3)
    consumers = [_start_consumer(spawn, "plain", queue_url, 1),
                 _start_consumer(spawn, "expire", queue_url.replace("/0", "/1"), 1)]
    conn, expire_conn = plain.storage.conn, expire.storage.conn
    wait_until(lambda: conn.hexists("huey.results.tq", first.id))
    assert first.get() == 4
    assert not conn.hexists("huey.results.tq", first.id)
    key = b"huey.r.tq." + second.id.encode()
    wait_until(lambda: expire_conn.exists(key))
    assert 0 < expire_conn.ttl(key) <= 300
    assert second.get() == 6
    assert second.get(preserve=True) == 6 and expire_conn.exists(key)
    for consumer in consumers:
        _stop(consumer)


def test_priority_queue_serves_highest_priority_first(queue_url, spawn):
    huey, tasks = make_huey("priority", queue_url)
    conn = huey.storage.conn
    for label, priority in [("none", None), ("low", 1), ("high", 10), ("mid", 5),
                            ("none2", None), ("high2", 10)]:
        tasks.record(label, priority=priority)
    assert conn.type("huey.redis.tq") == b"zset"
    consumer = _start_consumer(spawn, "priority", queue_url, workers=1)
    wait_until(lambda: conn.llen("order") == 6)
    # Same priority: first in, first out (huey prefixes each message with a timestamp).
    assert conn.lrange("order", 0, -1) == [b"high", b"high2", b"mid", b"low", b"none",
                                           b"none2"]
    _stop(consumer)
