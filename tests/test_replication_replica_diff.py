"""A miniredis replica against a real redis-server replica of the same master: the
same commands get byte-identical replies (READONLY, MASTERDOWN, scripts, MULTI), and
INFO replication / ROLE have the same shape, with the link up and down."""
from __future__ import annotations

import time
from typing import Dict, List

import pytest

from miniredis import Server
from tests.harness import (Differ, RawConnection, RedisProcess, free_port,
                           redis_server_or_skip)
from tests.test_replication_replica import (call, info, link_up, redis_on_port,
                                            wait_caught_up, wait_until)

_FUNCTIONS = ("#!lua name=difflib\n"
              "redis.register_function('wr', function(keys, args) "
              "return redis.call('SET', keys[1], 'x') end)\n"
              "redis.register_function{function_name='rd', callback=function(keys, args) "
              "return redis.call('GET', keys[1]) end, flags={'no-writes'}}\n"
              "redis.register_function{function_name='stale', callback=function(keys, args) "
              "return redis.call('GET', keys[1]) end, flags={'no-writes', 'allow-stale'}}")


@pytest.fixture
def pair(tmp_path):
    """(master, real replica, miniredis replica, Differ(real replica, miniredis)). The
    master listens on a fixed port so a test can stop it and start it again."""
    exe = redis_server_or_skip()
    port = free_port()
    master = redis_on_port(exe, port, ["--repl-diskless-sync-delay", "0"])
    call(port, "FUNCTION", "LOAD", _FUNCTIONS)
    conn = RawConnection(port)
    conn.call("SELECT", 9)          # the database Differ's connections use
    conn.call("SET", "k", "v")
    conn.close()
    real = RedisProcess(exe, ["--replicaof", "127.0.0.1 %d" % port])
    mini = Server(port=0, dir=str(tmp_path))
    mini.start()
    call(mini.port, "REPLICAOF", "127.0.0.1", port)
    try:
        wait_until(lambda: link_up(real.port) and link_up(mini.port), 20, "both links")
        yield master, real, mini, Differ(real.port, mini.port)
    finally:
        mini.stop()
        real.stop()
        master.stop()


_READ_ONLY_CASES = [
    "SET a 1", "GET k", "DEL k", "INCR n", "EXPIRE k 10", "FLUSHALL", "FLUSHDB",
    "LPUSH l x", "BLPOP nolist 0.01", "XADD s * a 1", "PUBLISH ch m", "SELECT 3",
    "EVAL \"return redis.call('SET', KEYS[1], 'x')\" 1 a",
    "EVAL \"return redis.call('GET', KEYS[1])\" 1 k",
    "EVAL \"return redis.pcall('SET', KEYS[1], 'x')\" 1 a",
    "EVAL \"#!lua\nreturn redis.call('GET', KEYS[1])\" 1 k",
    "EVAL \"#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])\" 1 k",
    "EVAL \"#!lua flags=no-writes\nreturn redis.call('SET', KEYS[1], 1)\" 1 k",
    "EVAL_RO \"return redis.call('SET', KEYS[1], 'x')\" 1 a",
    "FCALL wr 1 a", "FCALL rd 1 k", "FCALL_RO wr 1 a", "FCALL_RO rd 1 k",
    "FUNCTION FLUSH", "FUNCTION DELETE difflib", "SCRIPT FLUSH", "CONFIG SET maxmemory 0",
]


def test_read_only_replica_refusals(pair):
    _, _, _, differ = pair
    differ.check(*_READ_ONLY_CASES)


def test_read_only_inside_multi(pair):
    _, _, _, differ = pair
    differ.check("MULTI", "GET k", "SET a 1", "EXEC")
    differ.check("MULTI", "GET k", "INCR n", "PING", "EXEC")
    differ.check("MULTI", "GET k", "EVAL \"return redis.call('SET', KEYS[1], 1)\" 1 a",
                 "EXEC")


