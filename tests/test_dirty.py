"""The dirty counter (INFO persistence ``rdb_changes_since_last_save``) as Redis counts it.

Every write command adds the number of changes it made (SADD the members it added, DEL
the keys it deleted, a no-op or a failure nothing), and only a write that changed
something is propagated to the AOF and the replicas. Each case runs on redis-server
too: after every command the counter's growth must be the same on both, and so must the
replies (or their type where they are random). Pipelines exercise the dispatcher's
short loop and the commands' own loops (miniredis/runs.py).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from typing import Any, List, Sequence, Tuple

import pytest

from miniredis import Server
from tests.aofutil import aof_files
from tests.harness import (RawConnection, RedisProcess, SameType, Unordered,
                           canonical_unordered, connect, encode_command, parse_raw,
                           to_args, wait_blocked)
from tests.test_dispatch_runs import _mixed_runs

_DIRTY = re.compile(rb"rdb_changes_since_last_save:(\d+)")


def _dirty(conn: RawConnection) -> int:
    return int(_DIRTY.search(conn.call("INFO", "persistence")).group(1))


def _trace(port: int, commands: Sequence[Any]) -> List[Tuple[Any, Any, int]]:
    """(command, reply, counter growth) for each of ``commands`` on database 9 (the
    counter read on another connection: this one may be in a transaction)."""
    conn = connect(port)
    admin = connect(port)
    try:
        conn.call("FLUSHALL")
        conn.call("FUNCTION", "FLUSH")
        out = []
        for command in commands:
            inner = command.command if isinstance(command, (SameType, Unordered)) \
                else command
            before = _dirty(admin)
            raw = conn.call(*to_args(inner))
            grown = _dirty(admin) - before
            if isinstance(command, SameType):
                raw = raw[:1]
            elif isinstance(command, Unordered):
                raw = canonical_unordered(raw)
            out.append((inner, raw, grown))
        return out
    finally:
        admin.close()
        conn.close()


def _compare(differ, commands: Sequence[Any]) -> None:
    expected = _trace(differ.ports["redis"], commands)
    actual = _trace(differ.ports["miniredis"], commands)
    for want, got in zip(expected, actual):
        assert got == want, "redis: %r\nminiredis: %r" % (want, got)


_LIB = ("#!lua name=dirtylib\n"
        "redis.register_function('setit', function(keys, args) "
        "return redis.call('SET', keys[1], args[1]) end)\n"
        "redis.register_function('addit', function(keys, args) "
        "return redis.call('SADD', keys[1], args[1]) end)")

CASES = {
    "strings": [
        ["SET", "k", "v"], ["SET", "k", "v"], ["SET", "k", "w", "NX"],
        ["SET", "k", "x", "XX"], ["SET", "nk", "v", "XX"], ["SET", "k", "y", "GET"],
        ["SET", "nk2", "v", "NX", "GET"], ["SET", "k", "z", "NX", "GET"],
        ["SET", "k", "v", "EX", "100"], ["SET", "k", "v", "KEEPTTL"],
        ["SET", "k", "v", "BADOPT"], ["SET", "k", "v", "EX", "0"],
        ["LPUSH", "lst", "a"], ["SET", "lst", "v", "GET"],
        ["SETNX", "k", "x"], ["SETNX", "n1", "x"],
        ["MSET", "a", "1", "b", "2", "c", "3"], ["MSETNX", "a", "1", "d", "4"],
        ["MSETNX", "d", "4", "e", "5"], ["MSET", "a"],
        ["GETSET", "a", "9"], ["GETSET", "lst", "x"], ["GETSET", "new", "x"],
        ["GETDEL", "a"], ["GETDEL", "a"], ["GETDEL", "lst"],
        ["GETEX", "b"], ["GETEX", "b", "EX", "100"], ["GETEX", "b", "PERSIST"],
        ["GETEX", "b", "PERSIST"], ["GETEX", "nokey", "EX", "10"],
        ["GETEX", "b", "PXAT", "1"], ["GETEX", "c", "EX", "-1"],
        ["SETRANGE", "sr", "0", ""], ["SET", "s1", "hello"], ["SETRANGE", "s1", "0", ""],
        ["SETRANGE", "s1", "1", "a"], ["SETRANGE", "s1", "-1", "x"],
        ["SETRANGE", "sr", "2", "x"],
        ["APPEND", "ap", ""], ["APPEND", "ap", "x"], ["APPEND", "ap", ""],
        ["APPEND", "lst", "x"],
        ["INCR", "n"], ["INCR", "s1"], ["INCRBY", "n", "5"], ["INCRBY", "n", "x"],
        ["DECR", "n"], ["DECRBY", "n", "2"], ["INCRBYFLOAT", "f", "1.5"],
        ["INCRBYFLOAT", "f", "0"], ["INCRBYFLOAT", "s1", "1"],
        ["SETEX", "se", "100", "v"], ["PSETEX", "pe", "100000", "v"],
        ["SETEX", "se", "-1", "v"],
    ],
    "bits": [
        ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "0"],
        ["SETBIT", "b", "100", "0"], ["SETBIT", "b", "3", "0"], ["SETBIT", "nb", "0", "0"],
        ["SETBIT", "b", "x", "1"],
        ["BITOP", "AND", "dest", "b", "nb"], ["BITOP", "AND", "dest", "n1", "n2"],
        ["BITOP", "AND", "dest", "n1"], ["BITOP", "NOT", "dest", "b"],
        ["BITFIELD", "bf", "SET", "u8", "0", "1"], ["BITFIELD", "bf", "SET", "u8", "0", "1"],
        ["BITFIELD", "bf", "INCRBY", "u8", "0", "0"],
        ["BITFIELD", "bf", "SET", "u8", "0", "2", "SET", "u8", "8", "3"],
        ["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"],
        ["BITFIELD", "bf", "GET", "u8", "0"], ["BITFIELD", "bf", "SET", "u8", "64", "0"],
        ["BITFIELD_RO", "bf", "GET", "u8", "0"], ["BITFIELD", "nbf", "GET", "u8", "0"],
    ],
    "keys": [
        ["SET", "a", "1"], ["SET", "b", "2"], ["DEL", "a", "b", "c"], ["DEL", "a"],
        ["UNLINK", "b"], ["SET", "c", "1"], ["UNLINK", "c", "c"], ["SET", "k", "v"],
        ["EXPIRE", "k", "100"], ["EXPIRE", "k", "100", "NX"], ["EXPIRE", "k", "200", "XX"],
        ["EXPIRE", "k", "50", "GT"], ["EXPIRE", "k", "50", "LT"],
        ["PEXPIRE", "k", "100000"], ["EXPIREAT", "k", "99999999999"],
        ["PEXPIREAT", "k", "99999999999999"], ["EXPIRE", "nokey", "10"],
        ["EXPIRE", "k", "x"], ["PERSIST", "k"], ["PERSIST", "k"], ["PERSIST", "nokey"],
        ["EXPIRE", "k", "-1"], ["EXPIRE", "k", "-1"], ["SET", "r", "1"],
        ["RENAME", "r", "r"], ["RENAME", "r", "r2"], ["RENAME", "nokey", "x"],
        ["RENAMENX", "r2", "r2"], ["SET", "r3", "1"], ["RENAMENX", "r2", "r3"],
        ["RENAMENX", "r2", "r4"], ["MOVE", "r4", "10"], ["MOVE", "r4", "10"],
        ["SET", "r4", "x"], ["MOVE", "r4", "10"], ["COPY", "r4", "r5"],
        ["COPY", "r4", "r5"], ["COPY", "r4", "r5", "REPLACE"], ["COPY", "nokey", "r6"],
        ["COPY", "r4", "r4"], ["COPY", "r4", "r5", "DB", "10"],
        ["SWAPDB", "9", "10"], ["SWAPDB", "9", "9"], ["SWAPDB", "9", "99"],
        ["SWAPDB", "9", "10"],
    ],
    "hashes": [
        ["HSET", "h", "a", "1"], ["HSET", "h", "a", "1"], ["HSET", "h", "a", "1", "b", "2"],
        ["HSET", "h", "a"], ["HSET", "h", "a", "1", "b"], ["HMSET", "h", "c", "3", "d", "4"],
        ["HSETNX", "h", "a", "1"], ["HSETNX", "h", "z", "1"], ["HSETNX", "nh", "z", "1"],
        ["HDEL", "h", "a", "nokey"], ["HDEL", "h", "nokey"], ["HDEL", "nokey", "a"],
        ["HDEL", "nh", "z", "z"], ["HINCRBY", "h", "n", "1"], ["HINCRBY", "h", "n", "0"],
        ["HINCRBY", "h", "b", "x"], ["HINCRBYFLOAT", "h", "fl", "1.5"],
        ["HINCRBYFLOAT", "h", "fl", "0"], ["SET", "str", "x"], ["HSET", "str", "a", "1"],
    ],
    "lists": [
        ["LPUSH", "l", "a", "b", "c"], ["RPUSH", "l", "d"], ["LPUSHX", "nol", "a"],
        ["LPUSHX", "l", "x", "y"], ["RPUSHX", "l", "z"], ["RPUSHX", "nol", "z"],
        ["LINSERT", "l", "BEFORE", "a", "X"], ["LINSERT", "l", "BEFORE", "nope", "X"],
        ["LINSERT", "nol", "BEFORE", "a", "b"], ["LREM", "l", "0", "X"],
        ["LREM", "l", "0", "nope"], ["LREM", "nol", "0", "a"], ["LSET", "l", "0", "Q"],
        ["LSET", "l", "100", "Q"], ["LSET", "nol", "0", "Q"], ["LTRIM", "l", "0", "-1"],
        ["LTRIM", "l", "1", "-2"], ["LTRIM", "nol", "0", "1"], ["LPOP", "l"],
        ["LPOP", "l", "2"], ["LPOP", "l", "0"], ["RPOP", "nol"], ["RPOP", "l", "100"],
        ["RPUSH", "src", "a", "b", "c"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        ["LMOVE", "nosrc", "dst", "LEFT", "RIGHT"], ["RPOPLPUSH", "src", "src"],
        ["RPOPLPUSH", "src", "dst"], ["LMPOP", "2", "nol", "dst", "LEFT", "COUNT", "5"],
        ["LMPOP", "1", "nol", "LEFT"], ["RPUSH", "bl", "a", "b"], ["BLPOP", "bl", "0"],
        ["BRPOP", "nol2", "0.01"], ["RPUSH", "src2", "a"],
        ["BLMOVE", "src2", "dst", "RIGHT", "LEFT", "0"],
        ["BRPOPLPUSH", "dst", "dst2", "0"], ["RPUSH", "bl2", "a", "b", "c"],
        ["BLMPOP", "0", "1", "bl2", "LEFT", "COUNT", "2"], ["LTRIM", "bl2", "1", "0"],
    ],
    "sets": [
        ["SADD", "s", "a", "b", "c"], ["SADD", "s", "a"], ["SADD", "s", "a", "d", "d"],
        ["LPUSH", "lst", "x"], ["SADD", "lst", "x"], ["SREM", "s", "a", "z"],
        ["SREM", "s", "z"], ["SREM", "nos", "a"], ["SMOVE", "s", "s", "b"],
        ["SMOVE", "s", "t", "b"], ["SMOVE", "s", "t", "b"], ["SADD", "t", "c"],
        ["SMOVE", "s", "t", "c"], ["SMOVE", "nos", "t", "c"], ["SPOP", "nos"],
        SameType(["SPOP", "s"]), ["SADD", "s2", "1", "2", "3", "4", "5"],
        SameType(["SPOP", "s2", "2"]), ["SPOP", "s2", "0"], SameType(["SPOP", "s2", "10"]),
        ["SADD", "s3", "x", "y"], SameType(["SRANDMEMBER", "s3"]),
        ["SINTERSTORE", "d", "s3", "t"], ["SUNIONSTORE", "d", "s3", "t"],
        ["SINTERSTORE", "d", "nos", "t"], ["SINTERSTORE", "d", "nos", "t"],
        ["SDIFFSTORE", "d", "s3", "s3"], ["SDIFFSTORE", "d", "t", "s3"],
        ["SUNIONSTORE", "d", "lst"],
    ],
    "zsets": [
        ["ZADD", "z", "1", "a", "2", "b"], ["ZADD", "z", "1", "a"], ["ZADD", "z", "3", "a"],
        ["ZADD", "z", "NX", "5", "a", "6", "c"], ["ZADD", "z", "XX", "7", "a", "8", "d"],
        ["ZADD", "z", "GT", "1", "a"], ["ZADD", "z", "LT", "1", "a"],
        ["ZADD", "z", "CH", "1", "a"], ["ZADD", "z", "INCR", "0", "a"],
        ["ZINCRBY", "z", "0", "a"], ["ZINCRBY", "z", "1", "a"], ["ZINCRBY", "z", "1", "e"],
        ["ZADD", "z", "nan", "x"], ["ZADD", "z", "INCR", "inf", "a"],
        ["ZADD", "z", "INCR", "-inf", "a"], ["ZADD", "nz", "XX", "1", "a"],
        ["ZREM", "z", "a", "nope"], ["ZREM", "z", "nope"], ["ZREM", "nz", "a"],
        ["ZREMRANGEBYSCORE", "z", "100", "200"], ["ZREMRANGEBYRANK", "z", "0", "0"],
        ["ZADD", "zl", "0", "a", "0", "b", "0", "c"],
        ["ZREMRANGEBYLEX", "zl", "[a", "[b"], ["ZREMRANGEBYLEX", "zl", "[a", "[b"],
        ["ZRANGESTORE", "dst", "z", "0", "-1"], ["ZRANGESTORE", "dst", "nokey", "0", "-1"],
        ["ZRANGESTORE", "dst", "nokey", "0", "-1"], ["ZUNIONSTORE", "u", "2", "z", "zl"],
        ["ZINTERSTORE", "i", "2", "z", "zl"], ["ZDIFFSTORE", "u", "1", "nokey"],
        ["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
        ["ZPOPMIN", "p"], ["ZPOPMAX", "p", "2"], ["ZPOPMIN", "noz"], ["ZPOPMIN", "p", "0"],
        ["ZMPOP", "1", "p", "MIN", "COUNT", "5"], ["ZMPOP", "1", "p", "MIN"],
        ["ZADD", "q", "1", "a", "2", "b", "3", "c"], ["BZPOPMIN", "q", "0"],
        ["BZMPOP", "0", "1", "q", "MAX", "COUNT", "5"],
    ],
    "streams": [
        ["XADD", "st", "1-1", "f", "v"], ["XADD", "st", "1-1", "f", "v"],
        ["XADD", "nost", "NOMKSTREAM", "*", "f", "v"],
        ["XADD", "st", "MAXLEN", "1", "2-1", "f", "v"], ["XTRIM", "st", "MAXLEN", "0"],
        ["XTRIM", "st", "MAXLEN", "0"], ["XTRIM", "nost", "MAXLEN", "0"],
        ["XADD", "st", "3-1", "f", "v"], ["XADD", "st", "4-1", "f", "v"],
        ["XDEL", "st", "3-1", "9-9"], ["XDEL", "st", "9-9"],
        ["XGROUP", "CREATE", "st", "g", "0"], ["XGROUP", "CREATE", "st", "g", "0"],
        ["XGROUP", "CREATE", "nost2", "g", "$", "MKSTREAM"],
        ["XGROUP", "CREATECONSUMER", "st", "g", "c1"],
        ["XGROUP", "CREATECONSUMER", "st", "g", "c1"],
        ["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "st", ">"],
        ["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "st", ">"],
        ["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "st", "0"],
        ["XREADGROUP", "GROUP", "g", "c5", "STREAMS", "st", "0"],
        ["XACK", "st", "g", "4-1"], ["XACK", "st", "g", "4-1"],
        ["XADD", "st", "5-1", "f", "v"], ["XADD", "st", "6-1", "f", "v"],
        ["XREADGROUP", "GROUP", "g", "c1", "NOACK", "STREAMS", "st", ">"],
        ["XGROUP", "SETID", "st", "g", "4-1"],
        ["XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "st", ">"],
        ["XCLAIM", "st", "g", "c3", "0", "5-1", "JUSTID"],
        ["XCLAIM", "st", "g", "c3", "0", "9-9"],
        ["XCLAIM", "st", "g", "c3", "0", "9-9", "LASTID", "9-9"],
        ["XCLAIM", "st", "g", "c3", "0", "9-9", "LASTID", "9-9"],
        ["XAUTOCLAIM", "st", "g", "c4", "0", "0", "JUSTID"],
        ["XAUTOCLAIM", "st", "g", "c6", "0", "0", "JUSTID"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "st", ">"],
        ["XDEL", "st", "6-1"], ["XAUTOCLAIM", "st", "g", "c4", "0", "0", "JUSTID"],
        ["XGROUP", "DELCONSUMER", "st", "g", "c4"],
        ["XGROUP", "DELCONSUMER", "st", "g", "nope"], ["XGROUP", "SETID", "st", "g", "0"],
        ["XSETID", "st", "99-9"], ["XSETID", "st", "1-1"],
        ["XGROUP", "DESTROY", "st", "g"], ["XGROUP", "DESTROY", "st", "g"],
    ],
    "hyperloglog": [
        ["PFADD", "h", "a", "b", "c"], ["PFADD", "h", "a"], ["PFADD", "h"],
        ["PFADD", "new"], ["PFADD", "new"], ["PFMERGE", "d", "h", "new"],
        ["PFMERGE", "d"], ["PFCOUNT", "h"], ["PFCOUNT", "h"], ["PFCOUNT", "h", "d"],
        ["PFADD", "big"] + ["e%d" % i for i in range(100)],
        ["PFADD", "big"] + ["e%d" % i for i in range(100)],
        ["PFDEBUG", "TODENSE", "h"], ["PFDEBUG", "TODENSE", "h"],
        ["PFDEBUG", "GETREG", "new"], ["PFDEBUG", "GETREG", "new"],
        ["PFDEBUG", "ENCODING", "h"], ["SET", "str", "x"], ["PFADD", "str", "a"],
    ],
    "geo": [
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
         "Catania"],
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo"],
        ["GEOADD", "g", "XX", "CH", "13.5", "38.2", "Palermo"],
        ["GEOADD", "g", "NX", "13", "38", "Palermo"], ["GEOADD", "g", "500", "38", "X"],
        ["GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
        ["GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
        ["GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
        ["GEOSEARCHSTORE", "dst", "nog", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "dst2"],
        ["GEORADIUS", "g", "15", "37", "200", "km"],
        ["GEORADIUSBYMEMBER", "g", "Palermo", "300", "km", "STOREDIST", "dd"],
        ["GEORADIUSBYMEMBER", "g", "Palermo", "300", "km", "COUNT", "1", "STORE", "dd"],
    ],
    "sort": [
        ["RPUSH", "sl", "3", "1", "2"], ["SORT", "sl"], ["SORT", "sl", "STORE", "out"],
        ["SORT", "sl", "STORE", "out", "GET", "#", "GET", "#"],
        ["SORT", "nol", "STORE", "out"], ["SORT", "nol", "STORE", "out"],
        ["SORT_RO", "sl"], ["SORT", "sl", "LIMIT", "0", "1", "STORE", "out"],
    ],
    "server": [
        ["SET", "a", "1"], ["SET", "b", "2"], ["SET", "c", "3", "PX", "1"], ["FLUSHDB"],
        ["FLUSHDB"], ["FLUSHDB", "BAD"], ["SET", "x", "1"], ["FLUSHALL"], ["FLUSHALL"],
        ["FLUSHALL", "SYNC"],
    ],
    "functions": [
        ["FUNCTION", "LOAD", _LIB], ["FUNCTION", "LOAD", _LIB],
        ["FUNCTION", "LOAD", "REPLACE", _LIB], ["FCALL", "setit", "1", "k", "v"],
        ["FCALL", "addit", "1", "s", "v"], ["FCALL", "addit", "1", "s", "v"],
        ["FCALL_RO", "setit", "1", "k", "v"], ["FUNCTION", "DELETE", "dirtylib"],
        ["FUNCTION", "DELETE", "dirtylib"], ["FUNCTION", "FLUSH"], ["FUNCTION", "FLUSH"],
    ],
    "scripts": [
        ["EVAL", "return redis.call('SADD', KEYS[1], 'a')", "1", "s"],
        ["EVAL", "return redis.call('SADD', KEYS[1], 'a')", "1", "s"],
        ["EVAL", "redis.call('SET', KEYS[1], 'x'); redis.call('DEL', KEYS[1]); return 1",
         "1", "k"],
        ["EVAL", "return redis.call('GET', KEYS[1])", "1", "k"],
        ["EVAL", "redis.call('SET', KEYS[1], 'x'); return redis.call('INCR', KEYS[1])",
         "1", "k"],
        ["EVAL", "redis.call('SADD', KEYS[1], 'b', 'c'); "
         "return redis.pcall('HSET', KEYS[1], 'a', 'b')", "1", "s"],
        ["EVAL", "return redis.call('FLUSHDB')", "0"],
        ["EVAL", "return redis.call('DEL', 'x', 'y')", "0"],
        ["EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k"],
    ],
    "transactions": [
        ["MULTI"], ["SADD", "s", "a"], ["SADD", "s", "a"], ["INCR", "n"], ["EXEC"],
        ["MULTI"], ["SADD", "s", "a"], ["DEL", "nokey"], ["EXEC"],
        ["MULTI"], ["SET", "k", "v"], ["DISCARD"],
        ["MULTI"], ["HSET", "h", "a", "1", "b", "2"], ["INCR", "s"], ["EXEC"],
        ["MULTI"], ["SET", "k"], ["EXEC"],
    ],
    "expiry": [
        ["SET", "k", "v", "PX", "1"], ["DEBUG", "SLEEP", "0.01"], ["GET", "k"],
        ["SET", "k2", "v", "PX", "1"], ["DEBUG", "SLEEP", "0.01"], ["DEL", "k2"],
        # (10 ms: a PEXPIRE of 1 ms is deleted at once by Redis now and then, when a
        # millisecond ends between its two clock readings; test_lazyfree says more)
        ["SADD", "s", "a"], ["PEXPIRE", "s", "10"], ["DEBUG", "SLEEP", "0.05"],
        ["SADD", "s", "a"], ["EXISTS", "s"],
    ],
}


@pytest.mark.parametrize("family", sorted(CASES))
def test_each_command_counts_as_redis(differ, family):
    _compare(differ, CASES[family])


def test_restore_and_function_restore_count_as_redis(differ):
    conn = RawConnection(differ.ports["redis"])
    try:
        conn.call("SET", "dirty:src", "value")
        payload = parse_raw(conn.call("DUMP", "dirty:src"))[1]
        conn.call("DEL", "dirty:src")
        conn.call("FUNCTION", "FLUSH")
        conn.call("FUNCTION", "LOAD", _LIB)
        library = parse_raw(conn.call("FUNCTION", "DUMP"))[1]
        conn.call("FUNCTION", "FLUSH")
    finally:
        conn.close()
    _compare(differ, [
        ["RESTORE", "r", "0", payload], ["RESTORE", "r", "0", payload],
        ["RESTORE", "r", "0", payload, "REPLACE"],
        ["RESTORE", "r", "1", payload, "REPLACE", "ABSTTL"],
        ["RESTORE", "r", "1", payload, "ABSTTL"], ["RESTORE", "r2", "0", b"bad"],
        ["FUNCTION", "RESTORE", library], ["FUNCTION", "RESTORE", library],
        ["FUNCTION", "RESTORE", library, "REPLACE"], ["FUNCTION", "FLUSH"],
    ])


def _pipelined(port: int, commands: List[List[Any]], setup: Sequence[List[Any]]
               ) -> Tuple[List[bytes], int]:
    conn = connect(port)
    try:
        conn.call("FLUSHALL")
        for command in setup:
            conn.call(*command)
        before = _dirty(conn)
        conn.send_raw(b"".join(encode_command(c) for c in commands))
        replies = [conn.read_raw() for _ in commands]
        return replies, _dirty(conn) - before
    finally:
        conn.close()


_SETUP = [["SADD", "s", "a"], ["RPUSH", "l"] + ["e%d" % i for i in range(10)],
          ["HSET", "h", "f", "v"], ["ZADD", "z", "1", "m"], ["XADD", "st", "1-1", "f", "v"],
          ["SET", "n", "5"], ["SET", "nan", "x"]]

PIPELINES = {
    "sadd": [["SADD", "s", "a"]] * 20,
    "sadd-some": [["SADD", "s", "m%d" % (i % 7)] for i in range(20)],
    "set": [["SET", "k%d" % (i % 3), "v"] for i in range(16)],
    "set-nx": [["SET", "k", "v", "NX"]] * 16,
    "incr": [["INCR", "n"]] * 16 + [["INCR", "nan"]] * 2 + [["INCR", "n"]] * 3,
    "lpush": [["LPUSH", "l", "a", "b"]] * 16,
    "rpush-x": [["RPUSHX", "nol", "a"]] * 8 + [["RPUSHX", "l", "a"]] * 8,
    "rpop": [["RPOP", "l"]] * 16,
    "lpop-count": [["LPOP", "l", "3"]] * 6,
    "hset": [["HSET", "h", "f", "v"]] * 16 + [["HSET", "h", "f%d" % i, "v"] for i in range(4)],
    "hset-pairs": [["HSET", "h", "a", "1", "b", "2"]] * 8,
    "zadd": [["ZADD", "z", "1", "m"]] * 8 + [["ZADD", "z", str(i), "m"] for i in range(8)],
    "xadd": [["XADD", "st", "1-%d" % (i + 2), "f", "v"] for i in range(16)],
    "mset": [["MSET", "a", "1", "b", "2"]] * 16,
    "del": [["DEL", "k%d" % i] for i in range(16)],
    "expire": [["EXPIRE", "s", "100"]] * 4 + [["EXPIRE", "s", "100", "NX"]] * 4,
    "srem": [["SREM", "s", "a"]] * 8,
    "mixed": _mixed_runs(),
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_pipelines_count_as_redis(differ, name):
    commands = PIPELINES[name]
    expected = _pipelined(differ.ports["redis"], commands, _SETUP)
    actual = _pipelined(differ.ports["miniredis"], commands, _SETUP)
    assert actual == expected


def test_xadd_pipeline_with_generated_ids(differ):
    commands = [["XADD", "st", "*", "f", "v"]] * 16 + \
        [["XADD", "nost", "NOMKSTREAM", "*", "f", "v"]] * 4
    for port in differ.ports.values():
        replies, grown = _pipelined(port, commands, _SETUP)
        assert grown == 16
        assert replies[-4:] == [b"$-1\r\n"] * 4


def _served(port: int, block: List[Any], write: List[Any], setup: Sequence[List[Any]]
            ) -> Tuple[bytes, bytes, int]:
    """A client blocks on ``block``; another runs ``write``, which serves it: their
    replies and the counter's growth over the write and the serving."""
    admin = connect(port)
    waiter = connect(port)
    try:
        admin.call("FLUSHALL")
        for command in setup:
            admin.call(*command)
        waiter.send(*block)
        wait_blocked(admin, 1)
        before = _dirty(admin)
        reply = admin.call(*write)
        served = waiter.read_raw()
        return reply, served, _dirty(admin) - before
    finally:
        waiter.close()
        admin.close()


