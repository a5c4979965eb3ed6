"""miniredis as a replica of a real redis-server (REPLICAOF, issue 16 part 2).

Each test starts its own redis-server master (and, for differential checks, a real
redis-server replica of the same master) on free ports, and its own miniredis.
Datasets are compared key by key on every database: DUMP payloads, TTLs within a
second.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from miniredis import Server
from tests.harness import (RawConnection, RedisProcess, free_port, parse_raw,
                           redis_server_or_skip, wait_serving)


# -- helpers ---------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """parse_raw's (kind, body) pairs as plain values: bytes (an error's text too),
    ints, None, lists (a map as its flat list)."""
    kind, body = value
    if kind == b":":
        return int(body)
    if isinstance(body, tuple):
        if kind == b"%":
            return [plain(item) for pair in body for item in pair]
        return [plain(item) for item in body]
    return body


def decode(raw: bytes) -> Any:
    return plain(parse_raw(raw))


def call(port: int, *args: Any) -> Any:
    conn = RawConnection(port)
    try:
        return decode(conn.call(*args))
    finally:
        conn.close()


def info(port: int, section: str = "replication") -> Dict[str, str]:
    text = call(port, "INFO", section).decode()
    fields = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            name, _, value = line.partition(":")
            fields[name] = value
    return fields


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0,
               what: str = "condition") -> Any:
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.05)


def link_up(port: int) -> bool:
    return info(port).get("master_link_status") == "up"


def caught_up(master: int, replica: int) -> bool:
    """The replica applied everything the master produced so far."""
    want = int(info(master)["master_repl_offset"])
    fields = info(replica)
    return fields.get("master_link_status") == "up" \
        and int(fields.get("slave_repl_offset", -1)) == want


def wait_caught_up(master: int, replica: int, timeout: float = 30.0) -> None:
    wait_until(lambda: caught_up(master, replica), timeout, "the replica to catch up")


def dataset(port: int, databases: int = 16) -> Dict[Tuple[int, bytes], Tuple[bytes, int]]:
    """(db, key) -> (DUMP payload, PTTL) for every key of every database."""
    conn = RawConnection(port)
    out = {}
    try:
        for db in range(databases):
            conn.call("SELECT", db)
            cursor = b"0"
            keys: List[bytes] = []
            while True:
                cursor, batch = decode(conn.call("SCAN", cursor, "COUNT", 1000))
                keys.extend(batch)
                if cursor == b"0":
                    break
            for key in keys:
                dump = decode(conn.call("DUMP", key))
                ttl = decode(conn.call("PTTL", key))
                out[(db, key)] = (dump, ttl)
    finally:
        conn.close()
    return out


def logical(port: int, db: int, key: bytes) -> Any:
    """A key's content read through commands (compared when DUMP encodings differ)."""
    conn = RawConnection(port)
    try:
        conn.call("SELECT", db)
        kind = decode(conn.call("TYPE", key))
        if kind == b"string":
            return kind, decode(conn.call("GET", key))
        if kind == b"list":
            return kind, decode(conn.call("LRANGE", key, 0, -1))
        if kind == b"hash":
            return kind, sorted(_pairs(decode(conn.call("HGETALL", key))))
        if kind == b"set":
            return kind, sorted(decode(conn.call("SMEMBERS", key)))
        if kind == b"zset":
            return kind, decode(conn.call("ZRANGE", key, 0, -1, "WITHSCORES"))
        if kind == b"stream":
            groups = decode(conn.call("XINFO", "GROUPS", key))
            pending = []
            for group in groups:
                name = dict(_pairs(group))[b"name"]
                entries = decode(conn.call("XPENDING", key, name, "-", "+", 1000))
                # id, consumer, delivery count (not the idle time)
                pending.append([entry[:2] + entry[3:] for entry in entries])
            return kind, decode(conn.call("XRANGE", key, "-", "+")), groups, pending
        return kind, None
    finally:
        conn.close()


def _pairs(flat: List[Any]) -> List[Tuple[Any, Any]]:
    return list(zip(flat[0::2], flat[1::2]))