def test_writable_replica(pair):
    _, real, mini, differ = pair
    for port in (real.port, mini.port):
        assert call(port, "CONFIG", "SET", "replica-read-only", "no") == b"OK"
    differ.check("SET a 1", "GET a", "EVAL \"return redis.call('INCR', KEYS[1])\" 1 a",
                 "FCALL wr 1 b", "GET b", "MULTI", "INCR a", "EXEC",
                 "CONFIG GET replica-read-only")
    assert info(mini.port)["slave_read_only"] == "0"


def test_stale_data_refusals_while_the_link_is_down(pair):
    master, real, mini, differ = pair
    for port in (real.port, mini.port):
        assert call(port, "CONFIG", "SET", "replica-serve-stale-data", "no") == b"OK"
    # link up: served
    differ.check("GET k", "DBSIZE", "EVAL \"return 1\" 0")
    master.stop()
    wait_until(lambda: not link_up(real.port) and not link_up(mini.port), 20,
               "both links down")
    differ.check("GET k", "DBSIZE", "SET a 1", "PING", "INFO nosuchsection", "ECHO x",
                 "CONFIG GET replica-serve-stale-data", "SUBSCRIBE ch")
    differ.check("MULTI", "GET k", "EXEC")
    differ.check("MULTI", "PING", "EXEC")
    differ.check("EVAL \"return 1\" 0", "EVAL \"return redis.call('GET', KEYS[1])\" 1 k",
                 "EVAL \"return redis.call('PING')\" 0",
                 "EVAL \"#!lua\nreturn 1\" 0",
                 "EVAL \"#!lua flags=no-writes,allow-stale\nreturn redis.call('GET', "
                 "KEYS[1])\" 1 k",
                 "FCALL rd 1 k", "FCALL stale 1 k", "FCALL_RO stale 1 k")
    # serve-stale-data yes again: stale data is served
    for port in (real.port, mini.port):
        call(port, "CONFIG", "SET", "replica-serve-stale-data", "yes")
    differ.check("GET k", "SET a 1")


def _fields(port: int) -> Dict[str, str]:
    return info(port)


def _shape(fields: Dict[str, str]) -> List[str]:
    return list(fields)


def test_info_and_role_match_a_real_replica(pair):
    master, real, mini, _ = pair
    call(master.port, "SET", "x", "1")
    wait_caught_up(master.port, real.port)
    wait_caught_up(master.port, mini.port)
    time.sleep(1.1)     # an ACK from each
    ours, theirs = _fields(mini.port), _fields(real.port)
    assert _shape(ours) == _shape(theirs)
    for name in ("role", "master_host", "master_port", "master_link_status",
                 "master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset",
                 "slave_priority", "slave_read_only", "replica_announced",
                 "connected_slaves", "master_replid", "master_repl_offset"):
        assert ours[name] == theirs[name], name
    role_real, role_mini = call(real.port, "ROLE"), call(mini.port, "ROLE")
    assert role_mini == role_real
    # the link down: the same fields again (master_link_down_since_seconds appears)
    master.stop()
    wait_until(lambda: not link_up(real.port) and not link_up(mini.port), 20, "links down")
    ours, theirs = _fields(mini.port), _fields(real.port)
    assert _shape(ours) == _shape(theirs)
    for name in ("master_link_status", "master_last_io_seconds_ago",
                 "slave_repl_offset", "slave_read_repl_offset"):
        assert ours[name] == theirs[name], name
    assert abs(int(ours["master_link_down_since_seconds"])
               - int(theirs["master_link_down_since_seconds"])) <= 1
    role_real, role_mini = call(real.port, "ROLE"), call(mini.port, "ROLE")
    assert role_mini[:3] == role_real[:3] and role_mini[4] == role_real[4] == -1
    assert role_mini[3] in (b"connect", b"connecting")
    # priority, announced flags
    for port in (real.port, mini.port):
        call(port, "CONFIG", "SET", "replica-priority", "7")
        call(port, "CONFIG", "SET", "replica-announced", "no")
    ours, theirs = _fields(mini.port), _fields(real.port)
    assert (ours["slave_priority"], ours["replica_announced"]) == \
        (theirs["slave_priority"], theirs["replica_announced"]) == ("7", "0")


