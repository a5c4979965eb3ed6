"""Huey tasks shared by the test process (which enqueues) and the consumer subprocess.

Both processes import this module as ``tests.clients.tasks_huey`` so the task names
match. The consumer builds its Huey from ``HUEY_KIND`` and ``HUEY_URL`` at import; the
test process calls :func:`make_huey` with its fixture's URL instead.
"""
from __future__ import annotations

import os
import time
from types import SimpleNamespace
from typing import Any, Dict, Optional, Tuple

from huey import PriorityRedisHuey, RedisExpireHuey, RedisHuey, crontab

KINDS = {"plain": RedisHuey, "priority": PriorityRedisHuey, "expire": RedisExpireHuey}


def make_huey(kind: str, url: str) -> Tuple[Any, SimpleNamespace]:
    """A Huey of ``kind`` on ``url`` and the test tasks registered on it."""
    # A retried task's intermediate errors are withheld (huey stores them by default,
    # where a waiter polling between two attempts would read attempt 1's failure).
    options: Dict[str, Any] = {"url": url, "store_intermediate_errors": False}
    if kind == "plain":
        # Results are announced on a list the waiter BLPOPs (RedisStorage's option).
        options["notify_result"] = True
    if kind == "expire":
        options["expire_time"] = 300
    huey = KINDS[kind]("tq", **options)
    conn = huey.storage.conn

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    @huey.task(retries=2, retry_delay=0)
    def flaky(key: str) -> int:
        # Fails twice, then succeeds: two retries are just enough.
        attempt = conn.incr(key)
        if attempt < 3:
            raise ValueError("attempt %d" % attempt)
        return attempt

    @huey.task(retries=1, retry_delay=1)
    def hopeless(key: str) -> None:
        # Retried once after a delay (through the schedule), then fails for good.
        conn.incr(key)
        raise RuntimeError("always")

    @huey.task()
    @huey.lock_task("shared")
    def locked(seconds: float) -> str:
        conn.rpush("locked.started", "1")
        time.sleep(seconds)
        return "done"

    @huey.task()
    def record(label: str) -> None:
        conn.rpush("order", label)

    @huey.periodic_task(crontab(minute="*"))
    def tick() -> None:
        # Every minute matches: the consumer's scheduler enqueues it at start-up.
        conn.incr("ticks")

    return huey, SimpleNamespace(add=add, flaky=flaky, hopeless=hopeless, locked=locked,
                                 record=record, tick=tick)


huey: Optional[Any] = None
if os.environ.get("HUEY_URL"):
    huey, _ = make_huey(os.environ["HUEY_KIND"], os.environ["HUEY_URL"])
