"""MIGRATE between miniredis and a real redis-server (both directions), miniredis to
miniredis, with AUTH and AUTH2; error texts compared with Redis's; the AOF logs a
MIGRATE as the DEL of the keys it moved."""
from __future__ import annotations

import shutil
import tempfile

import pytest

from miniredis import Server
from tests.aofutil import aof_files, pipe_into
from tests.harness import (RawConnection, RedisProcess, find_redis_server, free_port,
                           parse_raw)


def _call(port, *args, db=0):
    conn = RawConnection(port)
    try:
        if db:
            conn.call("SELECT", str(db))
        return conn.call(*args)
    finally:
        conn.close()


@pytest.fixture
def target_redis(real_redis):
    """A second real redis-server with a password and an ACL user."""
    proc = RedisProcess(find_redis_server(), ["--requirepass", "secret"])
    conn = RawConnection(proc.port)
    conn.call("AUTH", "secret")
    conn.call("ACL", "SETUSER", "mover", "on", ">pw", "~*", "+@all")
    conn.close()
    yield proc
    proc.stop()


def _auth_call(port, *args):
    conn = RawConnection(port)
    try:
        conn.call("AUTH", "secret")
        return conn.call(*args)
    finally:
        conn.close()


def test_migrate_errors_as_redis(differ):
    closed = free_port()
    differ.check(
        "SET k v",
        "MIGRATE 127.0.0.1 %d missing 0 100" % closed,
        "MIGRATE 127.0.0.1 %d k 0 100" % closed,
        "MIGRATE 127.0.0.1 %d k 0 100 BADOPT" % closed,
        "MIGRATE 127.0.0.1 %d k 0 100 AUTH" % closed,
        "MIGRATE 127.0.0.1 %d k 0 100 AUTH2 u" % closed,
        "MIGRATE 127.0.0.1 %d k 0 100 KEYS a b" % closed,
        "MIGRATE 127.0.0.1 %d \"\" 0 100 KEYS nothing here" % closed,
        "MIGRATE 127.0.0.1 %d k 0 abc" % closed,
        "MIGRATE 127.0.0.1 %d k abc 100" % closed,
        "MIGRATE 127.0.0.1 %d k 0" % closed,
        "MIGRATE 127.0.0.1 notaport k 0 100",
        "MIGRATE no-such-host.invalid 6379 k 0 100",
        "GET k")


def test_migrate_mini_to_redis_with_auth(mini, target_redis):
    _auth_call(target_redis.port, "FLUSHALL")
    _call(mini.port, "FLUSHALL")
    _call(mini.port, "SET", "k", "hello")
    _call(mini.port, "PEXPIRE", "k", "50000")
    _call(mini.port, "RPUSH", "l", "a", "b", "c")
    _call(mini.port, "ZADD", "z", "1", "x", "2", "y")
    port = target_redis.port
    # without the password, the target's error comes back
    reply = _call(mini.port, "MIGRATE", "127.0.0.1", str(port), "k", "0", "1000")
    assert reply == b"-ERR Target instance replied with error: NOAUTH Authentication required.\r\n"
    assert _call(mini.port, "EXISTS", "k") == b":1\r\n"
    assert _call(mini.port, "MIGRATE", "127.0.0.1", str(port), "k", "3", "1000",
                 "AUTH", "secret") == b"+OK\r\n"
    assert _call(mini.port, "EXISTS", "k") == b":0\r\n"
    conn = RawConnection(port)
    conn.call("AUTH", "secret")
    conn.call("SELECT", "3")
    assert conn.call("GET", "k") == b"$5\r\nhello\r\n"
    pttl = int(conn.call("PTTL", "k")[1:-2])
    assert 40000 < pttl <= 50000
    conn.close()
    # AUTH2, KEYS, COPY
    assert _call(mini.port, "MIGRATE", "127.0.0.1", str(port), "", "0", "1000", "COPY",
                 "AUTH2", "mover", "pw", "KEYS", "l", "z", "nope") == b"+OK\r\n"
    assert _call(mini.port, "EXISTS", "l", "z") == b":2\r\n"
    assert _auth_call(port, "LRANGE", "l", "0", "-1") == b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    # the target refuses an existing key without REPLACE
    reply = _call(mini.port, "MIGRATE", "127.0.0.1", str(port), "l", "0", "1000",
                  "AUTH", "secret")
    assert reply == (b"-ERR Target instance replied with error: BUSYKEY Target key name "
                     b"already exists.\r\n")
    _call(mini.port, "RPUSH", "l", "d")
    assert _call(mini.port, "MIGRATE", "127.0.0.1", str(port), "l", "0", "1000",
                 "REPLACE", "AUTH", "secret") == b"+OK\r\n"
    assert _auth_call(port, "LLEN", "l") == b":4\r\n"
    assert _call(mini.port, "EXISTS", "l") == b":0\r\n"
    # a wrong password
    reply = _call(mini.port, "MIGRATE", "127.0.0.1", str(port), "z", "0", "1000",
                  "AUTH2", "mover", "bad")
    assert reply.startswith(b"-ERR Target instance replied with error: WRONGPASS")