def test_replicaof_errors_and_replies(pair):
    master, _, _, differ = pair
    differ.check("REPLICAOF", "REPLICAOF a", "REPLICAOF a b c", "SLAVEOF 127.0.0.1 abc",
                 "REPLICAOF 127.0.0.1 70000", "REPLICAOF 127.0.0.1 -1",
                 "REPLICAOF 127.0.0.1 %d" % master.port,
                 "SLAVEOF 127.0.0.1 %d" % master.port, "ROLE")


def test_role_replies_of_masters_and_no_one(differ):
    differ.check("REPLICAOF NO ONE", "SLAVEOF no one", "REPLICAOF 127.0.0.1 abc",
                 "ROLE", "CONFIG GET replicaof")


def test_blocked_clients_released_when_becoming_a_replica(tmp_path):
    exe = redis_server_or_skip()
    master = RedisProcess(exe, ["--repl-diskless-sync-delay", "0"])
    real = RedisProcess(exe)
    mini = Server(port=0, dir=str(tmp_path))
    mini.start()
    try:
        replies = []
        for port in (real.port, mini.port):
            blocked = RawConnection(port)
            blocked.send("BLPOP", "q", 0)
            time.sleep(0.2)
            call(port, "REPLICAOF", "127.0.0.1", master.port)
            replies.append(blocked.read_raw())
            replies.append(blocked.closed_by_peer())
            blocked.close()
        assert replies[0] == replies[2] and replies[0].startswith(b"-UNBLOCKED")
        assert replies[1] is replies[3] is True
    finally:
        mini.stop()
        real.stop()
        master.stop()