SERVED = {
    "blpop": (["BLPOP", "q", "0"], ["LPUSH", "q", "a", "b"], []),
    "brpop": (["BRPOP", "q", "0"], ["RPUSH", "q", "a"], []),
    "blmove": (["BLMOVE", "q", "d", "LEFT", "RIGHT", "0"], ["RPUSH", "q", "a"], []),
    "brpoplpush": (["BRPOPLPUSH", "q", "d", "0"], ["RPUSH", "q", "a"], []),
    "blmpop": (["BLMPOP", "0", "1", "q", "LEFT", "COUNT", "2"], ["RPUSH", "q", "a", "b", "c"],
               []),
    "bzpopmin": (["BZPOPMIN", "z", "0"], ["ZADD", "z", "1", "a", "2", "b"], []),
    "bzmpop": (["BZMPOP", "0", "1", "z", "MAX", "COUNT", "2"],
               ["ZADD", "z", "1", "a", "2", "b", "3", "c"], []),
    "xreadgroup": (["XREADGROUP", "BLOCK", "0", "GROUP", "g", "new", "STREAMS", "st", ">"],
                   ["XADD", "st", "2-1", "f", "v"],
                   [["XGROUP", "CREATE", "st", "g", "$", "MKSTREAM"]]),
    "xread": (["XREAD", "BLOCK", "0", "STREAMS", "st", "$"], ["XADD", "st", "2-1", "f", "v"],
              [["XADD", "st", "1-1", "f", "v"]]),
}


