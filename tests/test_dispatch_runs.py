"""Pipelines that repeat one command: the dispatcher's short loop (Client._run_alike).

A run of the same command in one read (a pipeline of SETs, redis-benchmark's ``-P 16``)
is dispatched without the general loop's per-request bookkeeping and timed as a whole.
Everything a client can observe must stay as Redis has it: the replies in order, errors
and arity refusals in the middle of a run, blocked clients served after the very write
that fed them, INFO commandstats and errorstats, latency histograms, SLOWLOG, MONITOR,
transactions, CLIENT REPLY, and the AOF. Each case is run on redis-server too.
"""
from __future__ import annotations

import re
import time
from typing import Any, Dict, List

import pytest
import redis

from miniredis import Server
from tests.harness import (RawConnection, compare_scenario, connect, encode_command,
                           replies_until)
from tests.replutil import Master, Replica, wait_caught_up


def _ttl(conn, key: str) -> bytes:
    """TTL's reply, one of 50 seconds or more to the nearest hundred: both servers are
    read at different moments, and a loaded machine can take half a second between a
    scenario's EXPIRE 100 and the read (100 on one server, 99 on the other)."""
    reply = conn.call("TTL", key)
    seconds = int(reply[1:-2]) if reply.startswith(b":") else 0
    return b":~%d\r\n" % round(seconds, -2) if seconds >= 50 else reply


def _pipeline(conn: RawConnection, commands: List[List[Any]]) -> List[bytes]:
    """Send ``commands`` in one write; their raw replies."""
    conn.send_raw(b"".join(encode_command(c) for c in commands))
    return [conn.read_raw() for _ in commands]


def _mixed_runs() -> List[List[Any]]:
    """Runs of one command broken by errors, other spellings and other commands."""
    commands: List[List[Any]] = []
    commands += [["SET", "k%d" % i, "v%d" % i] for i in range(12)]
    commands += [["GET", "k%d" % i] for i in range(0, 16, 3)]
    commands += [["GET", "k1", "extra"], ["GET", "k2"], ["get", "k3"], ["Get", "k4"],
                 ["GET"], ["GET", "k5"]]
    commands += [["LPUSH", "list", "a"], ["GET", "list"], ["GET", "k6"]]  # WRONGTYPE
    commands += [["INCR", "n"], ["INCR", "n"], ["INCR", "k0"], ["INCR", "n"],
                 ["INCRBY", "n", "x"], ["INCR", "n"]]
    commands += [["LPUSH", "list", "b%d" % i] for i in range(6)]
    commands += [["RPOP", "list"] for _ in range(9)]
    commands += [["HSET", "h", "f%d" % i, i] for i in range(5)]
    commands += [["HSET", "h", "odd"], ["HSET", "h", "g", "1"]]
    commands += [["ZADD", "z", i, "m%d" % i] for i in range(5)]
    commands += [["ZADD", "z", "nan", "x"], ["ZADD", "z", "1.5", "m9"]]
    commands += [["SADD", "s", "a", "b"], ["SADD", "s", "b"], ["SADD", "k0", "x"]]
    commands += [["XADD", "st", "1-%d" % i, "f", "v"] for i in range(1, 5)]
    commands += [["XADD", "st", "1-2", "f", "v"], ["XADD", "st", "2-1", "f", "v"]]
    commands += [["MSET", "a", "1", "b", "2"], ["MSET", "a"], ["MSET", "c", "3"]]
    commands += [["PING"], ["PING", "hello"], ["PING"], ["ECHO", "x"], ["ECHO", "y"]]
    commands += [["EXPIRE", "k1", "100"], ["EXPIRE", "nokey", "100"], ["TTL", "k1"],
                 ["TTL", "k2"], ["DEL", "k1"], ["DEL", "k1", "k2"], ["EXISTS", "k3"]]
    commands += [["LRANGE", "list", 0, -1], ["LRANGE", "list", 0, 1]]
    # Another command of the same arity right after a request a run's own loop served:
    # the loop must stop at the name, not only at the argument count.
    commands += [["PING"], ["PING"], ["DBSIZE"], ["PING"]]
    commands += [["GET", "k3"], ["GET", "k4"], ["STRLEN", "k4"], ["GET", "k5"]]
    commands += [["SET", "k7", "x"], ["SET", "k8", "y"], ["APPEND", "k8", "z"],
                 ["SET", "k9", "w"], ["GET", "k8"]]
    commands += [["INCR", "n"], ["INCR", "n"], ["DECR", "n"], ["INCR", "n"]]
    commands += [["HSET", "h", "f1", "x"], ["HSET", "h", "f2", "y"],
                 ["HSETNX", "h", "f9", "z"], ["HINCRBY", "h", "f4", "5"],
                 ["HGETALL", "h"]]
    commands += [["SADD", "s", "c"], ["SADD", "s", "d"], ["SREM", "s", "a"],
                 ["SISMEMBER", "s", "c"], ["SCARD", "s"], ["SISMEMBER", "s", "a"]]
    commands += [["ZADD", "z", "7", "m1"], ["ZADD", "z", "8", "m2"],
                 ["ZINCRBY", "z", "5", "m3"], ["ZRANGE", "z", 0, -1, "WITHSCORES"]]
    commands += [["LPUSH", "list", "p"], ["LPUSH", "list", "q"], ["LPUSHX", "list", "r"],
                 ["RPUSH", "list", "s"], ["RPOP", "list"], ["RPOP", "list"],
                 ["LLEN", "list"], ["LPOP", "list"], ["LRANGE", "list", 0, -1]]
    return commands


def test_pipelined_runs_reply_as_redis(differ):
    commands = _mixed_runs()

    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        try:
            return _pipeline(conn, commands)
        finally:
            conn.close()

    compare_scenario(differ, scenario)


def test_blocked_clients_served_after_each_write_of_a_run(differ):
    def scenario(port, protocol, admin):
        waiters = [connect(port, protocol) for _ in range(2)]
        writer = connect(port, protocol)
        try:
            for waiter in waiters:
                waiter.send("BLPOP", "q", "0")
            _wait_blocked(admin, 2)
            replies = _pipeline(writer, [["LPUSH", "q", "a"], ["LPUSH", "q", "b", "c"],
                                         ["LPUSH", "q", "d"], ["LLEN", "q"],
                                         ["LPUSH", "q", "e"], ["LRANGE", "q", 0, -1]])
            return replies + [waiter.read_raw() for waiter in waiters]
        finally:
            for conn in waiters + [writer]:
                conn.close()

    compare_scenario(differ, scenario)


def _wait_blocked(admin: RawConnection, count: int) -> None:
    deadline = time.time() + 5
    while b"blocked_clients:%d\r\n" % count not in admin.call("INFO", "clients"):
        assert time.time() < deadline, "the waiters did not block"
        time.sleep(0.01)


def _quiet_redis(port: int) -> redis.Redis:
    """A redis-py client that sends no CLIENT SETINFO when it connects (it would
    count in the statistics and the SLOWLOG compared): redis-py 8 says so with
    ``driver_info``, older versions (>= 5) with ``lib_name``/``lib_version``."""
    try:
        from redis.driver_info import DriverInfo
    except ImportError:
        return redis.Redis(port=port, lib_name=None, lib_version=None)
    return redis.Redis(port=port, driver_info=DriverInfo(name=None, lib_version=None))


def _stats(port: int) -> Dict[str, Any]:
    r = _quiet_redis(port)
    try:
        commands = {name: (row["calls"], row["rejected_calls"], row["failed_calls"])
                    for name, row in r.info("commandstats").items()}
        errors = r.info("errorstats")
        histogram = r.execute_command("LATENCY", "HISTOGRAM", "set", "get", "incr")
        counts = {name: fields[b"calls"] for name, fields in histogram.items()}
        assert set(counts) == {b"set", b"get", b"incr"}
        return {"commandstats": commands, "errorstats": errors, "histogram": counts}
    finally:
        r.close()


def test_commandstats_errorstats_and_histograms_count_every_call(differ):
    commands = _mixed_runs()

    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        conn = connect(port, protocol)
        try:
            _pipeline(conn, commands)
            _pipeline(conn, [["SET", "x", i] for i in range(40)])
        finally:
            conn.close()
        stats = _stats(port)
        # The admin's own commands (SELECT, FLUSHALL, INFO...) are left out.
        stats["commandstats"] = {name: row for name, row in stats["commandstats"].items()
                                 if name not in ("cmdstat_select", "cmdstat_flushall",
                                                 "cmdstat_info", "cmdstat_config|resetstat",
                                                 "cmdstat_hello", "cmdstat_latency|histogram")}
        return stats

    compare_scenario(differ, scenario)


def test_slowlog_logs_every_call_of_a_run(differ):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        conn = connect(port, protocol)
        try:
            admin.call("SLOWLOG", "RESET")
            _pipeline(conn, [["SET", "k%d" % i, i] for i in range(6)]
                      + [["GET", "k%d" % i] for i in range(3)] + [["GET", "a", "b"]])
            r = _quiet_redis(port)
            entries = r.slowlog_get(100)
            r.close()
            return [entry["command"] for entry in entries]
        finally:
            admin.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
            conn.close()

    compare_scenario(differ, scenario)


def test_monitor_shows_every_call_of_a_run(differ):
    def scenario(port, protocol, admin):
        monitor = connect(port, 2)
        conn = connect(port, protocol)
        try:
            assert monitor.call("MONITOR") == b"+OK\r\n"
            _pipeline(conn, [["SET", "k%d" % i, i] for i in range(5)] + [["GET", "k1"]])
            lines = [monitor.read_raw() for _ in range(6)]
            return [re.sub(rb"^\+[0-9.]+ \[9 [^\]]+\] ", b"", line) for line in lines]
        finally:
            monitor.close()
            conn.close()

    compare_scenario(differ, scenario)


