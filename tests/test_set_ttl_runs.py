"""Runs of ``SET key value EX|PX n`` in a pipeline (string_runs._set_ttl_run): a cache's
writes. Each case runs on redis-server too: the replies in order (RESP2 and RESP3),
new keys, keys with and without a TTL, a key past its TTL, another type replaced,
times that are no positive integer or overflow, other spellings and arities in the
middle of a run, WATCH and client tracking told, the access stamps (OBJECT FREQ
under LFU), the dirty counter, and the TTLs themselves (set, then expired)."""
from __future__ import annotations

import time

from tests.harness import compare_scenario, connect
from tests.test_dispatch_runs import _dirty, _pipeline, _ttl

# The short keys' time to live: long enough that a loaded machine still reads them
# (MGET, TTL 0) after the pipeline on both servers -- 30 ms was not, in one CI run --
# and short enough to be gone by the read after the 0.7 s sleep.
_SHORT_MS = "400"

_KEYS = ["new", "old", "ttl", "list", "gone", "w", "t", "k", "few", "short1", "short2"]


def _commands():
    commands = [["SET", "new", "v1", "EX", "100"], ["SET", "old", "v2", "PX", "200000"],
                ["SET", "ttl", "v3", "EX", "300"], ["SET", "list", "v4", "EX", "400"],
                ["SET", "gone", "v5", "EX", "500"], ["SET", "w", "v6", "ex", "600"],
                ["SET", "t", "v7", "px", "700000"], ["SET", "few", "v8", "EX", "800"]]
    for text in ("0", "-1", "x", "", "1.5", "01", "9223372036854776",
                 "9223372036854775807"):
        for unit in ("EX", "PX"):
            commands += [["SET", "k", "a", unit, "900"], ["SET", "k", "b", unit, text]]
    commands += [["SET", "k", "c", "Ex", "900"], ["SET", "k", "d", "EX", "900"],
                 ["set", "k", "e", "EX", "900"], ["SET", "k", "f", "EX", "900", "NX"],
                 ["SET", "k", "g", "EX", "900"], ["SET", "k", "h"],
                 ["SET", "k", "i", "PX", "900000"], ["SET", "k", "j", "NX", "GET"],
                 ["SET", "k", "l", "KEEPTTL", "EX"], ["SET", "k", "m", "EX", "900"]]
    commands += [["SET", "few", "v%d" % i, "EX", "800"] for i in range(5)]
    commands += [["SET", "short1", "s", "PX", _SHORT_MS], ["SET", "short2", "s", "PX", _SHORT_MS]]
    return commands


def _expired_keys(admin) -> int:
    """INFO's expired_keys: a count since the server started, so a scenario reads its
    own change -- the servers live for a whole test session, and an earlier test whose
    keys expired on one of them only (a timing race) must not fail this one."""
    for line in admin.call("INFO", "stats").split(b"\r\n"):
        if line.startswith(b"expired_keys:"):
            return int(line.split(b":")[1])
    raise AssertionError("no expired_keys in INFO stats")


