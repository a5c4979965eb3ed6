"""Fixtures for the task-queue library tests (huey, rq, celery/kombu).

Each test module gets its own miniredis, served in-process from a background thread on
a free port, so worker processes spawned by a test connect to it over TCP exactly as
they would to a Redis server. The fixtures have names of their own (``queue_server``,
``queue_url``, ``spawn``) so that other fixture files in this directory can coexist.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Iterator, List

import pytest
import redis

from miniredis import Server
from tests.harness import RedisProcess, find_redis_server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def queue_server() -> Iterator[Any]:
    """A miniredis of the module's own: workers left over by one module cannot touch
    the next module's data.

    With ``CLIENT_TESTS_SERVER=redis-server`` in the environment the same tests run
    against a real redis-server instead, which shows that they test the library's
    documented behaviour and not an accident of ours.
    """
    if os.environ.get("CLIENT_TESTS_SERVER") == "redis-server":
        executable = find_redis_server()
        if executable is None:
            pytest.fail("CLIENT_TESTS_SERVER=redis-server but no redis-server found")
        real = RedisProcess(executable)
        yield real
        real.stop()
        return
    server = Server(port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def queue_url(queue_server: Any) -> Iterator[str]:
    """URL of database 0 of the module's miniredis, flushed before every test."""
    url = "redis://127.0.0.1:%d/0" % queue_server.port
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    yield url


def worker_env(**extra: str) -> dict:
    """Environment of a worker subprocess: the repository importable (task modules are
    imported under the same dotted name as in the test process) and the venv's
    executables on PATH (``rq``, ``celery``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([BIN, env.get("PATH", "")])
    env.update(extra)
    return env


@pytest.fixture
def spawn(tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """``spawn(argv, **env)`` starts a worker process (its own process group, output in
    ``proc.log_path``); every one still running at the end of the test is killed, so no
    worker outlives its test."""
    procs: List[subprocess.Popen] = []

    def start(argv: List[str], **env: str) -> subprocess.Popen:
        log_path = tmp_path / ("worker-%d.log" % len(procs))
        # A file, not a pipe: a chatty worker must never block on a full pipe.
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, cwd=ROOT, env=worker_env(**env),
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        proc.log_path = log_path  # type: ignore[attr-defined]
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until(predicate: Callable[[], object], timeout: float = 15.0,
               interval: float = 0.05) -> object:
    """Poll ``predicate`` until it returns something true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached within %.1f s" % timeout)
        time.sleep(interval)