@pytest.mark.parametrize("name", sorted(SERVED))
def test_blocked_clients_served_later_count_as_redis(differ, name):
    block, write, setup = SERVED[name]
    expected = _served(differ.ports["redis"], block, write, setup)
    actual = _served(differ.ports["miniredis"], block, write, setup)
    assert actual == expected


# -- propagation: a write that changed nothing is not in the AOF ---------------------------
_AOF_SCRIPT = [
    ["SADD", "s", "a"], ["SADD", "s", "a"], ["SREM", "s", "zz"], ["DEL", "nokey"],
    ["SET", "k", "v", "NX"], ["SET", "k", "w", "NX"], ["SET", "k", "x", "XX"],
    ["SET", "nk", "x", "XX"], ["HSET", "h", "a", "1"], ["HSETNX", "h", "a", "2"],
    ["HDEL", "h", "zz"], ["LPUSHX", "nol", "a"], ["RPUSH", "l", "a"], ["LREM", "l", "0", "z"],
    ["LTRIM", "l", "0", "-1"], ["LPOP", "nol"], ["ZADD", "z", "1", "m"],
    ["ZADD", "z", "1", "m"], ["ZINCRBY", "z", "0", "m"], ["ZREM", "z", "zz"],
    ["SETBIT", "b", "1", "1"], ["SETBIT", "b", "1", "1"], ["SETRANGE", "k", "0", ""],
    ["RENAME", "k", "k"], ["RENAMENX", "k", "h"], ["EXPIRE", "nokey", "10"],
    ["PERSIST", "k"], ["SINTERSTORE", "d", "nos"], ["SORT", "l"],
    ["SMOVE", "s", "s", "a"], ["PFADD", "p", "a"], ["PFADD", "p", "a"],
    ["BITFIELD", "b", "GET", "u8", "0"], ["MULTI"], ["SADD", "s", "a"], ["DEL", "nokey"],
    ["EXEC"], ["MULTI"], ["SADD", "s", "a"], ["SADD", "s", "b"], ["EXEC"],
    ["EVAL", "return redis.call('SADD', KEYS[1], 'a')", "1", "s"],
    ["EVAL", "redis.call('SADD', KEYS[1], 'c'); return redis.call('SADD', KEYS[1], 'c')",
     "1", "s"],
    ["FLUSHDB"], ["FLUSHDB"], ["SET", "last", "1"],
]


