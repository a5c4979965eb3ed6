"""The seed's task queue (scripts/streams_taskqueue.py) running on miniredis.

Real worker processes talk to the in-process miniredis over TCP: 1,000 tasks on four
workers must each complete exactly once, and a worker killed in the middle of a task
must have its message reclaimed (XAUTOCLAIM) and completed by another worker.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Dict

import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from streams_taskqueue import TaskQueue  # noqa: E402

_CLIENTS: Dict[str, redis.Redis] = {}


def _client(url: str) -> redis.Redis:
    # One connection per worker process, reused by every task it runs.
    if url not in _CLIENTS:
        _CLIENTS[url] = redis.Redis.from_url(url)
    return _CLIENTS[url]


def square(x: int, url: str) -> int:
    """A task that also counts its executions, to prove each ran exactly once."""
    _client(url).incr("executions:%d" % x)
    return x * x


def slow(seconds: float, url: str) -> int:
    """A task that announces its start, then takes a while: killed mid-way in a test."""
    _client(url).rpush("started", os.getpid())
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture
def queue_url(mini):
    url = "redis://127.0.0.1:%d/5" % mini.port
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def test_thousand_tasks_four_workers_each_exactly_once(queue_url):
    queue = TaskQueue("tq", url=queue_url, claim_idle_ms=30000)
    task = queue.task(square)
    handles = [task(i, queue_url) for i in range(1000)]
    workers = queue.run(4)
    try:
        results = [handle(timeout=60) for handle in handles]
    finally:
        workers.stop()
    assert results == [i * i for i in range(1000)]
    client = queue.client
    executions = [int(client.get("executions:%d" % i) or 0) for i in range(1000)]
    assert executions == [1] * 1000
    assert client.xpending("tq", queue.group)["pending"] == 0
    group = client.xinfo_groups("tq")[0]
    assert group["entries-read"] == 1000 and group["lag"] == 0
    consumers = client.xinfo_consumers("tq", queue.group)
    assert len(consumers) == 4 and all(c["pending"] == 0 for c in consumers)


def test_killed_worker_message_is_reclaimed(queue_url):
    queue = TaskQueue("tq", url=queue_url, claim_idle_ms=300, block_ms=100)
    task = queue.task(slow)
    client = queue.client
    first = queue.run(1)
    handle = task(1.0, queue_url)
    try:
        started = client.blpop(["started"], timeout=20)
        assert started is not None
        victim = first.processes[0]
        assert int(started[1]) == victim.pid
        pending = client.xpending("tq", queue.group)
        assert pending["pending"] == 1
        assert pending["consumers"] == [{"name": b"worker-%d" % victim.pid, "pending": 1}]
        victim.kill()
        victim.join(5)
        second = queue.run(1)
        try:
            result = handle(timeout=20)
        finally:
            second.stop()
    finally:
        first.stop()
    assert result == second.processes[0].pid != victim.pid
    assert client.lrange("started", 0, -1) == [str(result).encode()]
    assert client.xpending("tq", queue.group)["pending"] == 0
    consumers = {c["name"]: c["pending"] for c in client.xinfo_consumers("tq", queue.group)}
    assert consumers == {b"worker-%d" % victim.pid: 0, b"worker-%d" % result: 0}


def test_script_computes_fib_on_its_own_miniredis():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "streams_taskqueue.py")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "100,000th fibonacci ends with: 537501\n"
