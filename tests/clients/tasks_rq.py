"""rq job functions, imported by the test process and by ``rq worker`` subprocesses
under the same name (``tests.clients.tasks_rq``)."""
from __future__ import annotations

import os
import time

from rq import get_current_job


def add(a: int, b: int) -> int:
    return a + b


def boom() -> None:
    raise ValueError("boom")


def flaky(counter: str, failures: int) -> int:
    """Fails ``failures`` times (counted in Redis across retries), then succeeds."""
    attempt = get_current_job().connection.incr(counter)
    if attempt <= failures:
        raise RuntimeError("attempt %d failed" % attempt)
    return attempt


def whoami() -> int:
    """The pid of the process that ran the job (rq forks a work horse per job)."""
    time.sleep(0.05)
    return os.getpid()