def test_runs_inside_multi_and_client_reply(differ):
    commands = ([["MULTI"]] + [["INCR", "n"] for _ in range(4)] + [["INCR", "n", "x"]]
                + [["INCR", "n"], ["EXEC"]]
                + [["MULTI"]] + [["INCR", "n"] for _ in range(4)] + [["EXEC"]]
                + [["CLIENT", "REPLY", "SKIP"]] + [["SET", "a", i] for i in range(4)]
                + [["GET", "a"], ["GET", "n"]])

    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        try:
            # CLIENT REPLY SKIP has no reply and silences the next one.
            conn.send_raw(b"".join(encode_command(c) for c in commands))
            return [conn.read_raw() for _ in range(len(commands) - 2)]
        finally:
            conn.close()

    compare_scenario(differ, scenario)


def test_runs_reach_the_aof(tmp_path):
    """A restart replays every write of pipelined runs, in order."""
    with Server(port=0, dir=str(tmp_path), appendonly=True) as server:
        conn = RawConnection(server.port)
        writes = ([["SET", "k%d" % i, i] for i in range(30)]
                  + [["INCR", "n"] for _ in range(25)] + [["INCR", "k0", "x"]]
                  + [["RPUSH", "l", i] for i in range(20)]
                  + [["LPOP", "l"] for _ in range(5)]
                  + [["HSET", "h", "f%d" % i, i] for i in range(10)])
        replies = _pipeline(conn, writes)
        assert replies[-1] == b":1\r\n"
        conn.close()
    with Server(port=0, dir=str(tmp_path), appendonly=True) as server:
        r = redis.Redis(port=server.port)
        assert r.mget(["k%d" % i for i in range(30)]) == [b"%d" % i for i in range(30)]
        assert r.get("n") == b"25"
        assert r.lrange("l", 0, -1) == [b"%d" % i for i in range(5, 20)]
        assert r.hlen("h") == 10
        r.close()


def test_own_loop_resumes_after_a_request_it_left_to_the_handler(monkeypatch):
    """A run's own loop stops at a request it does not answer (here LPUSH to a key
    that does not exist yet); that request goes through the handler, and the own loop
    takes the rest of the run again (runs.run_alike), not the handler one by one."""
    from miniredis.commands import lookup
    calls: List[Any] = []
    with Server(port=0) as server:
        cmd = lookup(b"lpush")      # (the table is filled once a server exists)
        own_loop = cmd.run

        def spy(client, requests, done, count, name, append):
            stop = own_loop(client, requests, done, count, name, append)
            calls.append((done, stop))
            return stop

        conn = RawConnection(server.port)
        assert _pipeline(conn, [["LPUSH", "resume:a", "x"]]) == [b":1\r\n"]
        monkeypatch.setattr(cmd, "run", spy)
        replies = _pipeline(conn, [["LPUSH", "resume:a", 1], ["LPUSH", "resume:a", 2],
                                   ["LPUSH", "resume:new", 1], ["LPUSH", "resume:a", 3],
                                   ["LPUSH", "resume:a", 4]])
        conn.close()
    assert replies == [b":2\r\n", b":3\r\n", b":1\r\n", b":4\r\n", b":5\r\n"]
    assert calls == [(0, 2), (3, 5)]


def test_runs_reach_a_redis_replica():
    """A real redis-server replicating from us applies every write of the runs."""
    master = Master()
    replica = None
    try:
        replica = Replica(master.port)
        replica.wait_up()
        conn = RawConnection(master.port)
        writes = ([["SET", "k%d" % i, i] for i in range(30)]
                  + [["INCR", "n"] for _ in range(25)] + [["INCR", "k0", "x"]]
                  + [["RPUSH", "l", i] for i in range(20)]
                  + [["LPOP", "l"] for _ in range(5)]
                  + [["SPOP", "nokey"] for _ in range(3)])
        _pipeline(conn, writes)
        conn.close()
        wait_caught_up(master, replica)
        r = replica.r
        assert r.mget(["k%d" % i for i in range(30)]) == [b"%d" % i for i in range(30)]
        assert r.get("n") == b"25"
        assert r.lrange("l", 0, -1) == [b"%d" % i for i in range(5, 20)]
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


def _keyspace_stats(admin: RawConnection) -> Dict[bytes, bytes]:
    """INFO stats' keyspace_hits and keyspace_misses (not expired_keys: Redis's active
    expiry may come first)."""
    return {line.split(b":")[0]: line.split(b":")[1]
            for line in admin.call("INFO", "stats").split(b"\r\n")
            if line.startswith(b"keyspace_")}


def test_get_runs_as_redis(differ):
    """GETs in a row (string_runs._get_run): strings, strings edited in place, misses,
    other types, keys with a TTL to come and keys past it, and the stats they count."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        try:
            for command in (["SET", "a", "1"], ["SETBIT", "bits", "7", "1"],
                            ["SET", "c", "x"], ["APPEND", "c", "yz"],
                            ["SET", "ttl", "t", "EX", "1000"], ["SET", "gone", "g", "PX", "5"],
                            ["LPUSH", "l", "1"], ["SET", "empty", ""]):
                conn.call(*command)
            time.sleep(0.02)
            admin.call("CONFIG", "RESETSTAT")
            keys = ["a", "bits", "c", "missing", "ttl", "gone", "a", "empty", "l", "a",
                    "nope", "c"]
            replies = _pipeline(conn, [["GET", key] for key in keys]
                                + [["GET", "a", "b"], ["GET", "a"], ["get", "a"],
                                   ["get", "missing"], ["GET", "c"]])
            return replies, _keyspace_stats(admin)
        finally:
            conn.close()

    compare_scenario(differ, scenario)


def test_lrange_runs_as_redis(differ):
    """LRANGEs in a row (lists._range_run): small and chunked lists, elements all of
    one length and mixed, every kind of index (negative, past either end, crossed,
    64-bit limits, not integers), misses, other types, TTLs to come and past, arity
    refusals, and the keyspace stats they count."""
    big = ["e%d" % i for i in range(1000)]
    setup = [["RPUSH", "small", "a", "bb", "", "dddd"], ["RPUSH", "same"] + ["xyz"] * 300,
             ["RPUSH", "big"] + big, ["LPUSH", "big"] + ["v" * (i % 7) for i in range(300)],
             ["RPUSH", "long"] + ["w" * 2000] * 20 + ["w" * 5], ["SET", "string", "x"],
             ["RPUSH", "ttl", "a", "b"], ["EXPIRE", "ttl", "1000"],
             ["RPUSH", "gone", "a"], ["PEXPIRE", "gone", "5"]]
    ranges = [(0, -1), (0, 99), (-100, -1), (5, 2), (1000, 2000), (-5000, 5000),
              (299, 300), (1, 1), (-1, -1), (0, 0), (3, -3), (-3, 3),
              ("9223372036854775807", "9223372036854775807"),
              ("-9223372036854775808", "9223372036854775807"), (0, "-9223372036854775808")]
    commands = []
    for key in ("small", "same", "big", "long"):
        commands += [["LRANGE", key, start, stop] for start, stop in ranges]
    for key in ("missing", "string", "ttl", "gone", "same"):
        commands += [["LRANGE", "big", 0, 9], ["LRANGE", key, 0, 2]]
    for start, stop in (("x", 1), (0, "y"), ("01", 2), ("", 1), (" 1", 2), ("1.0", 2),
                        ("9223372036854775808", 1), (1, "-9223372036854775809")):
        commands += [["LRANGE", "small", 0, 1], ["LRANGE", "small", start, stop]]
    commands += [["LRANGE", "small", 0], ["LRANGE", "small", 0, 1, 2],
                 ["lrange", "small", 0, 1], ["LRANGE", "same", 0, 2], ["LLEN", "same"],
                 ["LRANGE", "same", 0, 2]]

    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        try:
            for command in setup:
                conn.call(*command)
            time.sleep(0.02)
            admin.call("CONFIG", "RESETSTAT")
            replies = _pipeline(conn, commands)
            return replies, _keyspace_stats(admin)
        finally:
            conn.close()

    compare_scenario(differ, scenario)


def test_get_runs_notify_misses_and_count_lfu_accesses(differ):
    def scenario(port, protocol, admin):
        subscriber = connect(port, protocol)
        conn = connect(port, protocol)
        admin.call("CONFIG", "SET", "notify-keyspace-events", "Em")
        admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        admin.call("CONFIG", "SET", "lfu-log-factor", "0")   # every access counts
        try:
            subscriber.call("SUBSCRIBE", "__keyevent@9__:keymiss")
            conn.call("SET", "hot", "v")   # (not "1": Redis shares small integers)
            replies = _pipeline(conn, [["GET", key] for key in
                                       ("x", "hot", "y", "hot", "hot", "z", "hot")])
            events = [subscriber.read_raw() for _ in range(3)]
            return replies, events, conn.call("OBJECT", "FREQ", "hot")
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            admin.call("CONFIG", "SET", "lfu-log-factor", "10")
            subscriber.close()
            conn.close()

    compare_scenario(differ, scenario)


def test_identical_get_windows_as_redis(differ):
    """Windows of identical GETs (string_runs._identical_gets: one lookup, the reply
    repeated): values of 0..1,024 bytes and more (one piece or three a reply), a
    string grown in place, a missing key, another type, a key past its TTL, windows
    longer than 16, broken by another key, a pipeline ending in one, and the same
    requests inside a run, where GET's loop serves them one by one; the replies,
    the keyspace stats and each access counted (OBJECT FREQ under LFU)."""
    setup = [["SET", "few", "v"], ["SET", "empty", ""], ["SET", "edge", "e" * 1023],
             ["SET", "big", "b" * 1024], ["SET", "huge", "h" * 5000],
             ["APPEND", "grown", "ab"], ["RPUSH", "list", "a"],
             ["SET", "gone", "g", "PX", "5"]]
    commands = [["GET", "few"]] * 40 + [["GET", "empty"]] * 3
    for key in ("edge", "big", "huge", "grown", "missing", "list", "gone"):
        # (a window is tried where a run of GETs starts: after a PING, and mid-run)
        commands += [["PING"]] + [["GET", key]] * 17 + [["GET", "few"]] * 2
        commands += [["GET", key]] * 3
    commands += [["GET", "few"], ["GET", "few"], ["GET", "empty"], ["GET", "few"]]
    commands += [["PING"]] + [["GET", "few"]] * 5

    def scenario(port, protocol, admin):
        def look(conn):
            return [_keyspace_stats(admin)] + [conn.call("OBJECT", "FREQ", key)
                                               for key in ("edge", "huge", "grown")]

        admin.call("CONFIG", "RESETSTAT")
        return _lfu_pipeline(port, protocol, admin, setup, commands, look)

    compare_scenario(differ, scenario)


def test_identical_set_windows_as_redis(differ):
    """Windows of identical SETs (string_runs._set_run after the first stores: the
    value once, each access counted, +OK repeated): long ones, a key with a TTL,
    another type, a key past its TTL, a new key, windows broken by another value,
    spelling or arity; the replies, the dirty counter, the values and TTLs and each
    access counted (OBJECT FREQ under LFU)."""
    setup = [["SET", "few", "x"], ["SET", "ttl", "x", "EX", "1000"], ["RPUSH", "list", "a"],
             ["SET", "gone", "g", "PX", "5"]]
    commands = [["SET", "few", "v"]] * 40
    commands += [["PING"]] + [["SET", "few", "w"]] * 17 + [["SET", "few", "v"]] * 2
    for key in ("ttl", "list", "gone", "new"):
        commands += [["PING"]] + [["SET", key, "v"]] * 18
    commands += [["SET", "few", "y"]] * 16 + [["set", "few", "y"]] * 16
    commands += [["SET", "few", "z"]] * 16 + [["SET", "few", "z", "NX"]] * 3
    commands += [["SET", "few", "a"]] * 3 + [["SET", "few", "b"]] * 3

    def scenario(port, protocol, admin):
        return _lfu_pipeline(port, protocol, admin, setup, commands, lambda conn: (
            conn.call("MGET", "few", "ttl", "list", "gone", "new"), _ttl(conn, "ttl"),
            conn.call("TYPE", "list"), conn.call("OBJECT", "FREQ", "new")))

    compare_scenario(differ, scenario)


def test_set_runs_as_redis(differ):
    """SETs in a row (string_runs._set_run): TTLs dropped, other types replaced, the
    keyspace events in order, WATCH and client tracking told, the dirty counter."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        watcher = connect(port, protocol)
        tracked = connect(port, 3)
        subscriber = connect(port, protocol)
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        try:
            conn.call("SET", "ttl", "old", "EX", "1000")
            conn.call("RPUSH", "list", "a")
            watcher.call("WATCH", "w")
            tracked.call("CLIENT", "TRACKING", "ON")
            tracked.call("GET", "t")
            subscriber.call("PSUBSCRIBE", "__key*__:*")
            before = _dirty(admin)
            replies = _pipeline(conn, [["SET", "new", "1"], ["SET", "ttl", "2"],
                                       ["SET", "list", "3"], ["SET", "w", "4"],
                                       ["SET", "t", "5"], ["SET", "new", "6"]])
            dirty = _dirty(admin) - before
            # (A SET NX that sets nothing leaves Redis's dirty counter alone, and ours
            # not: counted after.)
            replies += _pipeline(conn, [["SET", "x", "7"], ["SET", "ttl", "7", "NX"],
                                        ["SET", "x", "8"]])
            conn.call("PUBLISH", "__keyspace@9__:end", "end")
            events = replies_until(subscriber, b"__keyspace@9__:end")
            watcher.call("MULTI")
            watcher.call("GET", "w")
            return (replies, dirty, events, watcher.call("EXEC"), tracked.read_raw(),
                    _ttl(conn, "ttl"), conn.call("TYPE", "list"),
                    conn.call("MGET", "new", "ttl", "list", "w", "t", "x"))
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            for other in (conn, watcher, tracked, subscriber):
                other.close()

    compare_scenario(differ, scenario)


