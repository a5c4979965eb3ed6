"""Runs of one-key reads in a pipeline (commands/reads.py): HGET, SISMEMBER, TTL, LLEN...
answered by their own loop. Each case runs on redis-server too: the replies in order
(RESP2 and RESP3), misses, other types, keys due to expire, arity refusals and other
spellings in the middle of a run, the keyspace hits and misses, keymiss events, and
the accesses each lookup counts (OBJECT FREQ under LFU) or does not (LOOKUP_NOTOUCH).
"""
from __future__ import annotations

import time
from typing import Any, List

from tests.harness import compare_scenario, connect, encode_command

# Keys of every type and encoding, one with a TTL to come ("ttl") and one past it
# ("gone", read with active expiry off).
_SETUP = [
    ["CONFIG", "SET", "hash-max-listpack-entries", "4"],
    ["CONFIG", "SET", "zset-max-listpack-entries", "4"],
    ["CONFIG", "SET", "list-max-listpack-size", "4"],
    ["SET", "str", "hello"], ["SET", "num", "12345"], ["SET", "edited", "ab"],
    ["APPEND", "edited", "cd"], ["SETBIT", "bits", "9", "1"], ["SET", "empty", ""],
    ["HSET", "h", "f", "v", "g", "\x00\x01\x02", "", "e"],
    ["HSET", "hbig", "a", "1", "b", "2", "c", "3", "d", "4", "e", "x" * 2000],
    ["SADD", "ints", "1", "2", "3"], ["SADD", "words", "a", "b"],
    ["SADD", "sbig"] + ["m%d" % i for i in range(200)],
    ["RPUSH", "l", "a", "", "c"], ["RPUSH", "lbig"] + ["e%d" % i for i in range(50)],
    ["ZADD", "z", "1", "a", "2.5", "b", "-0", "c"],
    ["ZADD", "zf", "+inf", "a", "-inf", "b", "0.1", "c", "-1e300", "d", "123456789012", "e",
     "-0", "f"],
    ["ZADD", "zbig"] + [x for i in range(20) for x in (str(i * 1.5), "m%d" % i)],
    ["HSET", "ttl", "f", "v"], ["EXPIRE", "ttl", "1000"],
    ["SADD", "gone", "f"], ["PEXPIRE", "gone", "5"],
    ["XADD", "stream", "1-1", "f", "v"],
]
_KEYS = ["str", "num", "edited", "bits", "empty", "h", "hbig", "ints", "words", "sbig",
         "l", "lbig", "z", "zf", "zbig", "ttl", "missing", "stream"]

# Each command with the arguments after its key.
_READS = [
    ("HGET", ["f"]), ("HGET", ["g"]), ("HGET", [""]), ("HGET", ["e"]), ("HGET", ["no"]),
    ("HEXISTS", ["f"]), ("HEXISTS", ["no"]), ("HLEN", []), ("HSTRLEN", ["e"]),
    ("HSTRLEN", ["g"]), ("SISMEMBER", ["2"]), ("SISMEMBER", ["b"]),
    ("SISMEMBER", ["m150"]), ("SISMEMBER", ["no"]), ("SCARD", []), ("LLEN", []),
    ("LINDEX", ["0"]), ("LINDEX", ["-1"]), ("LINDEX", ["25"]), ("LINDEX", ["-51"]),
    ("LINDEX", ["3"]), ("ZSCORE", ["a"]), ("ZSCORE", ["b"]), ("ZSCORE", ["c"]),
    ("ZSCORE", ["m7"]), ("ZSCORE", ["d"]), ("ZSCORE", ["e"]), ("ZSCORE", ["f"]),
    ("ZSCORE", ["no"]),
    ("ZCARD", []), ("ZRANK", ["b"]),
    ("ZRANK", ["m19"]), ("ZRANK", ["no"]), ("STRLEN", []), ("EXISTS", []), ("TYPE", []),
    ("TTL", []), ("PTTL", []), ("EXPIRETIME", []), ("PEXPIRETIME", []),
]


def _gone(index: int, name: str) -> List[List[Any]]:
    """Set-up of the key "gone<index>", of the type ``name`` reads, past its TTL."""
    key = "gone%d" % index
    write = {"H": ["HSET", key, "f", "v"], "S": ["SADD", key, "2"],
             "L": ["RPUSH", key, "a"], "Z": ["ZADD", key, "1", "a"]}
    return [write.get(name[0], ["SET", key, "v"]), ["PEXPIRE", key, "5"]]


