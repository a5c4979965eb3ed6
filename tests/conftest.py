"""Session fixtures: a miniredis in-process and a real redis-server for differential tests."""
from __future__ import annotations

import os
import warnings

import pytest

from miniredis import Server
from tests.harness import Differ, RedisProcess, find_redis_server


@pytest.fixture(scope="session")
def mini(tmp_path_factory):
    """A miniredis served from a background thread on a free port. Its files (a save
    point set by a CONFIG SET test, SHUTDOWN SAVE...) go to a temporary directory,
    never to the working tree."""
    server = Server(port=0, dir=str(tmp_path_factory.mktemp("mini")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def real_redis():
    executable = find_redis_server()
    if executable is None:
        message = ("redis-server not found: differential tests are SKIPPED "
                   "(install the Debian package redis-server)")
        warnings.warn(message)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    proc = RedisProcess(executable)
    yield proc
    proc.stop()


@pytest.fixture
def differ(mini, real_redis) -> Differ:
    """``differ.check(cmd, cmd, ...)``: same replies from Redis and miniredis."""
    return Differ(real_redis.port, mini.port)
