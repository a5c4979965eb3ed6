"""The embedding API: a server in-process, its data and clock driven without a client."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import redis

from miniredis import CommandFailed, Server
from tests.clients._embedded import embedded_server, server  # noqa: F401 (fixtures)


@pytest.fixture
def r(server):
    client = redis.Redis.from_url(server.url)
    yield client
    client.close()


def test_url_and_port(server):
    assert server.port > 0
    assert server.url == "redis://127.0.0.1:%d/0" % server.port
    assert redis.Redis.from_url(server.url).ping() is True


def test_execute_runs_commands_and_raises_redis_errors(server, r):
    assert server.execute("SET", "n", 41) == b"OK"
    assert server.execute("INCR", "n") == 42
    assert r.get("n") == b"42"
    assert server.execute("HSET", "h", "f", "v", db=3) == 1
    assert r.exists("h") == 0
    assert server.execute("HGETALL", "h", db=3) == [b"f", b"v"]
    with pytest.raises(CommandFailed) as failure:
        server.execute("LPUSH", "n", "x")
    assert str(failure.value) == ("WRONGTYPE Operation against a key holding the wrong "
                                  "kind of value")
    with pytest.raises(CommandFailed) as failure:
        server.execute("NOSUCH", "a")
    assert str(failure.value) == ("ERR unknown command 'NOSUCH', with args beginning "
                                  "with: 'a' ")
    # a blocking command never blocks here: it answers as on timeout
    assert server.execute("BLPOP", "empty", 0) is None


def test_set_get_every_type(server, r):
    server.set("s", "text")
    server.set("i", 12)
    server.set("l", ["a", b"b", 3])
    server.set("h", {"f": "v", b"g": 2})
    server.set("st", {"x", "y"})
    server.set("z", {"a": 2, "b": 1.5}, type="zset")
    r.xadd("x", {"f": "v"}, id="1-1")
    assert server.get("s") == b"text"
    assert server.get("i") == b"12"
    assert server.get("l") == [b"a", b"b", b"3"]
    assert server.get("h") == {b"f": b"v", b"g": b"2"}
    assert server.get("st") == {b"x", b"y"}
    z = server.get("z")
    assert z == {b"b": 1.5, b"a": 2.0} and list(z) == [b"b", b"a"]
    assert server.get("x") == [(b"1-1", {b"f": b"v"})]
    assert server.get("missing") is None
    # clients see the same data, with the encodings the commands would have given
    assert r.lrange("l", 0, -1) == [b"a", b"b", b"3"]
    assert r.zrange("z", 0, -1, withscores=True) == [(b"b", 1.5), (b"a", 2.0)]
    assert [r.object("encoding", k) for k in ("i", "h", "st", "z")] == [
        b"int", b"listpack", b"hashtable", b"listpack"]


def test_set_replaces_and_rejects_what_redis_cannot_store(server, r):
    r.rpush("k", "old")
    r.expire("k", 100)
    server.set("k", {"a": "b"})
    assert r.type("k") == b"hash" and r.ttl("k") == -1
    with pytest.raises(ValueError):
        server.set("k", [])
    with pytest.raises(TypeError):
        server.set("k", True)
    with pytest.raises(ValueError):
        server.set("k", {"a": 1}, type="stream")
    assert r.hgetall("k") == {b"a": b"b"}


def test_keys_dump_delete_flushall(server, r):
    server.set("user:1", "a")
    server.set("user:2", ["b"])
    server.set("other", "c")
    server.set("elsewhere", "d", db=2)
    assert server.keys() == [b"other", b"user:1", b"user:2"]
    assert server.keys("user:*") == [b"user:1", b"user:2"]
    assert server.keys(db=2) == [b"elsewhere"]
    assert server.dump() == {0: {b"other": b"c", b"user:1": b"a", b"user:2": [b"b"]},
                             2: {b"elsewhere": b"d"}}
    assert server.dump(db=2) == {b"elsewhere": b"d"}
    assert server.delete("user:1", "user:2", "nope") == 2
    assert server.delete() == 0
    assert r.keys() == [b"other"]
    server.flushall()
    assert server.dump() == {}


def test_reads_do_not_touch_statistics(server, r):
    r.config_resetstat()
    server.set("a", "1")
    server.get("a")
    server.get("missing")
    server.dump()
    stats = r.info("stats")
    assert stats["keyspace_hits"] == 0 and stats["keyspace_misses"] == 0


def test_set_wakes_blocked_clients_and_breaks_watch(server):
    results = []
    waiter = threading.Thread(target=lambda: results.append(
        redis.Redis.from_url(server.url).blpop(["jobs"], timeout=10)))
    waiter.start()
    admin = redis.Redis.from_url(server.url)
    _wait_until(lambda: admin.info("clients")["blocked_clients"] == 1)
    server.set("jobs", ["first", "second"])
    waiter.join(5)
    assert results == [(b"jobs", b"first")]
    assert server.get("jobs") == [b"second"]

    pipe = admin.pipeline()
    pipe.watch("jobs")
    server.set("jobs", ["changed"])
    pipe.multi()
    pipe.get("jobs")
    with pytest.raises(redis.WatchError):
        pipe.execute()


def test_ttl_and_frozen_time_expires_keys(server, r):
    server.set("session", "x", ttl=30)
    remaining = server.ttl("session")
    assert 29 < remaining <= 30
    assert server.ttl("missing") is None
    server.set("forever", "y")
    assert server.ttl("forever") is None
    server.freeze_time()
    server.advance_time(29.9)
    assert r.exists("session") == 1
    assert abs(server.ttl("session") - 0.1) < 0.05
    server.advance_time(0.2)
    assert server.get("session") is None
    assert r.exists("session") == 0
    # active expiry ran: the key is gone from the data, and INFO counted it
    assert b"session" not in server.state.dbs[0].data
    assert r.info("stats")["expired_keys"] >= 1
    server.unfreeze_time()
    assert r.get("forever") == b"y"


def test_frozen_time_holds_ttls_and_time(server, r):
    server.freeze_time(at=1_700_000_000.25)
    assert r.time() == (1700000000, 250000)
    r.set("k", "v", px=1000)
    time.sleep(0.05)
    assert r.pttl("k") == 1000
    server.advance_time(0.5)
    assert r.pttl("k") == 500
    assert r.time() == (1700000000, 750000)


def test_advance_fires_blocking_timeouts(server):
    server.freeze_time()
    results = []

    def wait() -> None:
        client = redis.Redis.from_url(server.url)
        results.append(client.blpop(["q"], timeout=30))

    waiter = threading.Thread(target=wait)
    waiter.start()
    admin = redis.Redis.from_url(server.url)
    _wait_until(lambda: admin.info("clients")["blocked_clients"] == 1)
    server.advance_time(29)
    time.sleep(0.1)
    assert results == [] and admin.info("clients")["blocked_clients"] == 1
    started = time.monotonic()
    server.advance_time(2)
    waiter.join(5)
    assert results == [None]
    assert time.monotonic() - started < 1


def test_advance_while_running_also_expires(server, r):
    r.set("k", "v", ex=100)
    server.advance_time(101)
    assert r.exists("k") == 0
    assert b"k" not in server.state.dbs[0].data


def test_unix_socket_mode():
    path = os.path.join(tempfile.mkdtemp(), "mini.sock")
    with Server(port=0, unixsocket=path) as srv:
        assert srv.url == "unix://" + path
        assert srv.port == 0
        client = redis.Redis.from_url(srv.url)
        assert client.set("a", "b") is True
        assert srv.get("a") == b"b"
        client.close()
    assert not os.path.exists(path)


def test_start_is_fast():
    """Start to first reply, in-process, once the modules are imported: under 50 ms."""
    Server(port=0).start().stop()          # one-time imports
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        srv = Server(port=0).start()
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16) == b"+PONG\r\n"
        timings.append(time.perf_counter() - started)
        srv.stop()
    assert statistics.median(timings) < 0.05, timings


def _wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_embed_start_benchmark_runs():
    """benchmarks/embed_start.py (figures in benchmarks/README.rst) still runs."""
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks", "embed_start.py")
    out = subprocess.run([sys.executable, script, "--rounds", "3", "--no-redis-server"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1] == "miniredis Server(port=0), 3 rounds"
    assert [line.split()[0] for line in lines[2:]] == ["start()", "start()", "stop()"]


def test_embedded_server_ignores_a_dump_in_the_working_directory(tmp_path, monkeypatch):
    """A fixture's server starts empty wherever pytest runs; given a dir, it loads
    that dir's dump.rdb as redis-server would."""
    with Server(port=0, dir=str(tmp_path)) as first:
        first.set("kept", b"v")
        first.execute("SAVE")
    assert (tmp_path / "dump.rdb").exists()
    monkeypatch.chdir(tmp_path)
    with Server(port=0) as plain:
        assert plain.keys() == []
    with Server(port=0, dir=str(tmp_path)) as again:
        assert again.get("kept") == b"v"