def _runs() -> List[List[Any]]:
    """Each read over every key in a row (and a key of its type past its TTL), then
    runs broken by refusals, errors, other spellings and other commands."""
    commands: List[List[Any]] = []
    for index, (name, rest) in enumerate(_READS):
        keys = _KEYS[:5] + ["gone%d" % index] + _KEYS[5:]
        commands += [[name, key] + rest for key in keys]
    commands += [["HGET", "h", "f"], ["HGET", "h"], ["HGET", "h", "f", "x"],
                 ["hget", "h", "f"], ["HGET", "h", "f"], ["Hget", "h", "g"],
                 ["HGET", "gone", "f"], ["HGET", "h", "f"], ["HLEN", "h"], ["HLEN", "h"]]
    for index in ("x", "", "1.0", " 1", "9223372036854775808", "-9223372036854775809",
                  "9223372036854775807", "-9223372036854775808", "01"):
        commands += [["LINDEX", "l", "0"], ["LINDEX", "l", index], ["LINDEX", "missing",
                                                                     index]]
    commands += [["EXISTS", "str"], ["EXISTS", "str", "h"], ["EXISTS", "missing"],
                 ["EXISTS", "str"], ["TYPE", "str"], ["TYPE"], ["TYPE", "z"],
                 ["ZRANK", "z", "a"], ["ZRANK", "z"], ["ZRANK", "z", "b"]]
    commands += [["SCARD", key] for key in ("ints", "gone", "ints")]
    commands += [["TTL", key] for key in ("ttl", "ttl", "str")]
    commands += [["PTTL", key] for key in ("ttl", "missing")]
    return commands


def _pipeline(conn, commands: List[List[Any]]) -> List[bytes]:
    conn.send_raw(b"".join(encode_command(c) for c in commands))
    return [conn.read_raw() for _ in commands]


def _stats(admin) -> List[bytes]:
    """INFO's keyspace hits and misses, and the expired keys."""
    return [line for line in admin.call("INFO", "stats").split(b"\r\n")
            if line.startswith((b"keyspace_", b"expired_keys:"))]


def _loose_ttls(commands: List[List[Any]], replies: List[bytes]) -> List[bytes]:
    """The replies, those of TTL and PTTL of the key with a TTL to come rounded (the
    servers are read at different moments)."""
    loose = []
    for command, reply in zip(commands, replies):
        if command[:2] in (["TTL", "ttl"], ["PTTL", "ttl"]) and reply.startswith(b":"):
            unit = 1 if command[0] == "TTL" else 1000
            loose.append(b":~%d" % round(int(reply[1:-2]) / unit, -2))
        else:
            loose.append(reply)
    return loose


def test_read_runs_as_redis(differ):
    commands = _runs()

    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        try:
            for command in _SETUP:
                conn.call(*command)
            for index, (name, _) in enumerate(_READS):
                for command in _gone(index, name):
                    conn.call(*command)
            expiry = [conn.call("EXPIRETIME", "ttl"), conn.call("PEXPIRETIME", "ttl")]
            time.sleep(0.02)
            admin.call("CONFIG", "RESETSTAT")
            replies = _loose_ttls(commands, _pipeline(conn, commands))
            # (EXPIRETIME's replies as read just after the EXPIRE: the same on both)
            replies = [reply.replace(expiry[0], b"<s>").replace(expiry[1], b"<ms>")
                       for reply in replies]
            return replies, _stats(admin), conn.call("EXISTS", "gone")
        finally:
            admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            for name, value in (("hash-max-listpack-entries", "128"),
                                ("zset-max-listpack-entries", "128"),
                                ("list-max-listpack-size", "-2")):
                admin.call("CONFIG", "SET", name, value)
            conn.close()

    compare_scenario(differ, scenario)


def test_read_runs_notify_misses_and_count_accesses_as_redis(differ):
    """Under allkeys-lfu with every access counted: the reads that stamp a key's access
    count each one (OBJECT FREQ), EXISTS, TYPE and TTL count none; each miss publishes
    keymiss."""
    touching = [["HGET", "h", "f"], ["HLEN", "h"], ["HSTRLEN", "h", "f"],
                ["HEXISTS", "h", "f"]]
    sets = [["SISMEMBER", "s", "a"], ["SCARD", "s"]]
    lists = [["LLEN", "l"], ["LINDEX", "l", "0"]]
    zsets = [["ZSCORE", "z", "a"], ["ZCARD", "z"], ["ZRANK", "z", "a"]]
    strings = [["STRLEN", "str"]]
    untouched = [["EXISTS", "str"], ["TYPE", "h"], ["TTL", "s"], ["PTTL", "l"],
                 ["EXPIRETIME", "z"], ["PEXPIRETIME", "str"]]

    def scenario(port, protocol, admin):
        subscriber = connect(port, protocol)
        conn = connect(port, protocol)
        admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        admin.call("CONFIG", "SET", "lfu-log-factor", "0")   # every access counts
        try:
            for command in (["HSET", "h", "f", "v"], ["SADD", "s", "a"],
                            ["RPUSH", "l", "a"], ["ZADD", "z", "1", "a"],
                            ["SET", "str", "text"]):
                conn.call(*command)
            commands = []
            for group in (touching, sets, lists, zsets, strings, untouched):
                for command in group:
                    commands += [command] * 3
            missing = [[command[0], "no%d-%d" % (i, twice)] + command[2:]
                       for i, command in enumerate(touching + sets + zsets + untouched)
                       for twice in (1, 2)]
            commands += missing
            admin.call("CONFIG", "SET", "notify-keyspace-events", "Em")
            subscriber.call("SUBSCRIBE", "__keyevent@9__:keymiss")
            replies = _pipeline(conn, commands)
            events = [subscriber.read_raw() for _ in missing]
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            freq = [conn.call("OBJECT", "FREQ", key) for key in ("h", "s", "l", "z", "str")]
            return replies, events, freq
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            admin.call("CONFIG", "SET", "lfu-log-factor", "10")
            subscriber.close()
            conn.close()

    compare_scenario(differ, scenario)