def _ttl_runs_scenario(setup, commands, keys):
    """A scenario: ``setup`` one by one (WATCH on "w", client tracking of "t", active
    expiry off, allkeys-lfu counting every access), then ``commands`` as one pipeline:
    the replies, the dirty counter's change, EXEC after the WATCH, the tracking push,
    OBJECT FREQ of "few" and "gone", the keys expired, the values and TTLs of ``keys``,
    then, active expiry on again, whether "short1" is gone and DBSIZE."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        watcher = connect(port, protocol)
        tracked = connect(port, 3)
        admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        admin.call("CONFIG", "SET", "lfu-log-factor", "0")   # every access counts
        try:
            for command in setup:
                conn.call(*command)
            watcher.call("WATCH", "w")
            tracked.call("CLIENT", "TRACKING", "ON")
            tracked.call("GET", "t")
            time.sleep(0.02)
            before, expired_before = _dirty(admin), _expired_keys(admin)
            replies = _pipeline(conn, commands)
            dirty = _dirty(admin) - before
            watcher.call("MULTI")
            watcher.call("GET", "w")
            looks = [watcher.call("EXEC"), tracked.read_raw(),
                     conn.call("OBJECT", "FREQ", "few"), conn.call("OBJECT", "FREQ", "gone"),
                     _expired_keys(admin) - expired_before,
                     conn.call("MGET", *keys)] + [_ttl(conn, key) for key in keys]
            admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            time.sleep(0.7)     # (the short keys: gone, by active expiry or lookup)
            looks += [conn.call("EXISTS", "short1"), conn.call("DBSIZE")]
            return replies, dirty, looks
        finally:
            admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            admin.call("CONFIG", "SET", "lfu-log-factor", "10")
            for other in (conn, watcher, tracked):
                other.close()

    return scenario


def test_set_ttl_runs_as_redis(differ):
    setup = [["SET", "old", "x"], ["SET", "ttl", "x", "EX", "5000"], ["RPUSH", "list", "a"],
             ["SET", "gone", "x", "PX", "5"], ["SET", "few", "x"], ["SET", "w", "x"],
             ["SET", "t", "x"]]
    compare_scenario(differ, _ttl_runs_scenario(setup, _commands(), _KEYS))


def test_set_ttl_runs_with_events_take_the_handler(differ):
    """With keyspace events on, the run goes through SET's handler: set and expire
    published for each key in order."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        subscriber = connect(port, protocol)
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        try:
            subscriber.call("PSUBSCRIBE", "__key*__:*")
            replies = _pipeline(conn, [["SET", "a", "1", "EX", "100"],
                                       ["SET", "b", "2", "PX", "100000"],
                                       ["SET", "a", "3", "EX", "100"]])
            events = [subscriber.read_raw() for _ in range(10)]
            return replies, events
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            conn.close()
            subscriber.close()

    compare_scenario(differ, scenario)


def test_expire_runs_as_redis(differ):
    """EXPIREs and PEXPIREs in a row (keys._expire_run): keys with and without a TTL,
    missing, past their TTL, of every type; times that are no positive integer or
    overflow, options, other spellings and arities mid-run; WATCH and tracking told,
    the accesses counted (OBJECT FREQ under LFU), the dirty counter, the TTLs set, and
    short ones expiring."""
    commands = [["EXPIRE", "plain", "100"], ["EXPIRE", "ttl", "200"], ["EXPIRE", "nokey", "5"],
                ["EXPIRE", "list", "300"], ["EXPIRE", "gone", "400"], ["EXPIRE", "w", "500"],
                ["EXPIRE", "t", "600"], ["EXPIRE", "few", "700"], ["expire", "few", "700"],
                ["EXPIRE", "few", "700", "NX"], ["EXPIRE", "few", "800", "GT"],
                ["EXPIRE", "few"], ["EXPIRE", "few", "700"]]
    for text in ("0", "-1", "x", "", "1.5", "01", "9223372036854775", "9223372036854776",
                 "9223372036854775807", "-9223372036854775808"):
        for name in ("EXPIRE", "PEXPIRE"):
            commands += [[name, "k", "900000"], [name, "k", text]]
    commands += [["PEXPIRE", "few", "900000"] for _ in range(5)]
    commands += [["PEXPIRE", "short1", _SHORT_MS], ["PEXPIRE", "short2", _SHORT_MS]]
    keys = ["plain", "ttl", "nokey", "list", "gone", "w", "t", "few", "k", "short1", "short2"]
    setup = [["SET", "plain", "x"], ["SET", "ttl", "x", "EX", "5000"], ["RPUSH", "list", "a"],
             ["SET", "gone", "x", "PX", "5"], ["SET", "few", "x"], ["SET", "w", "x"],
             ["SET", "t", "x"], ["HSET", "k", "f", "v"], ["SET", "short1", "x"],
             ["SET", "short2", "x"]]
    compare_scenario(differ, _ttl_runs_scenario(setup, commands, keys))