def test_migrate_redis_to_mini(mini, real_redis):
    _call(mini.port, "FLUSHALL")
    _call(real_redis.port, "FLUSHALL")
    _call(real_redis.port, "HSET", "h", "f", "v", "n", "1")
    _call(real_redis.port, "SADD", "s", *[str(i) for i in range(10)])
    _call(real_redis.port, "XADD", "x", "1-1", "a", "b")
    _call(real_redis.port, "XGROUP", "CREATE", "x", "g", "0")
    _call(real_redis.port, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">")
    reply = _call(real_redis.port, "MIGRATE", "127.0.0.1", str(mini.port), "", "0", "1000",
                  "KEYS", "h", "s", "x")
    assert reply == b"+OK\r\n"
    assert _call(real_redis.port, "DBSIZE") == b":0\r\n"
    assert _call(mini.port, "HGETALL", "h") == b"*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nn\r\n$1\r\n1\r\n"
    assert _call(mini.port, "SCARD", "s") == b":10\r\n"
    assert _call(mini.port, "OBJECT", "ENCODING", "s") == b"$6\r\nintset\r\n"
    pending = parse_raw(_call(mini.port, "XPENDING", "x", "g"))
    assert pending[1][0] == (b":", b"1")


def test_migrate_mini_to_mini_with_auth(mini):
    with Server(port=0, requirepass="pw2") as other:
        _call(mini.port, "FLUSHALL")
        _call(mini.port, "SET", "a", "1")
        _call(mini.port, "SET", "b", "2")
        assert _call(mini.port, "MIGRATE", "127.0.0.1", str(other.port), "", "5", "1000",
                     "AUTH", "pw2", "KEYS", "a", "b") == b"+OK\r\n"
        conn = RawConnection(other.port)
        conn.call("AUTH", "pw2")
        conn.call("SELECT", "5")
        assert conn.call("MGET", "a", "b") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
        conn.close()
        assert _call(mini.port, "DBSIZE") == b":0\r\n"


def test_migrate_timeout_on_silent_target(mini):
    """A target that accepts but never answers: IOERR after the timeout."""
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        _call(mini.port, "SET", "k", "v")
        reply = _call(mini.port, "MIGRATE", "127.0.0.1", str(listener.getsockname()[1]),
                      "k", "0", "200")
        assert reply == b"-IOERR error or timeout reading to target instance\r\n"
        assert _call(mini.port, "GET", "k") == b"$1\r\nv\r\n"
    finally:
        listener.close()
        _call(mini.port, "DEL", "k")


