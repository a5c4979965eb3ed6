"""Redis Sentinel manages replication groups that mix miniredis and redis-server.

A real ``redis-sentinel`` monitors a master with one replica; the master is killed
(SIGKILL, as a crash); Sentinel must promote the replica and redis-py's Sentinel
client must follow it, with no write lost that ``WAIT 1`` acknowledged. The
redis/redis group is the control: it shows the scenario itself holds.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable, List, Sequence

import pytest
import redis
from redis.sentinel import Sentinel

from tests.harness import RedisProcess, free_port, redis_server_or_skip, start_process, \
    stop_process, wait_serving

GROUP = "grp"


def _sentinel_or_skip() -> str:
    executable = shutil.which("redis-sentinel")
    if executable is None:
        message = "redis-sentinel not found: Sentinel tests are SKIPPED (Debian package redis-sentinel)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return executable


class MiniProcess:
    """miniredis in a process of its own, so that it can be killed like a crash."""

    def __init__(self, extra: Sequence[str] = ()) -> None:
        self.dir = tempfile.mkdtemp(prefix="mini-sentinel-")
        self.proc, self.port = start_process(
            lambda port: [sys.executable, "-m", "miniredis", "--port", str(port), "--bind",
                          "127.0.0.1", "--save", "", "--dir", self.dir, "--loglevel",
                          "warning", *extra],
            what="miniredis", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        stop_process(self.proc, self.dir)


class SentinelProcess:
    """One redis-sentinel monitoring ``GROUP`` at ``master_port`` (quorum 1)."""

    def __init__(self, master_port: int) -> None:
        self.dir = tempfile.mkdtemp(prefix="sentinel-")
        self.port = free_port()
        config = os.path.join(self.dir, "sentinel.conf")
        with open(config, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\n" % (self.port, self.dir))
            f.write("sentinel monitor %s 127.0.0.1 %d 1\n" % (GROUP, master_port))
            f.write("sentinel down-after-milliseconds %s 1000\n" % GROUP)
            f.write("sentinel failover-timeout %s 10000\n" % GROUP)
        self.proc = subprocess.Popen([_sentinel_or_skip(), config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_serving(self.proc, self.port, 15, "redis-sentinel")

    def stop(self) -> None:
        stop_process(self.proc, self.dir)


def _node(kind: str, extra: Sequence[str] = ()):
    # No 5-second wait (Redis's default) for more replicas before a diskless full sync.
    extra = ["--repl-diskless-sync-delay", "0", *extra]
    if kind == "mini":
        return MiniProcess(extra)
    return RedisProcess(redis_server_or_skip(), extra)


def _kill(node) -> None:
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(5)


def _wait(predicate: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.time() + seconds
    last_error = None
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (redis.RedisError, OSError) as error:
            last_error = error
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last error: %r)" % (what, last_error))


def _link_up(port: int) -> bool:
    return redis.Redis(port=port).info("replication").get("master_link_status") == "up"


@pytest.mark.parametrize("master_kind,replica_kind", [
    ("redis", "redis"), ("mini", "redis"), ("redis", "mini"), ("mini", "mini")])
def test_sentinel_promotes_the_replica_and_the_client_follows(master_kind: str,
                                                               replica_kind: str) -> None:
    nodes: List = []
    sentinel = None
    try:
        master = _node(master_kind)
        nodes.append(master)
        replica = _node(replica_kind, ["--replicaof", "127.0.0.1", str(master.port)])
        nodes.append(replica)
        _wait(lambda: _link_up(replica.port), 30, "the replica's link")
        sentinel = SentinelProcess(master.port)
        sentinels = Sentinel([("127.0.0.1", sentinel.port)], socket_timeout=2)
        _wait(lambda: ("127.0.0.1", replica.port) in sentinels.discover_slaves(GROUP),
              30, "Sentinel to discover the replica")

        client = sentinels.master_for(GROUP, socket_timeout=2)
        for i in range(300):
            client.set("key:%d" % i, i)
        client.rpush("list", *range(100))
        client.hset("hash", mapping={"a": 1, "b": 2})
        assert client.execute_command("WAIT", 1, 5000) == 1

        _kill(master)
        _wait(lambda: sentinels.discover_master(GROUP) == ("127.0.0.1", replica.port),
              60, "Sentinel to promote the replica")
        _wait(lambda: client.set("after", "failover"), 30, "the client to follow")

        promoted = redis.Redis(port=replica.port)
        assert promoted.role()[0] == b"master"
        assert promoted.get("after") == b"failover"
        assert [promoted.get("key:%d" % i) for i in range(300)] == \
            [str(i).encode() for i in range(300)]
        assert promoted.lrange("list", 0, -1) == [str(i).encode() for i in range(100)]
        assert promoted.hgetall("hash") == {b"a": b"1", b"b": b"2"}
    finally:
        if sentinel is not None:
            sentinel.stop()
        for node in nodes:
            node.stop()