def _aof_commands(directory: str) -> List[List[bytes]]:
    data = open(aof_files(directory)[-1], "rb").read()
    out = []
    pos = 0
    while pos < len(data):
        raw_pos = pos
        count_end = data.index(b"\r\n", pos)
        count = int(data[pos + 1:count_end])
        pos = count_end + 2
        argv = []
        for _ in range(count):
            size_end = data.index(b"\r\n", pos)
            size = int(data[pos + 1:size_end])
            argv.append(data[size_end + 2:size_end + 2 + size])
            pos = size_end + 4 + size
        assert data[raw_pos:raw_pos + 1] == b"*"
        out.append(argv)
    return out


def _run_on(port: int, commands: Sequence[List[Any]]) -> None:
    conn = RawConnection(port)
    try:
        for command in commands:
            conn.call(*command)
    finally:
        conn.close()


def test_no_op_writes_are_not_in_the_aof(real_redis):
    mini_dir = tempfile.mkdtemp(prefix="mini-dirty-")
    try:
        real = RedisProcess(shutil.which("redis-server") or "/usr/bin/redis-server",
                            ["--appendonly", "yes"])
        try:
            with Server(port=0, appendonly=True, dir=mini_dir) as server:
                _run_on(real.port, _AOF_SCRIPT)
                _run_on(server.port, _AOF_SCRIPT)
                time.sleep(0.1)
                expected = _aof_commands(real.dir)
                actual = _aof_commands(mini_dir)
        finally:
            real.stop()
    finally:
        shutil.rmtree(mini_dir, ignore_errors=True)
    assert actual == expected