def assert_same_dataset(master: int, replica: int, oracle: Optional[int] = None) -> None:
    """The replica holds the master's keys, each with the value and TTL (within a
    second) that ``oracle`` (a real redis-server replica of the same master; else the
    master itself) holds: Redis 7.0's own replicas differ from their master in one
    place, a consumer group's entries-read, which XREADGROUP does not propagate."""
    want = dataset(master)
    got = dataset(replica)
    assert sorted(got) == sorted(want)
    if oracle is not None:
        want = dataset(oracle)
        assert sorted(got) == sorted(want)
    source = oracle if oracle is not None else master
    for place, (dump, ttl) in want.items():
        other_dump, other_ttl = got[place]
        if other_dump != dump:      # another valid encoding of the same value
            assert logical(replica, *place) == logical(source, *place), place
        if ttl < 0:
            assert other_ttl == ttl, place
        else:
            assert abs(other_ttl - ttl) <= 1000, (place, ttl, other_ttl)


def mixed_load(port: int, rounds: int = 30) -> None:
    """Writes of every type on several databases: TTLs, blocking pops served, Lua,
    MULTI, FCALL, streams with consumer groups and pending entries, SPOP."""
    conn = RawConnection(port)
    waiter = RawConnection(port)
    try:
        conn.call("FUNCTION", "LOAD", "REPLACE", "#!lua name=replib\n"
                  "redis.register_function('bump', function(keys, args) "
                  "return redis.call('INCRBY', keys[1], args[1]) end)")
        for db in (0, 3, 7):
            conn.call("SELECT", db)
            waiter.call("SELECT", db)
            for i in range(rounds):
                conn.call("SET", "s:%d" % i, "v%d" % i)
                conn.call("SET", "ttl:%d" % i, "x", "EX", 100 + i)
                conn.call("PEXPIRE", "s:%d" % (i // 2), 50000 + i)
                conn.call("INCRBYFLOAT", "f", "1.5")
                conn.call("RPUSH", "list", *["e%d" % j for j in range(i % 5 + 1)])
                conn.call("LPOP", "list")
                conn.call("HSET", "h:%d" % (i % 4), "f%d" % i, i)
                conn.call("HINCRBYFLOAT", "h:0", "float", "0.25")
                conn.call("SADD", "set", *["m%d" % j for j in range(i % 7 + 1)])
                conn.call("SPOP", "set")
                conn.call("ZADD", "z", str(i * 1.5), "z%d" % i)
                conn.call("ZINCRBY", "z", 2, "z%d" % (i // 2))
                conn.call("XADD", "st", "*", "n", i)
                conn.call("EVAL", "redis.call('SET', KEYS[1], ARGV[1]) "
                          "return redis.call('INCR', KEYS[2])", 2, "lua:%d" % i, "c",
                          "val%d" % i)
                conn.call("FCALL", "bump", 1, "fn", i)
                conn.send("MULTI")
                conn.send("INCR", "multi")
                conn.send("LPUSH", "ml", i)
                conn.send("EXEC")
                for _ in range(4):
                    conn.read_raw()
            conn.call("XGROUP", "DESTROY", "st", "g1")
            conn.call("XGROUP", "CREATE", "st", "g1", "0")
            conn.call("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 5, "STREAMS", "st", ">")
            conn.call("XREADGROUP", "GROUP", "g1", "bob", "COUNT", 3, "STREAMS", "st", ">")
            conn.call("XACK", "st", "g1", decode(conn.call("XRANGE", "st", "-", "+",
                                                              "COUNT", 1))[0][0])
            conn.call("XCLAIM", "st", "g1", "carol", 0,
                      decode(conn.call("XRANGE", "st", "-", "+", "COUNT", 2))[1][0])
            # a blocking pop served by a later push
            conn.call("DEL", "bl")
            waiter.send("BLPOP", "bl", 10)
            time.sleep(0.05)
            conn.call("RPUSH", "bl", "one", "two")
            assert decode(waiter.read_raw()) == [b"bl", b"one"]
            conn.call("SET", "gone", "1", "PX", 1)
            conn.call("SET", "kept", "1", "PX", 60000)
            conn.call("PERSIST", "kept")
            time.sleep(0.01)
            conn.call("GET", "gone")        # expired on access: propagated as DEL
    finally:
        conn.close()
        waiter.close()


def preload(port: int) -> None:
    """Data present before the replica attaches (arrives through the RDB)."""
    conn = RawConnection(port)
    try:
        conn.call("FUNCTION", "LOAD", "#!lua name=prelib\n"
                  "redis.register_function('pre', function(keys, args) return 1 end)")
        for db in (0, 5):
            conn.call("SELECT", db)
            for i in range(200):
                conn.call("SET", "pre:%d" % i, "value-%d" % i)
            conn.call("SET", "big", "x" * 100000)
            conn.call("SET", "volatile", "v", "EX", 500)
            conn.call("RPUSH", "prelist", *range(300))
            conn.call("HSET", "prehash", *[x for i in range(200) for x in ("f%d" % i, i)])
            conn.call("SADD", "preints", *range(100))
            conn.call("SADD", "prestrs", *["s%d" % i for i in range(200)])
            conn.call("ZADD", "prez", *[x for i in range(150) for x in (i, "m%d" % i)])
            for i in range(20):
                conn.call("XADD", "prestream", "*", "i", i)
            conn.call("XGROUP", "CREATE", "prestream", "grp", "0")
            conn.call("XREADGROUP", "GROUP", "grp", "c1", "COUNT", 7, "STREAMS",
                      "prestream", ">")
    finally:
        conn.close()


# Redis's default waits 5 s for more replicas before a diskless full sync.
NO_SYNC_DELAY = ["--repl-diskless-sync-delay", "0"]


def redis_on_port(executable: str, port: int, extra: List[str] = ()) -> RedisProcess:
    """A real redis-server on ``port`` (a master that goes away and comes back)."""
    import tempfile
    proc = RedisProcess.__new__(RedisProcess)
    proc.dir = tempfile.mkdtemp(prefix="real-redis-")
    proc.port = port
    proc.proc = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--dir", proc.dir, "--enable-debug-command", "yes",
         "--repl-diskless-sync-delay", "0", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_serving(proc.proc, port, 10, "redis-server")
    return proc


@pytest.fixture
def redis_exe() -> str:
    return redis_server_or_skip()


@pytest.fixture
def master(redis_exe, tmp_path):
    proc = RedisProcess(redis_exe, ["--repl-diskless-sync-delay", "0",
                                    "--logfile", str(tmp_path / "master.log")])
    proc.log = tmp_path / "master.log"
    yield proc
    proc.stop()


@pytest.fixture
def real_replica(redis_exe, master):
    """A real redis-server to make a replica of ``master`` (with ``attach``) when
    ours is: the oracle for what a replica holds."""
    proc = RedisProcess(redis_exe)
    yield proc
    proc.stop()


@pytest.fixture
def replica(tmp_path):
    server = Server(port=0, dir=str(tmp_path), quiet=not os.environ.get("MINI_LOG"))
    server.start()
    yield server
    server.stop()


def attach(replica_port: int, master_port: int) -> None:
    assert call(replica_port, "REPLICAOF", "127.0.0.1", master_port) == b"OK"
    wait_until(lambda: link_up(replica_port), 20, "the link to come up")


# -- full synchronisation and the stream -----------------------------------------------
@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_full_sync_then_stream_of_every_type(master, replica, real_replica, diskless):
    call(master.port, "CONFIG", "SET", "repl-diskless-sync", diskless)
    preload(master.port)
    attach(replica.port, master.port)
    attach(real_replica.port, master.port)
    wait_caught_up(master.port, replica.port)
    wait_caught_up(master.port, real_replica.port)
    assert_same_dataset(master.port, replica.port, real_replica.port)
    assert call(replica.port, "FUNCTION", "LIST", "LIBRARYNAME", "prelib") != []
    mixed_load(master.port)
    wait_caught_up(master.port, replica.port)
    wait_caught_up(master.port, real_replica.port)
    assert_same_dataset(master.port, replica.port, real_replica.port)
    # functions came with the RDB (a writing one refused, as by a real replica)
    assert call(replica.port, "FCALL_RO", "pre", 0) == \
        call(real_replica.port, "FCALL_RO", "pre", 0) == \
        b"READONLY You can't write against a read only replica."
    link = replica.state.repl.link
    assert (link.full_syncs, link.partial_syncs) == (1, 0)     # no resync meanwhile
    # Offsets agree: the replica counts every byte of the stream, PINGs included.
    fields = info(replica.port)
    assert fields["master_replid"] == info(master.port)["master_replid"]
    assert fields["master_repl_offset"] == fields["slave_repl_offset"]


def test_acks_reach_the_master(master, replica):
    attach(replica.port, master.port)
    call(master.port, "SET", "k", "v")
    wait_caught_up(master.port, replica.port)
    want = int(info(master.port)["master_repl_offset"])
    # REPLCONF ACK every second: the master sees the replica's offset...
    wait_until(lambda: "offset=%d," % want in info(master.port)["slave0"], 5,
               "an ACK with the current offset")
    # ... and WAIT counts it (REPLCONF GETACK is answered at once).
    call(master.port, "SET", "k2", "v")
    assert call(master.port, "WAIT", 1, 2000) == 1


def test_replica_sees_writes_through_a_diskless_master_with_a_delay(redis_exe, replica):
    proc = RedisProcess(redis_exe, ["--repl-diskless-sync", "yes",
                                    "--repl-diskless-sync-delay", "1"])
    try:
        call(proc.port, "SET", "before", "1")
        attach(replica.port, proc.port)
        call(proc.port, "SET", "after", "2")
        wait_caught_up(proc.port, replica.port)
        assert call(replica.port, "MGET", "before", "after") == [b"1", b"2"]
    finally:
        proc.stop()


# -- partial resynchronisation ---------------------------------------------------------
@pytest.mark.parametrize("side", ["master", "replica"])
def test_dropped_link_ends_in_partial_resync(master, replica, real_replica, side):
    preload(master.port)
    attach(replica.port, master.port)
    attach(real_replica.port, master.port)
    mixed_load(master.port, rounds=5)
    wait_caught_up(master.port, replica.port)
    before = info(master.port, "stats")
    wait_caught_up(master.port, real_replica.port)
    if side == "master":
        # both replicas lose the link (the real one resyncs partially too)
        assert call(master.port, "CLIENT", "KILL", "TYPE", "replica") == 2
        resyncs = 2
    else:
        assert call(replica.port, "CLIENT", "KILL", "TYPE", "master") == 1
        resyncs = 1
    # writes while the link is down are in the master's backlog
    for i in range(50):
        call(master.port, "SET", "during:%d" % i, i)
    mixed_load(master.port, rounds=3)
    wait_until(lambda: int(info(master.port, "stats")["sync_partial_ok"])
               == int(before["sync_partial_ok"]) + resyncs, 20, "a partial resync")
    wait_caught_up(master.port, replica.port)
    wait_caught_up(master.port, real_replica.port)
    after = info(master.port, "stats")
    assert after["sync_full"] == before["sync_full"], master.log.read_text()
    assert_same_dataset(master.port, replica.port, real_replica.port)
    link = replica.state.repl.link
    assert (link.full_syncs, link.partial_syncs) == (1, 1)


def test_master_restart_without_backlog_ends_in_full_resync(redis_exe, replica):
    port = free_port()
    proc = redis_on_port(redis_exe, port)
    try:
        call(proc.port, "SET", "a", "1")
        attach(replica.port, proc.port)
        wait_caught_up(proc.port, replica.port)
    finally:
        proc.stop()
    wait_until(lambda: info(replica.port)["master_link_status"] == "down", 10, "link down")
    assert call(replica.port, "GET", "a") == b"1"       # stale data is served
    assert int(info(replica.port)["master_link_down_since_seconds"]) >= 0
    proc = redis_on_port(redis_exe, port)
    try:
        call(proc.port, "SET", "b", "2")
        wait_caught_up(proc.port, replica.port)
        assert call(replica.port, "MGET", "a", "b") == [None, b"2"]
        assert info(proc.port, "stats")["sync_full"] == "1"
    finally:
        proc.stop()


# -- promotion -------------------------------------------------------------------------
def test_replicaof_no_one_promotes(master, replica):
    preload(master.port)
    attach(replica.port, master.port)
    call(master.port, "SET", "k", "v")
    wait_caught_up(master.port, replica.port)
    old = info(replica.port)
    assert call(replica.port, "SET", "x", "1").startswith(b"READONLY")
    assert call(replica.port, "REPLICAOF", "NO", "ONE") == b"OK"
    new = info(replica.port)
    assert new["role"] == "master"
    assert new["master_replid2"] == old["master_replid"]
    assert new["master_replid"] != old["master_replid"]
    assert int(new["second_repl_offset"]) == int(old["master_repl_offset"]) + 1
    assert call(replica.port, "SET", "x", "1") == b"OK"
    assert call(replica.port, "GET", "k") == b"v"
    assert call(replica.port, "DBSIZE") == call(master.port, "DBSIZE") + 1
    # As Redis: the promoted server keeps its backlog, so its own writes now advance
    # master_repl_offset (SELECT + SET here).
    after = int(info(replica.port)["master_repl_offset"])
    assert after > int(new["master_repl_offset"])
    assert call(replica.port, "ROLE") == [b"master", after, []]
    assert call(replica.port, "CONFIG", "GET", "replicaof") == [b"replicaof", b""]
    # the master no longer counts it
    wait_until(lambda: info(master.port)["connected_slaves"] == "0", 10, "detach")
    call(master.port, "SET", "k", "changed")
    time.sleep(0.3)
    assert call(replica.port, "GET", "k") == b"v"


def test_promoted_replica_keeps_expiring_keys(master, replica):
    attach(replica.port, master.port)
    call(master.port, "SET", "short", "1", "PX", 300)
    wait_caught_up(master.port, replica.port)
    call(replica.port, "REPLICAOF", "NO", "ONE")
    time.sleep(0.5)
    # the promoted server expires keys itself again (actively: DBSIZE drops)
    wait_until(lambda: call(replica.port, "DBSIZE") == 0, 5, "active expiry")


def test_switching_masters(redis_exe, replica):
    one = RedisProcess(redis_exe, NO_SYNC_DELAY)
    two = RedisProcess(redis_exe, NO_SYNC_DELAY)
    try:
        call(one.port, "SET", "from", "one")
        call(two.port, "SET", "from", "two")
        attach(replica.port, one.port)
        wait_caught_up(one.port, replica.port)
        assert call(replica.port, "GET", "from") == b"one"
        assert call(replica.port, "REPLICAOF", "127.0.0.1", one.port) == \
            b"OK Already connected to specified master"
        call(replica.port, "REPLICAOF", "127.0.0.1", two.port)
        wait_caught_up(two.port, replica.port)
        assert call(replica.port, "GET", "from") == b"two"
        assert info(replica.port)["master_port"] == str(two.port)
    finally:
        one.stop()
        two.stop()


# -- the master client -----------------------------------------------------------------
def test_master_client_in_client_list(master, replica):
    attach(replica.port, master.port)
    listing = call(replica.port, "CLIENT", "LIST", "TYPE", "master").decode()
    assert listing.count("\n") == 1 and "flags=M" in listing
    assert "addr=127.0.0.1:%d " % master.port in listing
    assert call(replica.port, "CLIENT", "LIST", "TYPE", "normal").decode().count(
        "flags=M") == 0
    assert call(replica.port, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes") == 0
    role = call(replica.port, "ROLE")
    assert role[:4] == [b"slave", b"127.0.0.1", master.port, b"connected"]
    assert role[4] == int(info(replica.port)["slave_repl_offset"])
    hello = call(replica.port, "HELLO", "2")
    assert hello[hello.index(b"role") + 1] == b"slave"


def test_replicaof_nothing_listening_retries_without_blocking(replica):
    port = free_port()
    assert call(replica.port, "REPLICAOF", "127.0.0.1", port) == b"OK"
    started = time.time()
    for _ in range(20):
        assert call(replica.port, "PING") == b"PONG"
    assert time.time() - started < 2
    role = call(replica.port, "ROLE")
    assert role[0] == b"slave" and role[3] in (b"connect", b"connecting") and role[4] == -1
    fields = info(replica.port)
    assert fields["master_link_status"] == "down"
    assert fields["master_link_down_since_seconds"] == "-1"
    # Keeps trying: once something listens there, the link comes up.
    exe = redis_server_or_skip()
    time.sleep(1.2)
    proc = redis_on_port(exe, port)
    try:
        call(proc.port, "SET", "late", "1")
        wait_caught_up(proc.port, replica.port)
        assert call(replica.port, "GET", "late") == b"1"
    finally:
        proc.stop()


# -- configuration ---------------------------------------------------------------------
def test_replicaof_keyword_argument(master):
    call(master.port, "SET", "k", "v")
    with Server(port=0, replicaof="127.0.0.1 %d" % master.port) as server:
        wait_caught_up(master.port, server.port)
        assert call(server.port, "GET", "k") == b"v"
        assert call(server.port, "CONFIG", "GET", "replicaof") == \
            [b"replicaof", b"127.0.0.1 %d" % master.port]


@pytest.mark.parametrize("where", ["file", "command line"])
def test_replicaof_in_the_config_file_and_rewrite(master, tmp_path, where):
    call(master.port, "SET", "k", "from-file")
    port = free_port()
    conf = tmp_path / "replica.conf"
    if where == "file":
        conf.write_text("port %d\nslaveof 127.0.0.1 %d\nsave \"\"\ndir %s\n"
                        % (port, master.port, tmp_path))
        extra: List[str] = []
    else:
        conf.write_text("port %d\nsave \"\"\ndir %s\n" % (port, tmp_path))
        extra = ["--replicaof", "127.0.0.1 %d" % master.port]
    proc = subprocess.Popen([sys.executable, "-m", "miniredis", str(conf), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_serving(proc, port, 20, "miniredis")
        wait_until(lambda: _answers(port), 20, "miniredis to start")
        wait_caught_up(master.port, port)
        assert call(port, "GET", "k") == b"from-file"
        assert call(port, "CONFIG", "REWRITE") == b"OK"
        lines = conf.read_text().splitlines()
        assert "replicaof 127.0.0.1 %d" % master.port in lines
        assert not [line for line in lines if line.startswith("slaveof")]
        call(port, "REPLICAOF", "NO", "ONE")
        assert call(port, "CONFIG", "REWRITE") == b"OK"
        assert not [line for line in conf.read_text().splitlines()
                    if line.startswith(("replicaof", "slaveof"))]
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(port: int) -> bool:
    try:
        return call(port, "PING") == b"PONG"
    except OSError:
        return False


def test_masterauth_and_masteruser(redis_exe, replica):
    proc = RedisProcess(redis_exe, ["--requirepass", "s3cret", *NO_SYNC_DELAY])
    try:
        conn = RawConnection(proc.port)
        conn.call("AUTH", "s3cret")
        conn.call("ACL", "SETUSER", "repl", "on", ">replpass", "+psync", "+replconf",
                  "+ping")
        conn.call("SET", "k", "v")
        # wrong password: the link stays down and keeps retrying
        call(replica.port, "CONFIG", "SET", "masterauth", "wrong")
        call(replica.port, "REPLICAOF", "127.0.0.1", proc.port)
        time.sleep(1.5)
        assert info(replica.port)["master_link_status"] == "down"
        call(replica.port, "CONFIG", "SET", "masteruser", "repl")
        call(replica.port, "CONFIG", "SET", "masterauth", "replpass")
        wait_until(lambda: link_up(replica.port), 10, "AUTH as masteruser")
        wait_until(lambda: call(replica.port, "GET", "k") == b"v", 10, "the data")
        conn.close()
    finally:
        proc.stop()


# -- the replica's own AOF -------------------------------------------------------------
def test_replica_aof_holds_what_it_applied(master, tmp_path):
    preload(master.port)
    directory = tmp_path / "aofreplica"
    directory.mkdir()
    with Server(port=0, dir=str(directory), appendonly="yes") as server:
        attach(server.port, master.port)
        mixed_load(master.port, rounds=5)
        wait_caught_up(master.port, server.port)
        wait_until(lambda: info(server.port, "persistence")["aof_rewrite_in_progress"]
                   == "0", 20, "the AOF rewrite after the sync")
        expected = {place: logical(server.port, *place) for place in dataset(server.port)}
    with Server(port=0, dir=str(directory), appendonly="yes") as restarted:
        got = {place: logical(restarted.port, *place) for place in dataset(restarted.port)}
    assert len(got) > 400 and got == expected


def test_clients_get_loading_while_the_rdb_loads(master, replica):
    """Loading the master's RDB yields to the event loop every 1024 keys: clients
    are answered -LOADING meanwhile (commands with the loading flag run)."""
    call(master.port, "DEBUG", "POPULATE", 200000)
    call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
    conn = RawConnection(replica.port)
    replies, infos = set(), set()
    deadline = time.time() + 60
    while time.time() < deadline:
        replies.add(conn.call("GET", "key:1"))
        infos.add(info(replica.port, "persistence")["loading"])
        if replies and b"$7\r\nvalue:1\r\n" in replies:
            break
    conn.close()
    assert b"-LOADING Redis is loading the dataset in memory\r\n" in replies
    assert replies <= {b"-LOADING Redis is loading the dataset in memory\r\n",
                       b"$-1\r\n", b"$7\r\nvalue:1\r\n"}
    assert "1" in infos
    wait_caught_up(master.port, replica.port)
    assert call(replica.port, "DBSIZE") == 200000


def test_announced_address_and_port(master, replica):
    call(replica.port, "CONFIG", "SET", "replica-announce-ip", "10.1.2.3")
    call(replica.port, "CONFIG", "SET", "replica-announce-port", "4321")
    attach(replica.port, master.port)
    wait_until(lambda: "ip=10.1.2.3,port=4321," in info(master.port).get("slave0", ""), 10,
               "the announced address on the master")


def test_blocked_reader_on_the_replica_served_by_the_stream(master, replica):
    attach(replica.port, master.port)
    reader = RawConnection(replica.port)
    try:
        reader.send("XREAD", "BLOCK", 5000, "STREAMS", "events", "$")
        reader.send("BLPOP", "q", 1)    # a write command: refused on a read-only replica
        time.sleep(0.2)
        call(master.port, "XADD", "events", "1-1", "f", "v")
        assert decode(reader.read_raw()) == [[b"events", [[b"1-1", [b"f", b"v"]]]]]
        assert reader.read_raw() == b"-READONLY You can't write against a read only " \
                                    b"replica.\r\n"
    finally:
        reader.close()


def test_replica_ignores_maxmemory_and_counts_replication_input(master, replica):
    call(master.port, "DEBUG", "POPULATE", 5000, "key", 100)    # (not propagated)
    attach(replica.port, master.port)
    call(replica.port, "CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    call(replica.port, "CONFIG", "SET", "maxmemory", "100kb")
    call(master.port, "SET", "one-more", "x")
    wait_caught_up(master.port, replica.port)
    assert call(replica.port, "GET", "one-more") == b"x"    # a client's command...
    assert call(replica.port, "DBSIZE") == 5001       # ... evicts nothing on a replica
    call(replica.port, "CONFIG", "SET", "replica-ignore-maxmemory", "no")
    call(replica.port, "GET", "one-more")
    assert call(replica.port, "DBSIZE") < 5001        # (unless told not to ignore it)
    assert int(info(replica.port, "stats")["total_net_repl_input_bytes"]) > 5000 * 20
    call(replica.port, "CONFIG", "SET", "maxmemory", "0")


def test_failover_to_a_promoted_sibling_is_a_partial_resync(master, replica, real_replica):
    """PSYNC2: the replica asks the promoted sibling for the old master's history
    (its replid2) and continues without a full sync, as Sentinel's failover needs."""
    preload(master.port)
    attach(replica.port, master.port)
    attach(real_replica.port, master.port)
    mixed_load(master.port, rounds=3)
    wait_caught_up(master.port, replica.port)
    wait_caught_up(master.port, real_replica.port)
    old_id = info(master.port)["master_replid"]
    assert call(real_replica.port, "REPLICAOF", "NO", "ONE") == b"OK"
    assert info(real_replica.port)["master_replid2"] == old_id
    call(replica.port, "REPLICAOF", "127.0.0.1", real_replica.port)
    wait_until(lambda: info(real_replica.port, "stats")["sync_partial_ok"] == "1", 20,
               "a partial resync with the promoted sibling")
    assert info(real_replica.port, "stats")["sync_full"] == "0"
    call(real_replica.port, "SET", "after-failover", "1")
    wait_caught_up(real_replica.port, replica.port)
    assert call(replica.port, "GET", "after-failover") == b"1"
    fields = info(replica.port)
    assert fields["master_replid"] == info(real_replica.port)["master_replid"]
    assert fields["master_replid2"] == old_id
    assert_same_dataset(real_replica.port, replica.port)
