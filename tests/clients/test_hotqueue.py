"""hotqueue against miniredis: put, get, consume and the worker decorator.

hotqueue is a list queue (RPUSH / LPOP / BLPOP) with pickled messages by default;
the worker runs in a separate process, as hotqueue users deploy it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import redis
from hotqueue import HotQueue

from tests.clients._embedded import embedded_server, server  # noqa: F401 (fixtures)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def queue(server):
    return HotQueue("jobs", port=server.port)


def test_put_get_and_length(queue, server):
    assert queue.get() is None
    queue.put({"n": 1})
    queue.put("two", ["three"], 4.5)          # several at once: one RPUSH
    assert len(queue) == 4
    assert queue.key == "hotqueue:jobs"
    assert server.keys() == [b"hotqueue:jobs"]
    assert [queue.get() for _ in range(4)] == [{"n": 1}, "two", ["three"], 4.5]
    assert queue.get() is None and len(queue) == 0
    assert server.keys() == []                  # the emptied list is gone


def test_blocking_get(queue, server):
    assert queue.get(block=True, timeout=0.1) is None
    results = []
    getter = threading.Thread(target=lambda: results.append(
        queue.get(block=True, timeout=5)))
    getter.start()
    time.sleep(0.1)
    HotQueue("jobs", port=server.port).put("late")
    getter.join(5)
    assert results == ["late"]


def test_blocking_get_times_out_by_the_server_clock(queue, server):
    server.freeze_time()
    results = []
    getter = threading.Thread(target=lambda: results.append(
        queue.get(block=True, timeout=60)))
    getter.start()
    admin = redis.Redis(port=server.port)
    deadline = time.monotonic() + 5
    while admin.info("clients")["blocked_clients"] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    server.advance_time(61)
    getter.join(5)
    assert results == [None]


def test_consume_and_serializers(server):
    plain = HotQueue("raw", port=server.port, serializer=None)
    plain.put("a", b"b", 3)
    assert list(plain.consume(timeout=0.1)) == [b"a", b"b", b"3"]
    as_json = HotQueue("json", port=server.port, serializer=json)
    as_json.put({"k": [1, 2]})
    assert list(as_json.consume(timeout=0.1)) == [{"k": [1, 2]}]
    assert server.get("hotqueue:json") is None


def test_clear(queue, server):
    queue.put(1, 2, 3)
    queue.clear()
    assert len(queue) == 0 and server.keys() == []


def test_worker_decorator_in_process(queue):
    seen = []

    @queue.worker(timeout=0.2)
    def collect(prefix: str, message) -> None:
        seen.append(prefix + str(message))

    queue.put(1, 2, 3)
    collect("m")                     # consumes until the queue stays empty 0.2 s
    assert seen == ["m1", "m2", "m3"]

    class Stop(Exception):
        pass

    @queue.worker
    def bare(message) -> None:       # no timeout: BLPOP 0 waits for ever
        seen.append(message)
        if message == "stop":
            raise Stop()

    queue.put("x", "stop")
    with pytest.raises(Stop):
        bare()
    assert seen[-2:] == ["x", "stop"]


WORKER = '''
import sys
import redis
from hotqueue import HotQueue

port = int(sys.argv[1])
queue = HotQueue("tasks", port=port)
results = redis.Redis(port=port)

@queue.worker(timeout=1)
def square(task):
    results.hset("squares", task["id"], task["n"] ** 2)

square()
'''


def test_worker_processes(queue, server):
    """Two worker processes share the queue; every task is done exactly once."""
    tasks = HotQueue("tasks", port=server.port)
    workers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(WORKER),
                                 str(server.port)], cwd=ROOT) for _ in range(2)]
    try:
        for i in range(200):
            tasks.put({"id": i, "n": i})
        client = redis.Redis(port=server.port)
        deadline = time.monotonic() + 30
        while client.hlen("squares") < 200:
            assert time.monotonic() < deadline, "workers too slow"
            time.sleep(0.05)
        for worker in workers:
            assert worker.wait(30) == 0     # each stops after 1 s without work
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    squares = server.get("squares")
    assert squares == {str(i).encode(): str(i * i).encode() for i in range(200)}
    assert len(tasks) == 0