def test_expired_keys_on_a_replica(pair):
    """The replica never deletes a key itself: logically expired keys read as missing
    but stay counted until the master's DEL arrives."""
    master, real, mini, differ = pair
    call(master.port, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
    conn = RawConnection(master.port)
    conn.call("SELECT", 9)
    conn.call("SET", "short", "1", "PX", 200)
    conn.call("SET", "long", "1", "EX", 1000)
    conn.close()
    wait_caught_up(master.port, real.port)
    wait_caught_up(master.port, mini.port)
    time.sleep(0.4)
    checks = ["GET short", "EXISTS short", "TTL short", "DBSIZE", "TYPE short",
              "GET long"]
    for port in (real.port, mini.port):
        conn = RawConnection(port)
        conn.call("SELECT", 9)
        replies = [conn.call(*c.split()) for c in checks]
        conn.close()
        if port == real.port:
            expected = replies
    assert replies == expected
    assert _db9_size(mini.port) == 3       # k, short (logically expired) and long
    for command in (["KEYS", "*"], ["SCAN", 0]):
        found = [sorted(_in_db9(port, command)) for port in (real.port, mini.port)]
        assert found[0] == found[1] == [b"k", b"long"], command
    # the master expires it (on access): the DEL reaches both replicas
    conn = RawConnection(master.port)
    conn.call("SELECT", 9)
    assert conn.call("GET", "short") == b"$-1\r\n"
    conn.close()
    wait_caught_up(master.port, mini.port)
    wait_caught_up(master.port, real.port)
    assert _db9_size(mini.port) == _db9_size(real.port) == 2


def _in_db9(port: int, command: List[object]) -> List[bytes]:
    from tests.test_replication_replica import decode
    conn = RawConnection(port)
    conn.call("SELECT", 9)
    reply = decode(conn.call(*command))
    conn.close()
    return reply if command[0] == "KEYS" else reply[1]


def _db9_size(port: int) -> int:
    conn = RawConnection(port)
    conn.call("SELECT", 9)
    size = int(conn.call("DBSIZE")[1:-2])
    conn.close()
    return size


def test_sentinel_style_transactions(pair):
    """Sentinel reconfigures servers with MULTI / SLAVEOF / CONFIG REWRITE / CLIENT
    KILL TYPE normal / EXEC: the same replies, and the role switches."""
    master, real, mini, differ = pair
    differ.check("MULTI", "SLAVEOF NO ONE", "CONFIG REWRITE", "CLIENT KILL TYPE normal",
                 "EXEC", protocols=(2,))
    assert call(real.port, "ROLE")[0] == call(mini.port, "ROLE")[0] == b"master"
    differ.check("MULTI", "SLAVEOF 127.0.0.1 %d" % master.port, "CONFIG REWRITE",
                 "CLIENT KILL TYPE normal", "EXEC", protocols=(2,))
    wait_until(lambda: link_up(real.port) and link_up(mini.port), 20, "both links")


def test_writable_replica_keeps_keys_given_a_past_ttl(pair):
    """On a replica, EXPIRE/PEXPIREAT/GETEX/RESTORE with a time already past do not
    delete the key (Redis's checkAlreadyExpired): it stays, logically expired, until
    the master's DEL."""
    _, real, mini, differ = pair
    for port in (real.port, mini.port):
        assert call(port, "CONFIG", "SET", "replica-read-only", "no") == b"OK"
    # (Both servers also delete such keys once a second, Redis in expireSlaveKeys: a
    # tick falling inside the sequence changes a DBSIZE on one side only, so a
    # difference is retried before it counts.)
    for attempt in range(3):
        try:
            differ.check("SET a 1", "EXPIRE a -1", "GET a", "EXISTS a", "DBSIZE",
                         "SET b 1", "PEXPIREAT b 1000", "DBSIZE", "SET c 1",
                         "GETEX c PXAT 1", "DBSIZE", "TTL c", "SET d 1", "DUMP d")
            break
        except AssertionError:
            if attempt == 2:
                raise
            for port in (real.port, mini.port):     # (their replies may differ)
                conn = RawConnection(port)
                conn.call("SELECT", 9)
                conn.call("DEL", "a", "b", "c", "d")
                conn.close()
    dumped = RawConnection(mini.port)
    dumped.call("SELECT", 9)
    payload = dumped.call("DUMP", "d").split(b"\r\n", 1)[1][:-2]
    dumped.close()
    differ.check(["RESTORE", "e", "1000", payload, "ABSTTL"], "DBSIZE", "GET e")


def test_a_command_the_replica_cannot_run(pair):
    """DEBUG REPLICATE puts a command no replica knows in the stream: each replica
    counts an unexpected error reply (and logs "== CRITICAL ==") and goes on
    (propagation-error-behavior ignore, the default)."""
    master, real, mini, _ = pair
    assert call(master.port, "DEBUG", "REPLICATE", "fake-command-1") == b"OK"
    call(master.port, "SET", "after", "1")
    wait_caught_up(master.port, real.port)
    wait_caught_up(master.port, mini.port)
    for port in (real.port, mini.port):
        assert info(port, "stats")["unexpected_error_replies"] == "1"
        assert call(port, "GET", "after") == b"1"


def test_writable_replica_expiry(pair):
    """A writable replica expires the keys it gave a TTL itself (tracked:
    slave_expires_tracked_keys); a write to a key the master let expire starts a new
    key without the old TTL; a read of one sees nothing but keeps it."""
    master, real, mini, differ = pair
    call(master.port, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
    conn = RawConnection(master.port)
    conn.call("SELECT", 9)
    conn.call("SET", "key1", "5", "PX", 10)
    conn.call("SET", "key2", "5", "PX", 10)
    conn.close()
    wait_caught_up(master.port, real.port)
    wait_caught_up(master.port, mini.port)
    time.sleep(0.05)
    for port in (real.port, mini.port):
        assert call(port, "CONFIG", "SET", "replica-read-only", "no") == b"OK"
    checks = [["DBSIZE"], ["INCR", "key1"], ["TTL", "key1"], ["GET", "key2"], ["DBSIZE"],
              ["SET", "own1", "1", "PX", "100"], ["SET", "own2", "1", "PX", "100"],
              ["SET", "own3", "1"], ["EXPIRE", "own3", "100"], ["DBSIZE"]]
    replies = {}
    for port in (real.port, mini.port):
        conn = RawConnection(port)
        conn.call("SELECT", 9)
        replies[port] = [conn.call(*check) for check in checks]
        replies[port].append(info(port, "stats")["slave_expires_tracked_keys"])
        conn.close()
    time.sleep(0.5)
    for port in (real.port, mini.port):
        conn = RawConnection(port)
        conn.call("SELECT", 9)
        replies[port] += [conn.call("DBSIZE"), conn.call("EXISTS", "own3")]
        conn.close()
        replies[port].append(info(port, "stats")["slave_expires_tracked_keys"])
    assert replies[mini.port] == replies[real.port]
    assert replies[real.port][-3:] == [b":4\r\n", b":1\r\n", "1"]   # k key1 key2 own3


def test_bind_source_addr(tmp_path):
    """bind-source-addr: the replica connects to its master from that address (the
    master lists it as the replica's ip)."""
    exe = redis_server_or_skip()
    master = RedisProcess(exe, ["--protected-mode", "no"])
    real = RedisProcess(exe, ["--bind-source-addr", "127.0.0.2"])
    mini = Server(port=0, dir=str(tmp_path), bind_source_addr="127.0.0.2")
    mini.start()
    try:
        for port in (real.port, mini.port):
            call(port, "REPLICAOF", "127.0.0.1", master.port)
        wait_until(lambda: link_up(real.port) and link_up(mini.port), 20, "both links")
        lines = [value for name, value in info(master.port).items()
                 if name.startswith("slave")]
        assert len(lines) == 2 and all("ip=127.0.0.2," in line for line in lines), lines
    finally:
        mini.stop()
        real.stop()
        master.stop()


def test_client_pause_holds_the_masters_stream(pair):
    """CLIENT PAUSE WRITE on a replica holds its master's writes too (processCommand
    pauses every client but replicas): the stream is read (slave_read_repl_offset
    grows) but not applied (slave_repl_offset stays) until the pause ends; a later
    GETACK waits behind it (unit/pause's "replica paused, offset would not grow")."""
    master, real, mini, _ = pair
    call(master.port, "SET", "foo", "bar")
    wait_caught_up(master.port, real.port)
    wait_caught_up(master.port, mini.port)
    seen = {}
    for name, port in (("redis", real.port), ("miniredis", mini.port)):
        old = int(info(port)["slave_repl_offset"])
        call(port, "CLIENT", "PAUSE", "100000", "WRITE")
        seen[name] = [old]
    call(master.port, "SET", "foo2", "bar2")
    call(master.port, "INCR", "counter")
    target = int(info(master.port)["master_repl_offset"])
    for name, port in (("redis", real.port), ("miniredis", mini.port)):
        wait_until(lambda: int(info(port)["slave_read_repl_offset"]) == target, 10,
                   "stream read")
        fields = info(port)
        seen[name] += [int(fields["slave_repl_offset"]) == seen[name][0],
                       call(port, "GET", "foo2")]
        call(port, "CLIENT", "UNPAUSE")
    for name, port in (("redis", real.port), ("miniredis", mini.port)):
        wait_until(lambda: int(info(port)["slave_repl_offset"]) == target, 10,
                   "stream applied")
        seen[name] += [call(port, "GET", "foo2"), call(port, "GET", "counter")]
        seen[name][0] = None
    assert seen["miniredis"] == seen["redis"]
    assert seen["redis"][1:] == [True, None, b"bar2", b"1"]