def test_set_runs_without_events_as_redis(differ):
    """SETs in a row with no keyspace events (string_runs._set_run stores an existing key
    itself then): the TTL dropped, another type replaced, WATCH and client tracking
    told, the access counted (OBJECT FREQ under an LFU policy: a key's first access
    after its creation always takes its counter from 5 to 6), the dirty counter."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        watcher = connect(port, protocol)
        tracked = connect(port, 3)
        admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        try:
            conn.call("SET", "ttl", "old", "EX", "1000")
            conn.call("RPUSH", "list", "a")
            conn.call("SET", "plain", "v")
            conn.call("SET", "w", "0")
            conn.call("SET", "t", "0")
            watcher.call("WATCH", "w")
            tracked.call("CLIENT", "TRACKING", "ON")
            tracked.call("GET", "t")
            before = _dirty(admin)
            replies = _pipeline(conn, [["SET", "new", "1"], ["SET", "ttl", "2"],
                                       ["SET", "list", "3"], ["SET", "w", "4"],
                                       ["SET", "t", "5"], ["SET", "plain", "6"],
                                       ["SET", "other", "7"]])
            dirty = _dirty(admin) - before
            freqs = [conn.call("OBJECT", "FREQ", key) for key in ("ttl", "list", "plain")]
            watcher.call("MULTI")
            watcher.call("GET", "w")
            return (replies, dirty, freqs, watcher.call("EXEC"), tracked.read_raw(),
                    _ttl(conn, "ttl"), conn.call("TYPE", "list"),
                    conn.call("MGET", "new", "ttl", "list", "w", "t", "plain", "other"))
        finally:
            admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            for other in (conn, watcher, tracked):
                other.close()

    compare_scenario(differ, scenario)


def _dirty(admin: RawConnection) -> int:
    info = admin.call("INFO", "persistence")
    return int(re.search(rb"rdb_changes_since_last_save:(\d+)", info).group(1))


def test_set_run_over_a_stream_with_a_waiting_group_reader(differ):
    """While a client waits on a key, SETs in a row take the general way (the waiter
    must learn at once that its stream was replaced)."""
    def scenario(port, protocol, admin):
        waiter = connect(port, protocol)
        conn = connect(port, protocol)
        try:
            conn.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            waiter.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
            _wait_blocked(admin, 1)
            replies = _pipeline(conn, [["SET", "a", "1"], ["SET", "s", "x"],
                                       ["SET", "b", "2"]])
            return replies, waiter.read_raw(), conn.call("TYPE", "s")
        finally:
            waiter.close()
            conn.close()

    compare_scenario(differ, scenario)


def test_ping_runs_as_redis(differ):
    """PINGs in a row, bare and with a message, from a plain client and a subscriber;
    windows of identical bare PINGs (answered together), and the identical requests of
    another command, spelling or shape that follow one (each answered as itself)."""
    pings = [["PING"], ["PING"], ["ping"], ["PING", "hi"], ["PING"], ["PING", "a", "b"],
             ["PING"], ["PING"]]
    pings += [["DBSIZE"]] + [["PING"]] * 32 + [["DBSIZE"]] * 16 + [["PING"]] * 16 + [["ping"]] * 17
    pings += [["PING"]] * 16 + [["PING", "x"]] * 16 + [["PING"]] * 17 + [["PING"]]
    pings += [["PING"]] * 16 + [["PING", "a", "b"]] * 16 + [["PING"]] * 2

    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        try:
            plain = _pipeline(conn, pings)
            conn.call("SUBSCRIBE", "channel")
            return plain, _pipeline(conn, pings)
        finally:
            conn.close()

    compare_scenario(differ, scenario)


def _writes_observed(port, protocol, admin, setup, commands, keys, dirty=True,
                     tracked_keys=("t",)):
    """Run ``setup`` one by one, then ``commands`` as one pipeline while a WATCH, a
    tracking client and a keyspace-event subscriber look on; what each of them saw,
    the replies, the dirty counter's change (unless ``dirty`` is false: writes that
    change nothing count none in Redis, one here -- a known difference) and the TTL,
    type and dump of ``keys``."""
    conn = connect(port, protocol)
    watcher = connect(port, protocol)
    tracked = connect(port, 3)
    subscriber = connect(port, protocol)
    admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
    admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")   # (keys past their TTL stay in)
    try:
        for command in setup:
            conn.call(*command)
        watcher.call("WATCH", "w")
        tracked.call("CLIENT", "TRACKING", "ON")
        for key in tracked_keys:        # (read with TYPE: they may be of any type)
            tracked.call("TYPE", key)
        subscriber.call("PSUBSCRIBE", "__key*__:*")
        time.sleep(0.02)                # (keys set with PX 5 are past their TTL)
        before = _dirty(admin)
        replies = _pipeline(conn, commands)
        changes = _dirty(admin) - before if dirty else None
        conn.call("PUBLISH", "__keyspace@9__:end", "end")
        events = replies_until(subscriber, b"__keyspace@9__:end")
        watcher.call("MULTI")
        watcher.call("PING")
        looks = [(conn.call("TYPE", key), _ttl(conn, key), conn.call("DUMP", key))
                 for key in keys]
        return (replies, changes, events, watcher.call("EXEC"),
                [tracked.read_raw() for _ in tracked_keys], looks)
    finally:
        admin.call("CONFIG", "SET", "notify-keyspace-events", "")
        admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        for other in (conn, watcher, tracked, subscriber):
            other.close()


_UNCHANGED_SETUP = [["SADD", "ints", "1", "2", "3"], ["SADD", "strs", "a", "b", "c"],
                    ["ZADD", "zl", "5", "m", "7", "n"], ["SET", "str", "x"],
                    ["ZADD", "zs"] + [w for i in range(200) for w in (str(i), "m%d" % i)],
                    ["ZADD", "neg", "-0", "m"], ["SADD", "gone", "1"],
                    ["PEXPIRE", "gone", "5"], ["ZADD", "zgone", "1", "m"],
                    ["PEXPIRE", "zgone", "5"], ["SADD", "ttl", "1"], ["EXPIRE", "ttl", "1000"],
                    ["HSET", "hl", "f", "v", "g", "w"], ["HSET", "hgone", "f", "v"],
                    ["PEXPIRE", "hgone", "5"], ["HSET", "ht", "f", "v", "long", "x" * 100]]


def _unchanged_windows(mid_run: bool = True):
    """Pipelines repeating SADDs, ZADDs and HSETs, each window at a run's start
    (after a PING), then again mid-run unless ``mid_run`` is false (the loops' own
    steps, which would redo a write a window skipped). (A window is 16 requests:
    unchanged_windows takes none shorter but at the pipeline's end.)"""
    windows = [(["SADD", "ints", "2"], 17), (["SADD", "ints", "9"], 16),
               (["SADD", "strs", "b"], 16), (["SADD", "strs", "a", "z"], 16),
               (["SADD", "gone", "1"], 16), (["SADD", "str", "a"], 16),
               (["SADD", "ttl", "1"], 16), (["SADD", "missing", "1"], 16),
               (["ZADD", "zl", "5", "m"], 17), (["ZADD", "zl", "05", "n"], 16),
               (["ZADD", "zl", "7", "n"], 16), (["ZADD", "zl", "5.0", "m"], 16),
               (["ZADD", "zl", "XX", "5", "m"], 16), (["ZADD", "zl", "6", "o"], 16),
               (["ZADD", "zs", "150", "m150"], 16), (["ZADD", "zs", "0", "m150"], 16),
               (["ZADD", "neg", "0", "m"], 16), (["ZADD", "zgone", "1", "m"], 16),
               (["ZADD", "str", "1", "m"], 16), (["ZADD", "missing2", "1", "m"], 16),
               (["HSET", "hl", "f", "v"], 17), (["HSET", "hl", "g", "x"], 16),
               (["HSET", "hl", "f", "v", "g", "x"], 16), (["HSET", "hl", "new", "n"], 16),
               (["HSET", "ht", "f", "v"], 16), (["HSET", "ht", "long", "y"], 16),
               (["HSET", "hgone", "f", "v"], 16), (["HSET", "str", "f", "v"], 16),
               (["HSET", "missing3", "f", "v"], 16)]
    commands = []
    for request, times in windows:
        commands += [["PING"]] + [request] * times
    for request, times in windows if mid_run else ():
        commands += [request] * times
    return commands


@pytest.mark.parametrize("watched", [["SADD", "w", "1"], ["ZADD", "w", "1", "m"],
                                     ["HSET", "w", "f", "v"]])
def test_unchanged_write_windows_as_redis(differ, watched):
    """Windows of identical SADDs, ZADDs and HSETs that leave their value as it is
    (commands.unchanged_windows: answered together) among ones that do not:
    intsets and hash tables, listpacks and skiplists, members there and not, scores
    equal in other spellings ("05", -0 and 0) and not, fields holding the data and
    not, several members or pairs, options, keys past their TTL or with one to
    come, missing keys, other types. For SADD and ZADD, WATCH is not told, no event
    is published and no change counted; an HSET does all three (so here, with
    WATCH, tracking and events on, HSET's loop takes no window); then the values."""
    setup = _UNCHANGED_SETUP + [watched, ["ZADD", "t", "1", "m"]]
    commands = [["PING"]] + [watched] * 16 + _unchanged_windows()
    commands += [["ZADD", "t", "1", "m"]] * 3 + [["ZADD", "t", "2", "m"]]
    keys = ["ints", "zl", "zs", "neg", "gone", "zgone", "ttl", "missing", "missing2", "w",
            "hl", "hgone", "missing3"]

    def scenario(port, protocol, admin):
        seen = _writes_observed(port, protocol, admin, setup, commands, keys)
        conn = connect(port, protocol)
        try:
            return seen, sorted(conn.call("SMEMBERS", "strs").split(b"\r\n")), \
                sorted(conn.call("HGETALL", "ht").split(b"\r\n"))
        finally:
            conn.close()

    compare_scenario(differ, scenario)


def test_unchanged_write_windows_count_each_access(differ):
    """Under allkeys-lfu counting every access, with no one told of writes (HSET's
    loop takes windows then): each SADD, ZADD and HSET of a window that leaves its
    value as it is counts an access (OBJECT FREQ), the SADDs and ZADDs no change and
    each HSET one (dirty); the same HSET windows as in
    test_unchanged_write_windows_as_redis, then the hashes."""
    setup = _UNCHANGED_SETUP + [["SADD", "few", "1"], ["ZADD", "z", "1", "m"]]
    commands = [["SADD", "few", "1"]] * 40 + [["PING"]] + [["ZADD", "z", "1", "m"]] * 20
    commands += [["PING"]] + [["ZADD", "zs", "3", "m3"]] * 30
    commands += [request for request in _unchanged_windows(mid_run=False)
                 if request[0] != "ZADD"]

    def scenario(port, protocol, admin):
        return _lfu_pipeline(port, protocol, admin, setup, commands, lambda conn: [
            conn.call("OBJECT", "FREQ", key) for key in ("z", "zs", "hl", "ht")] + [
            conn.call("HGETALL", "hl"), sorted(conn.call("HGETALL", "ht").split(b"\r\n")),
            conn.call("HGETALL", "hgone"), conn.call("OBJECT", "ENCODING", "ht")])

    compare_scenario(differ, scenario)


def test_windows_of_another_command_as_redis(differ):
    """A window of identical requests that follows a window an own loop answered
    together, at the same key and of the same shape but another command (TYPE after
    GET, SREM after SADD, ZINCRBY after ZADD, HSETNX after HSET, GET spelt another
    way or with an argument too many), is that command's: each answered and applied as Redis does (the
    first version of commands.identical_window answered them as the run's command:
    test_dispatch_fuzz found it)."""
    setup = [["SET", "few", "v5"], ["SADD", "s", "m"], ["ZADD", "z", "1", "m"],
             ["HSET", "h", "f", "v"]]
    commands = [["PING"]] + [["GET", "few"]] * 16 + [["TYPE", "few"]] * 17
    commands += [["GET", "few"]] * 16 + [["get", "few"]] * 16 + [["STRLEN", "few"]] * 2
    commands += [["PING"]] + [["GET", "few"]] * 16 + [["GET", "few", "x"]] * 16
    commands += [["PING"]] + [["SADD", "s", "m"]] * 16 + [["SREM", "s", "m"]] * 16
    commands += [["SADD", "s", "m"]] * 16 + [["SISMEMBER", "s", "m"]] * 2
    commands += [["PING"]] + [["ZADD", "z", "1", "m"]] * 16 + [["ZINCRBY", "z", "1", "m"]] * 16
    commands += [["PING"]] + [["HSET", "h", "f", "v"]] * 16 + [["HSETNX", "h", "f", "v"]] * 16
    commands += [["HSET", "h", "f", "v"]] * 16 + [["HSETNX", "h", "g", "w"]] * 16

    def scenario(port, protocol, admin):
        return _lfu_pipeline(port, protocol, admin, setup, commands, lambda conn: [
            conn.call("SMEMBERS", "s"), conn.call("ZRANGE", "z", 0, -1, "WITHSCORES"),
            sorted(conn.call("HGETALL", "h").split(b"\r\n"))])

    compare_scenario(differ, scenario)


def test_unchanged_hset_windows_convert_as_redis(differ):
    """An HSET that leaves its listpack hash as it is still converts it when its field
    or data is past hash-max-listpack-value, or the hash past -entries, limits lowered
    since it was written (Redis checks before and after every HSET): windows of such
    HSETs convert as the first of them would, or stay packed; the replies, changes,
    encodings and contents."""
    setup = [["HSET", "long", "f", "vvvvvvvv"], ["HSET", "wide", "k", "x", "a", "1", "b", "2"],
             ["HSET", "ok", "f", "v"], ["HSET", "field", "ffffffff", "v"],
             ["CONFIG", "SET", "hash-max-listpack-value", "4"],
             ["CONFIG", "SET", "hash-max-listpack-entries", "2"]]
    commands = []
    for request in (["HSET", "long", "f", "vvvvvvvv"], ["HSET", "wide", "k", "x"],
                    ["HSET", "ok", "f", "v"], ["HSET", "field", "ffffffff", "v"]):
        commands += [["PING"]] + [request] * 16
    keys = ("long", "wide", "ok", "field")

    def scenario(port, protocol, admin):
        try:
            return _lfu_pipeline(port, protocol, admin, setup, commands, lambda conn: [
                (conn.call("OBJECT", "ENCODING", key),
                 sorted(conn.call("HGETALL", key).split(b"\r\n"))) for key in keys])
        finally:
            admin.call("CONFIG", "SET", "hash-max-listpack-value", "64")
            admin.call("CONFIG", "SET", "hash-max-listpack-entries", "128")

    compare_scenario(differ, scenario)


def test_counter_runs_as_redis(differ):
    """INCRs and DECRs in a row (string_runs._counter_run): new counters, text SET wrote,
    strings grown in place, other types, TTLs to come and past, overflows at both
    ends, keyspace events, WATCH, client tracking and the dirty counter."""
    setup = [["SET", "text", "41"], ["SET", "spaced", " 1"], ["APPEND", "grown", "1"],
             ["APPEND", "grown", "2"], ["SET", "ttl", "5", "EX", "1000"],
             ["SET", "gone", "7", "PX", "5"], ["RPUSH", "list", "a"],
             ["SET", "max", str(2 ** 63 - 2)], ["SET", "min", str(-2 ** 63 + 1)],
             ["SET", "w", "1"], ["SET", "t", "1"], ["SET", "float", "1.5"]]
    # Each odd case comes after a counter the loop increments, so that the loop meets
    # it mid-run (a loop that declines its first request is not asked again).
    commands = [["INCR", "n"] for _ in range(4)] + [["INCR", "w"], ["INCR", "t"]]
    for key in ("text", "text", "spaced", "grown", "grown", "ttl", "ttl", "gone",
                "gone", "list", "max", "max", "max", "float"):
        commands += [["INCR", "n"], ["INCR", key]]
    commands += [["INCR", "n"], ["INCR", "n", "x"], ["INCR", "n"], ["INCR"], ["incr", "n"],
                 ["Incr", "n"]]
    commands += [["DECR", "n"], ["DECR", "n"]]
    for key in ("min", "min", "min", "text", "fresh", "fresh", "list"):
        commands += [["DECR", "n"], ["DECR", key]]

    def scenario(port, protocol, admin):
        return _writes_observed(port, protocol, admin, setup, commands,
                                ["n", "text", "grown", "ttl", "gone", "max", "min",
                                 "fresh"])

    compare_scenario(differ, scenario)


def _setup_then_pipeline(conn, admin, setup, commands):
    """Run ``setup`` one by one, let keys set to expire at once do so, then
    ``commands`` as one pipeline: their replies and the dirty counter's change."""
    for command in setup:
        conn.call(*command)
    time.sleep(0.02)
    before = _dirty(admin)
    replies = _pipeline(conn, commands)
    return replies, _dirty(admin) - before


def _lfu_pipeline(port, protocol, admin, setup, commands, look):
    """Run ``setup`` one by one, then ``commands`` as one pipeline, with no keyspace
    events, WATCH or tracking, under allkeys-lfu counting every access and with
    active expiry off (keys past their TTL stay in): the replies, the dirty counter's
    change, OBJECT FREQ of the key "few" and ``look(conn)``."""
    conn = connect(port, protocol)
    admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    admin.call("CONFIG", "SET", "lfu-log-factor", "0")
    admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        replies, dirty = _setup_then_pipeline(conn, admin, setup, commands)
        return replies, dirty, conn.call("OBJECT", "FREQ", "few"), look(conn)
    finally:
        admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
        admin.call("CONFIG", "SET", "lfu-log-factor", "10")
        admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        conn.close()


def test_counter_runs_of_one_key_without_events_as_redis(differ):
    """INCRs (DECRs) of one key in a row, with no keyspace events, WATCH or tracking
    (string_runs._counter_run applies them together then): runs that would cross either
    64-bit limit, INCR and DECR alternating, other keys and spellings, arity
    refusals, values that are no integers, a TTL past; the replies, each access
    counted (OBJECT FREQ under LFU), the dirty counter and the values."""
    commands = [["INCR", "few"] for _ in range(20)]
    commands += [["INCR", "n"] for _ in range(300)] + [["DECR", "n"] for _ in range(310)]
    commands += [["INCR", "max"] for _ in range(9)] + [["DECR", "min"] for _ in range(9)]
    commands += [["INCR", "nearmax"] for _ in range(3)]
    commands += [["DECR", "nearmin"] for _ in range(3)]
    for op in ("INCR", "DECR"):
        commands += [[op, "n"], [op, "n"], [op, "other"], [op, "n"], [op], [op, "n"],
                     [op, "n"], [op.lower(), "n"], [op, "n"], [op, "n", "x"], [op, "n"],
                     [op, "n"], ["INCR" if op == "DECR" else "DECR", "n"], [op, "n"],
                     [op, "text"], [op, "text"], [op, "float"], [op, "float"],
                     [op, "gone"], [op, "gone"], [op, "list"], [op, "n"], [op, "n"]]
    # Identical requests (compared whole, a window at a time): long runs, runs
    # broken every third request, identical refusals and errors.
    # Each group after a PING, so the own loop starts it (a run it declined once goes
    # to the handler to its end).
    commands += [["PING"]] + [["INCR", "n"]] * 40
    commands += [["PING"]] + ([["INCR", "n"]] * 2 + [["INCR", "other"]]) * 12
    commands += [["PING"]] + [["DECR", "n"]] * 17 + [["PING"]] + [["INCR"]] * 18
    commands += [["PING"]] + [["INCR", "n"]] * 3 + [["INCR", "n", "x"]] * 18
    for key in ("float", "list", "max"):
        commands += [["PING"]] + [["INCR", key]] * 18
    # Counters of several keys in turn (the loop looks at the next request's key
    # before it looks for a run), one named as the command, next to a refusal.
    commands += [["PING"]] + [["INCR", k] for k in "nonnooxnnnoo"] + [["DECR", "n"]]
    commands += [["PING"], ["INCR", "INCR"], ["INCR"], ["INCR", "INCR"], ["INCR", "INCR"],
                 ["INCR", "n", "INCR"], ["INCR", "INCR"]]
    # (counters past 10,000: Redis shares the objects of smaller integers)
    setup = [["SET", "few", "100000"], ["SET", "n", "5"], ["SET", "other", "1"],
             ["SET", "max", str(2 ** 63 - 5)], ["SET", "min", str(-2 ** 63 + 5)],
             ["SET", "nearmax", str(2 ** 63 - 4)], ["SET", "nearmin", str(-2 ** 63 + 4)],
             ["SET", "text", "41"], ["SET", "float", "1.5"],
             ["SET", "gone", "7", "PX", "5"], ["RPUSH", "list", "a"]]

    def scenario(port, protocol, admin):
        return _lfu_pipeline(port, protocol, admin, setup, commands, lambda conn: conn.call(
            "MGET", "few", "n", "other", "max", "min", "nearmax", "nearmin", "text",
            "float", "gone"))

    compare_scenario(differ, scenario)


def test_hset_runs_as_redis(differ):
    """HSETs of one field in a row (hashes._hset_run): listpack hashes that grow, keep
    or change a field, convert to a hash table mid-run (too many fields, a long field
    or value), hash tables, new keys, other types, TTLs to come and past, several
    pairs and arity refusals, with events, WATCH and tracking as Redis has them."""
    setup = [["CONFIG", "SET", "hash-max-listpack-entries", "4"],
             ["CONFIG", "SET", "hash-max-listpack-value", "8"],
             ["HSET", "h", "f", "v"], ["HSET", "grows", "a", "1"],
             ["HSET", "table", "long-field-name", "1"], ["HSET", "w", "f", "1"],
             ["HSET", "t", "f", "1"], ["HSET", "ttl", "f", "1"],
             ["EXPIRE", "ttl", "1000"], ["HSET", "gone", "f", "1"],
             ["PEXPIRE", "gone", "5"], ["SET", "string", "x"], ["HSET", "lv", "f", "1"],
             ["HSET", "lf", "f", "1"], ["HSET", "src", "f", "1"], ["COPY", "src", "dup"]]
    odd = [["grows", "b", "2"], ["grows", "b", "2"], ["grows", "b", "3"],
           ["grows", "c", "4"], ["grows", "d", "5"], ["grows", "e", "6"],
           ["grows", "f", "7"], ["grows", "a", "8"], ["table", "x", "1"],
           ["table", "x", "1"], ["w", "f", "2"], ["t", "g", "2"], ["ttl", "f", "2"],
           ["ttl", "g", "2"], ["gone", "f", "2"], ["gone", "g", "2"], ["new", "f", "1"],
           ["new", "g", "2"], ["string", "f", "1"], ["lv", "f", "123456789"],
           ["lv", "g", "1"], ["lf", "123456789", "1"], ["lf", "g", "1"]]
    commands = [["HSET", "h", "f", "v%d" % i] for i in range(4)]
    for i, args in enumerate(odd):
        commands += [["HSET", "h", "f", "v%d" % i], ["HSET"] + args]
    # (Not HSET of several pairs: Redis's dirty counter counts each pair, ours the
    # command -- a known difference.)
    commands += [["HSET", "h", "f", "v"], ["HSET", "h", "f"], ["HSET", "h", "a", "1"],
                 ["HSET", "h", "f", "x"], ["hset", "h", "f", "y"], ["HSET", "h", "p", "3"]]
    # Repeats of the write before (no lookup: the hash left holding it), at keys that
    # may share one immutable listpack (COPY).
    commands += [["HSET", "src", "f", "1"], ["HSET", "dup", "f", "1"],
                 ["HSET", "dup", "f", "1"], ["HSET", "src", "f", "1"],
                 ["HSET", "dup", "f", "2"], ["HSET", "dup", "f", "2"],
                 ["HSET", "src", "f", "1"], ["HSET", "src", "g", "1"],
                 ["HSET", "src", "g", "1"], ["HSET", "dup", "g", "2"],
                 ["HSET", "src", "k", "5"], ["HSET", "dup", "k", "5"]]
    listpacks = ["h", "w", "t", "ttl", "gone", "new", "src", "dup"]
    tables = ["grows", "table", "lv", "lf"]

    def scenario(port, protocol, admin):
        try:
            seen = _writes_observed(port, protocol, admin, setup, commands, listpacks)
            r = redis.Redis(port=port, protocol=protocol, db=9)
            try:
                # (a hash table's order is Redis's random hash order: compared sorted)
                return seen, [(r.object("ENCODING", key), sorted(r.hgetall(key).items()))
                              for key in listpacks + tables]
            finally:
                r.close()
        finally:
            admin.call("CONFIG", "SET", "hash-max-listpack-entries", "512")
            admin.call("CONFIG", "SET", "hash-max-listpack-value", "64")

    compare_scenario(differ, scenario)


def test_sadd_runs_as_redis(differ):
    """SADDs of one member in a row (sets._sadd_run): members already there, added to
    hash tables, to intsets that stay one or convert mid-run (a non-integer, too many
    entries), new keys, other types, TTLs to come and past, arity refusals."""
    setup = [["CONFIG", "SET", "set-max-intset-entries", "4"], ["SADD", "s", "x"],
             ["SADD", "ints", "1"], ["SADD", "full", "1", "2", "3"], ["SADD", "w", "a"],
             ["SADD", "t", "a"], ["SADD", "ttl", "a"], ["EXPIRE", "ttl", "1000"],
             ["SADD", "gone", "a"], ["PEXPIRE", "gone", "5"], ["SET", "string", "x"],
             ["SADD", "sign", "1"]]
    odd = [["ints", "2"], ["ints", "2"], ["ints", "-3"], ["ints", "x"], ["ints", "4"],
           ["full", "4"], ["full", "5"], ["full", "6"], ["w", "b"], ["t", "b"],
           ["ttl", "b"], ["ttl", "a"], ["gone", "a"], ["gone", "b"], ["new", "7"],
           ["new", "8"], ["string", "a"], ["sign", "+2"], ["sign", "007"], ["s", "x"]]
    commands = [["SADD", "s", "m%d" % i] for i in range(4)]
    for i, args in enumerate(odd):
        commands += [["SADD", "s", "m%d" % (i % 3)], ["SADD"] + args]
    commands += [["SADD", "s", "y"], ["SADD", "s"], ["SADD", "s", "a", "b"],
                 ["sadd", "s", "z"], ["SADD", "s", "y"]]
    keys = ["s", "ints", "full", "w", "t", "ttl", "gone", "new", "sign"]

    def scenario(port, protocol, admin):
        try:
            seen = _writes_observed(port, protocol, admin, setup, commands, [],
                                    dirty=False)
            r = redis.Redis(port=port, protocol=protocol, db=9)
            try:
                # (a hash table's order is Redis's random hash order: compared sorted)
                return seen, [(r.object("ENCODING", key), sorted(r.smembers(key)),
                               r.ttl(key) > 0) for key in keys]
            finally:
                r.close()
        finally:
            admin.call("CONFIG", "SET", "set-max-intset-entries", "512")

    compare_scenario(differ, scenario)


def test_zadd_runs_as_redis(differ):
    """"ZADD key <digits> member"s in a row (zsets._zadd_run): members added, kept or
    moved, listpacks converting mid-run (too many members, a long member), skiplists,
    new keys, other types, TTLs to come and past, other score spellings and options,
    arity refusals."""
    setup = [["CONFIG", "SET", "zset-max-listpack-entries", "4"],
             ["CONFIG", "SET", "zset-max-listpack-value", "8"], ["ZADD", "z", "1", "x"],
             ["ZADD", "grows", "1", "a"], ["ZADD", "w", "1", "a"], ["ZADD", "t", "1", "a"],
             ["ZADD", "ttl", "1", "a"], ["EXPIRE", "ttl", "1000"], ["ZADD", "gone", "1", "a"],
             ["PEXPIRE", "gone", "5"], ["SET", "string", "x"], ["ZADD", "long", "1", "a"]]
    odd = [["grows", "2", "b"], ["grows", "2", "b"], ["grows", "3", "b"],
           ["grows", "0", "c"], ["grows", "4", "d"], ["grows", "5", "e"],
           ["grows", "00", "a"], ["grows", "6", "f"], ["w", "2", "a"], ["t", "1", "b"],
           ["ttl", "1", "a"], ["ttl", "2", "b"], ["gone", "1", "a"], ["new", "1", "a"],
           ["new", "0", "b"], ["string", "1", "a"], ["long", "1", "123456789"],
           ["long", "2", "b"], ["z", "1.5", "y"], ["z", "-1", "y"], ["z", "NX", "1"],
           ["z", "1e3", "y"], ["z", "9" * 310, "big"]]
    commands = [["ZADD", "z", i, "m%d" % i] for i in range(4)]
    for i, args in enumerate(odd):
        commands += [["ZADD", "z", i % 3, "m%d" % (i % 2)], ["ZADD"] + args]
    commands += [["ZADD", "z", "1", "y"], ["ZADD", "z", "1"], ["ZADD", "z", "1", "a", "2"],
                 ["zadd", "z", "3", "y"], ["ZADD", "z", "1", "a", "2", "b"]]
    keys = ["z", "grows", "w", "t", "ttl", "gone", "new", "long"]

    def scenario(port, protocol, admin):
        try:
            seen = _writes_observed(port, protocol, admin, setup, commands, keys,
                                    dirty=False)
            conn = connect(port, protocol)
            try:
                return seen, [(conn.call("OBJECT", "ENCODING", key),
                               conn.call("ZRANGE", key, 0, -1, "WITHSCORES"))
                              for key in keys]
            finally:
                conn.close()
        finally:
            admin.call("CONFIG", "SET", "zset-max-listpack-entries", "128")
            admin.call("CONFIG", "SET", "zset-max-listpack-value", "64")

    compare_scenario(differ, scenario)


def test_push_and_pop_runs_as_redis(differ):
    """LPUSH, RPUSH, LPOP and RPOP runs (lists._push_run, _pop_run): lists growing past
    a chunk and shrinking, emptied mid-run (the key goes, with its del event), new
    keys, other types, TTLs to come and past, several elements, counts and arity
    refusals."""
    setup = [["RPUSH", "l"] + ["x%d" % i for i in range(40)],
             ["SET", "string", "x"]]
    for prefix in ("r", "l", "pr", "pl"):   # (the keys of each section)
        setup += [["RPUSH", prefix + "one", "a"], ["RPUSH", prefix + "two", "a", "b"],
                  ["RPUSH", prefix + "w", "a"], ["RPUSH", prefix + "t", "a"],
                  ["RPUSH", prefix + "ttl", "a", "b"], ["EXPIRE", prefix + "ttl", "1000"],
                  ["RPUSH", prefix + "gone", "a"], ["PEXPIRE", prefix + "gone", "5"]]
    odd = ["one", "one", "two", "two", "two", "w", "t", "ttl", "gone", "new", "string"]
    commands = [["RPUSH", "big", "e%d" % i] for i in range(300)]
    commands += [["LPUSH", "big", "f%d" % i, "g%d" % i] for i in range(150)]
    commands += [["RPOP", "big"] for _ in range(250)] + [["LPOP", "big"] for _ in range(250)]
    # Each odd case comes after a request the loop serves, so that it meets it mid-run.
    for pop, prefix in (("RPOP", "r"), ("LPOP", "l")):
        commands += [[pop, "l"], [pop, "l"]]
        for key in odd:
            commands += [[pop, "l"], [pop, key if key == "string" else prefix + key]]
    for push, prefix in (("LPUSH", "pl"), ("RPUSH", "pr")):
        commands += [[push, "l", "1"], [push, "l", "2"]]
        for key in odd:
            commands += [[push, "l", "3"], [push, key if key == "string" else prefix + key,
                                             "v"]]
    commands += [["RPOP", "l"], ["RPOP", "l", "2"], ["RPOP", "l", "0"], ["RPOP"],
                 ["rpop", "l"], ["RPOP", "l", "1", "2"], ["RPOP", "l"],
                 ["LPUSH", "l", "a"], ["LPUSH", "l"], ["lpush", "l", "b", "c"]]
    keys = ["big", "l", "string"] + [prefix + key for prefix in ("r", "l", "pr", "pl")
                                     for key in odd if key != "string"]

    def scenario(port, protocol, admin):
        seen = _writes_observed(port, protocol, admin, setup, commands, keys,
                                dirty=False,    # (LPUSH of n elements: n in Redis)
                                tracked_keys=("rt", "lt", "plt", "prt"))
        conn = connect(port, protocol)
        try:
            return seen, [conn.call("LRANGE", key, 0, -1) for key in keys]
        finally:
            conn.close()

    compare_scenario(differ, scenario)


def test_push_runs_of_one_key_without_events_as_redis(differ):
    """One-element pushes to one key in a row, with no keyspace events, WATCH or
    tracking (lists._push_run pushes them together then): across packing boundaries,
    broken by other keys, other spellings, several elements, arity refusals, another
    type and a TTL past; the replies, each access counted (OBJECT FREQ under LFU),
    the dirty counter and the lists."""
    commands = [["RPUSH", "few", "f%d" % i] for i in range(20)]
    commands += [["RPUSH", "q", "r%d" % i] for i in range(300)]
    commands += [["LPUSH", "q", "l%d" % i] for i in range(300)]
    commands += [["LPUSH", "q", "w"], ["RPUSH", "q", "x"], ["LPUSH", "q", "y"],
                 ["LPUSH", "q", "z"], ["RPUSH", "q", "x"], ["RPUSH", "q", "y"]]
    for push in ("LPUSH", "RPUSH"):
        commands += [[push, "q", "a"], [push, "q", "b"], [push, "other", "c"],
                     [push, "q", "d"], [push, "q"], [push, "q", "e"], [push, "q", "f"],
                     [push.lower(), "q", "g"], [push, "q", "h"], [push, "q", "i", "j"],
                     [push, "q", "k"], [push, "q", "m"], [push, "string", "n"],
                     [push, "q", "o"], [push, "q", "p"], [push, "gone", "s"],
                     [push, "gone", "t"], [push, "q", "u"], [push, "q", "v"]]
        # Identical requests (compared whole, a window at a time), as above; each
        # group after a PING, so the own loop starts it (a run it declined once goes
        # to the handler to its end).
        commands += [["PING"]] + [[push, "q", "same"]] * 40 + [[push, "q", "same"]] * 15 \
            + [[push, "q", "odd"]] + [[push, "q", "same"]] * 20
        commands += [["PING"]] + ([[push, "q", "s"]] * 2 + [[push, "other", "t"]]) * 12
        commands += [["PING"]] + [[push, "q"]] * 18 + [["PING"]] + [[push, "string", "z"]] * 17
        commands += [["PING"]] + [[push, "q", "same"]] * 3 + [[push, "q", "same", "x"]] * 18
        # Pushes to several keys in turn (the loop looks at the next request's key
        # before it looks for a run).
        commands += [["PING"]] + [[push, k, "e%d" % i] for i, k in
                                  enumerate(["q", "other", "q", "q", "other", "few",
                                             "few", "q", "other", "other"])]
        commands += [["PING"], [push, "q", "q"], [push, "q"], [push, "q", "q"],
                     [push, "q", "q", "q"], [push, "q", "q"]]

    setup = [["RPUSH", "q", "first"], ["RPUSH", "few", "first"], ["RPUSH", "other", "first"],
             ["SET", "string", "x"], ["RPUSH", "gone", "first"], ["PEXPIRE", "gone", "5"]]

    def scenario(port, protocol, admin):
        return _lfu_pipeline(port, protocol, admin, setup, commands, lambda conn: [
            conn.call("LRANGE", key, 0, -1) for key in ("q", "other", "gone")])

    compare_scenario(differ, scenario)


def test_runs_at_one_key_as_redis(differ):
    """Requests in a row at one key (the own loops look the key up once for the run):
    GETs of a string, of a string grown in place and of a missing key, SETs over a
    key with a TTL and over a list, SADDs, HSETs and ZADDs that convert their value
    mid-run, pops that empty their list and go on, LRANGEs with a bad index among
    them, each run broken by another key and resumed; with events, WATCH and
    tracking looking on, then the values and their encodings."""
    setup = [["CONFIG", "SET", "set-max-intset-entries", "4"],
             ["CONFIG", "SET", "hash-max-listpack-entries", "4"],
             ["CONFIG", "SET", "zset-max-listpack-entries", "4"],
             ["SET", "s", "v"], ["APPEND", "grown", "ab"], ["SET", "ttl", "x", "EX", "1000"],
             ["RPUSH", "list", "a"], ["SADD", "ints", "1"], ["HSET", "h", "f0", "0"],
             ["ZADD", "z", "0", "m0"], ["RPUSH", "q", "a", "b"], ["RPUSH", "r", "1", "2", "3"],
             ["SET", "t", "0"], ["SET", "w", "0"]]
    commands = [["GET", "s"]] * 4 + [["GET", "grown"]] * 3 + [["GET", "missing"]] * 3
    commands += [["GET", "s"], ["GET", "list"], ["GET", "s"], ["GET", "missing"],
                 ["GET", "s"], ["GET", "grown"], ["GET", "s"]]
    commands += [["SET", "ttl", "y%d" % i] for i in range(3)]
    commands += [["SET", "ttl", "y"], ["SET", "fresh", "n"], ["SET", "ttl", "z"]]
    commands += [["SET", "list", "l%d" % i] for i in range(3)] + [["SET", "s", "v"]]
    commands += [["SET", "t", "1"], ["SET", "t", "2"], ["SET", "w", "3"], ["SET", "w", "4"]]
    commands += [["SADD", "ints", str(i)] for i in range(2, 8)] + [["SADD", "ints", "x"]] * 2
    commands += [["SADD", "ints", "2"], ["SADD", "other", "a"], ["SADD", "ints", "9"]]
    commands += [["HSET", "h", "f%d" % i, str(i)] for i in range(1, 7)]
    commands += [["HSET", "h", "f1", "1"]] * 2 + [["HSET", "hx", "f", "v"], ["HSET", "h", "g", "1"]]
    commands += [["ZADD", "z", str(i), "m%d" % i] for i in range(1, 7)]
    commands += [["ZADD", "z", "1", "m1"]] * 2 + [["ZADD", "zx", "1", "a"], ["ZADD", "z", "2", "m0"]]
    commands += [["RPOP", "q"]] * 4 + [["LPOP", "r"]] * 2 + [["LPUSH", "r", "n"]]
    commands += [["LPOP", "r"]] * 4
    commands += [["LRANGE", "r", 0, -1]] * 2 + [["LRANGE", "list", 0, -1], ["LRANGE", "r", 0, "x"],
                                                 ["LRANGE", "r", 0, 1], ["LRANGE", "r", 0, 1]]
    keys = ["s", "grown", "ttl", "list", "z", "q", "r", "t", "w", "fresh"]
    tables = ["ints", "h"]      # (hash tables: Redis's random order, compared sorted)

    def scenario(port, protocol, admin):
        try:
            seen = _writes_observed(port, protocol, admin, setup, commands, keys,
                                    dirty=False, tracked_keys=("t", "s"))
            r = redis.Redis(port=port, protocol=protocol, db=9)
            try:
                return seen, [r.object("ENCODING", key) for key in keys + tables], \
                    sorted(r.smembers("ints")), sorted(r.hgetall("h").items())
            finally:
                r.close()
        finally:
            admin.call("CONFIG", "SET", "set-max-intset-entries", "512")
            admin.call("CONFIG", "SET", "hash-max-listpack-entries", "512")
            admin.call("CONFIG", "SET", "zset-max-listpack-entries", "128")

    compare_scenario(differ, scenario)


_ONE_KEY_PATTERNS = [
    (["SET", "few", "v"], [["GET", "few"]]),
    (["SET", "few", "v"], [["GET", "few"], ["GET", "few"], ["GET", "missing"]]),
    (["SET", "few", "v"], [["SET", "few", "w"]]),
    (["SET", "few", "v"], [["SET", "few", "w"], ["SET", "few", "x"], ["SET", "new", "y"]]),
    (["SADD", "few", "a"], [["SADD", "few", "b"]]),
    (["HSET", "few", "f", "v"], [["HSET", "few", "g", "w"]]),
    (["ZADD", "few", "1", "a"], [["ZADD", "few", "2", "b"]]),
    (["RPUSH", "few"] + ["x"] * 30, [["RPOP", "few"]]),
    (["RPUSH", "few", "a", "b"], [["LRANGE", "few", "0", "-1"]]),
]


def _value_of(r: Any, key: str) -> Any:
    """The value at ``key`` in an order Redis fixes (a hash table's members sorted:
    its own order is random), with its type and encoding."""
    kind = r.type(key)
    read = {b"string": r.get, b"list": lambda k: r.lrange(k, 0, -1),
            b"set": lambda k: sorted(r.smembers(k)),
            b"hash": lambda k: sorted(r.hgetall(k).items()),
            b"zset": lambda k: r.zrange(k, 0, -1, withscores=True)}.get(kind)
    return kind, r.object("ENCODING", key), read(key) if read else None


@pytest.mark.parametrize("setup, pattern", _ONE_KEY_PATTERNS)
def test_runs_at_one_key_count_every_access(differ, setup, pattern):
    """Under an LFU policy every request of a run at one key counts an access, as
    Redis's lookups do (an LRU clock stored again changes nothing; a counter does),
    also when other keys come between."""
    def scenario(port, protocol, admin):
        return _lfu_pipeline(port, protocol, admin, [setup], pattern * (21 // len(pattern)),
                             lambda conn: conn.call("TYPE", "few"))

    compare_scenario(differ, scenario)


@pytest.mark.parametrize("setup, pattern", _ONE_KEY_PATTERNS)
def test_runs_at_one_key_without_events_as_redis(differ, setup, pattern):
    """The same runs with no keyspace events and an LRU policy (the stamp stored once
    per run): the replies, the dirty counter and the value left."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        r = redis.Redis(port=port, protocol=protocol, db=9)
        try:
            replies, dirty = _setup_then_pipeline(conn, admin, [setup],
                                                  pattern * (21 // len(pattern)))
            return replies, dirty, _value_of(r, "few"), _value_of(r, "new")
        finally:
            r.close()
            conn.close()

    compare_scenario(differ, scenario)


def _without_clock_ids(reply: bytes) -> bytes:
    """A reply with the IDs XADD took from the clock (which differ between the
    servers) written as 'ID'; IDs after 9999999999999 (set by hand) are kept."""
    return re.sub(rb"\$[0-9]+\r\n1[0-9]{12}-[0-9]+\r\n", b"$ID\r\n", reply)


@pytest.mark.parametrize("observed", [True, False])
def test_xadd_runs_as_redis(differ, observed):
    """"XADD key * field value..."s in a row (streams._xadd_run): IDs from the clock,
    after an ID set by hand far ahead (sequence numbers up to 1023 and past them),
    nodes filling up mid-run, several pairs, new keys, other types, TTLs to come and
    past, options and arity refusals; with keyspace events, WATCH and tracking looking
    on, or nobody (entries of one field to one stream then go in together:
    Stream.append_run), with nodes full by entries and by bytes, and long values."""
    setup = [["CONFIG", "SET", "stream-node-max-entries", "3"], ["XADD", "s", "1-1", "f", "v"],
             ["XADD", "w", "1-1", "f", "v"], ["XADD", "t", "1-1", "f", "v"],
             ["XADD", "ttl", "1-1", "f", "v"], ["EXPIRE", "ttl", "1000"],
             ["XADD", "gone", "1-1", "f", "v"], ["PEXPIRE", "gone", "5"],
             ["SET", "string", "x"], ["XADD", "far", "1-1", "f", "v"],
             ["XADD", "seq", "9999999999999-1020", "f", "v"]]
    odd = [["new", "*", "f", "v"], ["new", "*", "f", "v"], ["string", "*", "f", "v"],
           ["ttl", "*", "f", "v"], ["gone", "*", "f", "v"], ["gone", "*", "f", "v"],
           ["w", "*", "f", "v"], ["t", "*", "f", "v"], ["s", "*", "f"],
           ["s", "*", "f", "v", "g"],
           ["s", "MAXLEN", "5", "*", "f", "v"], ["s", "*", "a", "1", "b", "2"],
           ["far", "9999999999999-1", "f", "v"], ["far", "*", "f", "v"],
           ["far", "*", "f", "v"], ["s", "*", "long" * 20, "value" * 30]]
    commands = [["XADD", "s", "*", "f", "v%d" % i] for i in range(4)]
    for i, args in enumerate(odd):
        commands += [["XADD", "s", "*", "f", "v%d" % i], ["XADD"] + args]
    commands += [["XADD", "s", "*"], ["xadd", "s", "*", "g", "1"],
                 ["XADD", "s", "*", "h", "2"]]
    commands += [["XADD", "seq", "*", "f", "v"]] * 6     # (sequences past 1023)
    keys = ["s", "new", "ttl", "gone", "w", "t", "far", "seq"]
    # Nodes of 100 entries (4096 bytes: never full by bytes) or 300 bytes, values
    # that fit the run's test and some that do not. (Redis's byte test depends on the
    # clock: an ID whose sequence restarts in a node's next millisecond takes a byte
    # more, so the count of 300-byte nodes is not compared; test_stream_index checks
    # that Stream.append_run places entries as append does.)
    many = [["XADD", "big", "*", field, "a"] for field in "ffggfgggff"]
    many += [["XADD", "big", "*", "f", "v" * (i % 20 if i % 37 else 70)]
             for i in range(400)]
    many += [["XADD", "big", "*", "g", "1"], ["XADD", "big", "*", "g", "2"]]
    many += [["XADD", "big", "*", "f", "x"]] * 30

    def scenario(port, protocol, admin):
        try:
            if observed:
                seen = _writes_observed(port, protocol, admin, setup, commands, [],
                                        dirty=False)
            else:
                conn = connect(port, protocol)
                admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
                try:
                    seen = list(_setup_then_pipeline(conn, admin, setup, commands))
                    for limit in ("300", "4096"):
                        admin.call("CONFIG", "SET", "stream-node-max-entries", "100")
                        admin.call("CONFIG", "SET", "stream-node-max-bytes", limit)
                        seen[0].append(conn.call("XADD", "big", "*", "f", "first"))
                        seen[0] += _pipeline(conn, many)
                        admin.call("RENAME", "big", "big" + limit)
                    # Entries added to a stream left empty (its first ID: the lag)
                    conn.call("XTRIM", "big4096", "MAXLEN", "0")
                    conn.call("XGROUP", "CREATE", "big4096", "g", "0")
                    seen[0] += _pipeline(conn, [["XADD", "big4096", "*", "f", "v"]] * 5)
                    groups = redis.Redis(port=port, db=9).xinfo_groups("big4096")
                    seen.append([(group["entries-read"], group["lag"]) for group in groups])
                finally:
                    admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
                    admin.call("CONFIG", "SET", "stream-node-max-bytes", "4096")
                    conn.close()
            replies = [_without_clock_ids(reply) for reply in seen[0]]
            conn = connect(port, protocol)
            try:
                looks = []
                for key in keys + ([] if observed else ["big300", "big4096"]):
                    info = redis.Redis(port=port, db=9).xinfo_stream(key) \
                        if conn.call("EXISTS", key) == b":1\r\n" else {}
                    looks.append((_without_clock_ids(conn.call("XRANGE", key, "-", "+")),
                                  _ttl(conn, key),
                                  {name: info.get(name) for name in
                                   ("length", "radix-tree-keys", "entries-added")
                                   if key != "big300" or name != "radix-tree-keys"}))
                return replies, seen[1:], looks
            finally:
                conn.close()
        finally:
            admin.call("CONFIG", "SET", "stream-node-max-entries", "100")

    compare_scenario(differ, scenario)


def test_mset_runs_of_one_key_as_redis(differ):
    """MSETs naming one key throughout (redis-benchmark's MSET: string_runs._mset_run
    looks it up once and stores the last value): a key that exists, with a TTL, of
    another type, missing; one pair, two, ten; a key repeated but not throughout
    (first and last alike, another between; another at the end); each access counted
    (OBJECT FREQ under LFU), the dirty counter and the values."""
    def pairs(*keys):
        return ["MSET"] + [w for i, key in enumerate(keys) for w in (key, "v%d" % i)]

    commands = [pairs(*["few"] * 10), pairs("few", "few"), pairs("few"),
                pairs(*["ttl"] * 3), pairs(*["list"] * 4), pairs(*["new"] * 5),
                pairs("few", "other", "few"), pairs("few", "few", "other"),
                pairs(*["few"] * 16), pairs("few", "few"), ["MSET", "few"],
                pairs("few", "few"), ["mset", "few", "a", "few", "b"],
                pairs(*["gone"] * 2), pairs("few", "few", "few")]
    setup = [["SET", "few", "x"], ["SET", "ttl", "x", "EX", "1000"], ["RPUSH", "list", "a"],
             ["SET", "other", "x"], ["SET", "gone", "x", "PX", "5"]]

    def scenario(port, protocol, admin):
        return _lfu_pipeline(port, protocol, admin, setup, commands, lambda conn: (
            conn.call("MGET", "few", "ttl", "list", "new", "other", "gone"),
            _ttl(conn, "ttl"), conn.call("TYPE", "list")))

    compare_scenario(differ, scenario)


@pytest.mark.parametrize("observed", [True, False])
def test_mset_runs_as_redis(differ, observed):
    """MSETs in a row (string_runs._mset_run, keyspace events off): TTLs dropped, other
    types replaced, keys repeated within one MSET, WATCH and tracking told (or
    nobody looking on: Keyspace.set_many's shorter loop), odd argument counts refused
    mid-run."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        watcher = connect(port, protocol)
        tracked = connect(port, 3)
        try:
            for command in (["SET", "ttl", "old", "EX", "1000"], ["RPUSH", "list", "a"],
                            ["HSET", "hash", "f", "v"], ["SET", "w", "0"], ["SET", "t", "0"],
                            ["SET", "ttl2", "old", "PX", "100000"]):
                conn.call(*command)
            if observed:
                watcher.call("WATCH", "w")
                tracked.call("CLIENT", "TRACKING", "ON")
                tracked.call("GET", "t")
            replies = _pipeline(conn, [["MSET", "a", "1", "b", "2"], ["MSET", "a", "3"],
                                       ["MSET", "ttl", "x", "list", "y"], ["MSET", "a"],
                                       ["MSET", "b", "4", "b", "5", "hash", "z"],
                                       ["MSET", "a", "1", "b"], ["MSET", "c", "8"],
                                       ["MSET"], ["mset", "c", "6"],
                                       ["MSET", "w", "1", "t", "2"], ["MSET", "d", "7"],
                                       ["PING"], ["MSET", "e", "1"], ["MSET", "f", "2"],
                                       ["MSET"], ["MSET", "g", "3"],
                                       ["MSET", "n", "1", "ttl2", "2", "n", "3"]])
            watcher.call("MULTI")
            watcher.call("PING")
            keys = ["a", "b", "c", "d", "e", "f", "g", "ttl", "list", "hash", "w", "t",
                    "ttl2", "n"]
            return (replies, watcher.call("EXEC"),
                    tracked.read_raw() if observed else None,
                    [(conn.call("TYPE", key), _ttl(conn, key), conn.call("GET", key))
                     for key in keys])
        finally:
            for other in (conn, watcher, tracked):
                other.close()

    compare_scenario(differ, scenario)


def test_integer_and_null_replies_at_the_table_edges_as_redis(differ):
    """Integer replies the dispatch loops take from protocol.INT_REPLIES (-2 to 10000)
    and the ones they format (beyond it, at both ends), and null replies: alone, in a
    run of one command (runs.run_alike's handler loop) and between other commands
    (Client.run_requests), in RESP2 and RESP3."""
    values = [-10001, -3, -2, -1, 0, 1, 1023, 1024, 9999, 10000, 10001, 2 ** 40]
    setup = [["HSET", "h", "f%d" % i, v] for i, v in enumerate(values)]
    # HINCRBY by 0 replies each value as it is; a miss replies a null.
    run = [["HINCRBY", "h", "f%d" % i, "0"] for i in range(len(values))]
    mixed = []
    for i in range(len(values)):
        mixed += [["HINCRBY", "h", "f%d" % i, "0"], ["HGET", "h", "nofield"],
                  ["TTL", "nokey"], ["TTL", "h"], ["ZSCORE", "nokey", "m"]]
    misses = [["HGET", "h", "nofield%d" % i] for i in range(5)]

    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        try:
            for command in setup:
                conn.call(*command)
            alone = [conn.call(*command) for command in run + mixed[:10]]
            return alone, _pipeline(conn, run), _pipeline(conn, mixed), \
                _pipeline(conn, misses)
        finally:
            conn.close()

    compare_scenario(differ, scenario)