# -- save points follow the counter ----------------------------------------------------------
def _saves_after(port: int, commands: Sequence[List[Any]]) -> Tuple[int, bool]:
    """Run ``commands`` under ``save 1 5``; the counter, and whether a save reset it
    within 2.5 s (a save point needs more than a second since the last save)."""
    conn = connect(port)
    try:
        conn.call("FLUSHALL")
        conn.call("SAVE")
        conn.call("CONFIG", "SET", "save", "1 5")
        try:
            for command in commands:
                conn.call(*command)
            counted = _dirty(conn)
            deadline = time.time() + 2.5
            while time.time() < deadline:
                if _dirty(conn) == 0:
                    return counted, True
                time.sleep(0.05)
            return counted, False
        finally:
            conn.call("CONFIG", "SET", "save", "")
    finally:
        conn.close()


@pytest.mark.parametrize("commands", [
    [["SADD", "s", "a", "b", "c", "d"]] + [["SADD", "s", "a"]] * 10,
    [["SADD", "s", "a", "b", "c", "d"]] + [["SADD", "s", "a"]] * 10 + [["SADD", "s", "e"]],
], ids=["below", "reached"])
def test_save_points_follow_the_counter(differ, commands):
    expected = _saves_after(differ.ports["redis"], commands)
    actual = _saves_after(differ.ports["miniredis"], commands)
    assert actual == expected