def test_migrate_logged_as_del(real_redis):
    workdir = tempfile.mkdtemp(prefix="mini-migrate-")
    # (a RESP base: the files are piped into Redis below)
    with Server(port=0, appendonly=True, dir=workdir, aof_use_rdb_preamble=False) as server:
        _call(real_redis.port, "FLUSHALL")
        _call(server.port, "SET", "a", "1")
        _call(server.port, "SET", "b", "2")
        _call(server.port, "MIGRATE", "127.0.0.1", str(real_redis.port), "", "0", "1000",
              "KEYS", "a", "b")
        _call(server.port, "SET", "c", "3")
        _call(server.port, "MIGRATE", "127.0.0.1", str(real_redis.port), "c", "0", "1000",
              "COPY")
        _call(server.port, "RESTORE", "r", "100000", _payload(server.port, "c"))
        _call(server.port, "SET", "gone", "x")
        # an already expired RESTORE ... REPLACE deletes the old key: logged as DEL
        assert _call(server.port, "RESTORE", "gone", "1", _payload(server.port, "c"),
                     "ABSTTL", "REPLACE") == b"+OK\r\n"
        data = open(aof_files(workdir)[-1], "rb").read()
    assert b"*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n" in data
    assert data.count(b"MIGRATE") == 0
    restore = data[data.index(b"RESTORE"):]
    assert b"ABSTTL" in restore and b"100000\r\n" not in restore
    assert data.endswith(b"*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n")
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert _call(server.port, "MGET", "a", "b", "c", "r", "gone") == (
            b"*5\r\n$-1\r\n$-1\r\n$1\r\n3\r\n$1\r\n3\r\n$-1\r\n")
        assert 0 < int(_call(server.port, "PTTL", "r")[1:-2]) <= 100000
        paths = aof_files(workdir)
    replayed = RedisProcess(find_redis_server())     # Redis replays our log the same way
    try:
        pipe_into(replayed.port, paths)
        assert _call(replayed.port, "MGET", "a", "b", "c", "r", "gone") == (
            b"*5\r\n$-1\r\n$-1\r\n$1\r\n3\r\n$1\r\n3\r\n$-1\r\n")
        assert 0 < int(_call(replayed.port, "PTTL", "r")[1:-2]) <= 100000
    finally:
        replayed.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def _payload(port, key):
    return parse_raw(_call(port, "DUMP", key))[1]


def _migrations_seen_by_a_target(source_port: int) -> list:
    """MIGRATEs from ``source_port`` to a fresh redis-server, and what each shows: the
    source's migrate_cached_sockets, and the connections and SELECTs the target got."""
    import re
    target = RedisProcess(find_redis_server())
    observer = RawConnection(target.port)
    source = RawConnection(source_port)

    def seen() -> tuple:
        stats = observer.call("INFO", "all").decode()
        connections = int(re.search(r"total_connections_received:(\d+)", stats).group(1))
        select = re.search(r"cmdstat_select:calls=(\d+)", stats)
        cached = source.call("INFO", "stats").decode()
        return (connections, int(select.group(1)) if select else 0,
                int(re.search(r"migrate_cached_sockets:(\d+)", cached).group(1)))

    def migrate(key: str, db: int) -> bytes:
        return source.call("MIGRATE", "127.0.0.1", str(target.port), key, str(db), "2000")

    try:
        source.call("FLUSHALL")
        for key in "abcdefg":
            source.call("SET", key, key)
        observer.call("SET", "d", "taken")
        steps = [seen()]
        for key, db in (("a", 0), ("b", 0), ("c", 1), ("d", 0), ("e", 0)):
            steps.append((key, db, migrate(key, db), seen()))
        # The target drops the cached connection: the next MIGRATE reconnects at once.
        observer.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        steps.append(("f", 0, migrate("f", 0), seen()))
        steps.append(("g", 2, migrate("g", 2), seen()))
        return steps
    finally:
        source.close()
        observer.close()
        target.stop()


def test_migrate_caches_its_connection_as_redis(real_redis, tmp_path):
    """Redis keeps MIGRATE's connection to a target (INFO migrate_cached_sockets) and
    sends SELECT only when the database differs from the last successful MIGRATE's
    there; a target's error forces it next time; a connection the target closed is
    replaced without an error. (Fresh sources: others' MIGRATEs are cached too.)"""
    redis_source = RedisProcess(find_redis_server())
    mini_source = Server(port=0, dir=str(tmp_path))
    mini_source.start()
    try:
        steps = {kind: _migrations_seen_by_a_target(port)
                 for kind, port in (("redis", redis_source.port),
                                    ("miniredis", mini_source.port))}
    finally:
        redis_source.stop()
        mini_source.stop()
    assert steps["miniredis"] == steps["redis"]
    assert steps["redis"][-1][2] == b"+OK\r\n"


def test_idle_migrate_connections_are_closed_after_ten_seconds(monkeypatch):
    """migrateCloseTimedoutSockets: unused for more than 10 seconds, closed."""
    import socket
    from miniredis import migratecache
    now = [1000.0]
    monkeypatch.setattr(migratecache.time, "time", lambda: now[0])
    cache = migratecache.MigrateSockets()
    first, second = socket.socketpair()
    try:
        cache.add(b"127.0.0.1:1", first)
        now[0] += 10
        cache.close_idle()
        assert len(cache) == 1
        now[0] += 1
        cache.close_idle()
        assert len(cache) == 0 and first.fileno() == -1
    finally:
        first.close()
        second.close()