# -- a restart: the changes the AOF replayed stay counted ------------------------------------
_REPLAYED = [["SADD", "s", "a", "b", "c"], ["SADD", "s", "a"], ["SET", "k", "v"],
             ["MULTI"], ["INCR", "n"], ["HSET", "h", "a", "1", "b", "2"], ["EXEC"],
             ["DEL", "k", "nokey"]]


def _dirty_once_loaded(port: int) -> int:
    conn = RawConnection(port)
    try:
        deadline = time.time() + 10
        # (Redis answers INFO between the AOF's files: DBSIZE waits for the end)
        while conn.call("DBSIZE").startswith(b"-LOADING"):
            assert time.time() < deadline
            time.sleep(0.02)
        return _dirty(conn)
    finally:
        conn.close()


def test_changes_replayed_from_the_aof_stay_counted(real_redis):
    redis_dir = tempfile.mkdtemp(prefix="real-dirty-")
    mini_dir = tempfile.mkdtemp(prefix="mini-dirty-")
    executable = shutil.which("redis-server") or "/usr/bin/redis-server"
    options = ["--appendonly", "yes", "--dir", redis_dir]
    try:
        first = RedisProcess(executable, options)
        try:
            _run_on(first.port, _REPLAYED)
        finally:
            first.stop()
        second = RedisProcess(executable, options)
        try:
            expected = _dirty_once_loaded(second.port)
        finally:
            second.stop()
        with Server(port=0, appendonly=True, dir=mini_dir) as server:
            _run_on(server.port, _REPLAYED)
        with Server(port=0, appendonly=True, dir=mini_dir) as server:
            actual = _dirty_once_loaded(server.port)
    finally:
        shutil.rmtree(redis_dir, ignore_errors=True)
        shutil.rmtree(mini_dir, ignore_errors=True)
    assert expected == 8, expected
    assert actual == expected
