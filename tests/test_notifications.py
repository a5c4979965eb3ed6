"""Keyspace notifications: the events each command publishes, compared with redis-server.

A subscriber on ``__key*@9__:*`` records every event while a command sequence runs;
the recorded messages (channel and payload, in order) must be identical.
"""
from __future__ import annotations

import shlex
import time

import pytest

from tests.harness import compare_scenario, connect, replies_until


def _events(commands, flags="KEA", setup=()):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "SET", "notify-keyspace-events", flags)
        sub = connect(port, protocol)
        try:
            sub.call("PSUBSCRIBE", "__key*@9__:*")
            for cmd in setup:
                admin.call(*cmd.split())
            replies = []
            for cmd in commands:
                if cmd == "sleep":
                    time.sleep(0.15)
                    continue
                replies.append(admin.call(*shlex.split(cmd)))
            marker = admin.call("PUBLISH", "__keyspace@9__:END", "end")
            assert marker == b":1\r\n"
            events = replies_until(sub, b"__keyspace@9__:END")
            return [replies, events]
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            sub.call("RESET")   # drop the pattern before the next test counts patterns
            sub.close()
    return scenario


CASES = {
    "strings": ["SET a 1", "SET a 2 EX 100", "SETNX a 3", "SETNX b 3", "SETEX c 10 v",
                "PSETEX d 1000 v", "GETSET a 9", "MSET e 1 f 2", "MSETNX g 1 h 2",
                "MSETNX g 1 z 2", "APPEND a x", "APPEND new x", "SETRANGE a 0 yy",
                "SETRANGE a 0 ''", "INCR n", "DECR n", "INCRBY n 5", "DECRBY n 2",
                "INCRBYFLOAT n 1.5", "GETDEL a", "GETDEL a", "GETEX b EX 100",
                "GETEX b PERSIST", "GETEX b", "GETEX b PX 0", "SET k v KEEPTTL",
                "SET k v NX", "SET k w XX GET", "SET q v PXAT 1"],
    "bits": ["SETBIT b 7 1", "SETBIT b 7 1", "SETBIT b 7 0", "SET x abc", "BITOP AND d b x",
             "BITOP OR e nothere", "BITFIELD bf SET u8 0 200 GET u8 0",
             "BITFIELD bf GET u8 0", "BITFIELD bf INCRBY u8 0 100", "BITFIELD_RO bf GET u8 0"],
    "generic": ["SET a 1", "SET b 2", "DEL a b c", "SET a 1", "UNLINK a", "SET a 1",
                "EXPIRE a 100", "PEXPIRE a 100000", "EXPIREAT a 99999999999",
                "PERSIST a", "PERSIST a", "EXPIRE a 100 NX", "EXPIRE a 50 GT",
                "EXPIRE a -1", "SET a 1", "PEXPIREAT a 1", "SET a 1", "RENAME a b",
                "SET a 1", "RENAME a b", "RENAMENX b c", "RENAMENX c c", "COPY c d",
                "COPY c d", "COPY c d REPLACE", "MOVE d 10", "SET x 1 PX 50", "sleep",
                "GET x", "SET y 1", "TOUCH y", "EXISTS y", "TYPE y"],
    "lists": ["RPUSH l a b c d e f", "LPUSH l z", "LPUSHX l y", "RPUSHX l x", "LPUSHX no y",
              "LPOP l", "RPOP l 2", "LSET l 0 q", "LINSERT l BEFORE q p",
              "LINSERT l BEFORE nothing p", "LREM l 1 p", "LREM l 0 nothing", "LTRIM l 0 1",
              "RPOPLPUSH l m", "LMOVE l m RIGHT LEFT", "LMOVE m m LEFT RIGHT",
              "LMPOP 2 x m LEFT COUNT 5", "RPUSH l2 a", "LTRIM l2 1 0",
              "RPUSH l3 a", "BLPOP l3 1", "RPUSH l4 a", "BRPOPLPUSH l4 l5 1",
              "BLMPOP 1 1 l5 RIGHT"],
    "hashes": ["HSET h a 1 b 2", "HSET h a 1", "HSETNX h a 2", "HSETNX h c 3", "HMSET h d 4",
               "HINCRBY h n 5", "HINCRBYFLOAT h f 1.5", "HDEL h zz", "HDEL h a b",
               "HDEL h c d n f", "HGET h a", "HINCRBY h2 x 1"],
    "sets": ["SADD s a b", "SADD s a", "SREM s zz", "SREM s a", "SADD s2 b c", "SMOVE s s2 b",
             "SMOVE s2 s3 c", "SINTERSTORE d s2 s3", "SUNIONSTORE d s2 s3",
             "SDIFFSTORE d s2 s3", "SINTERSTORE d nothing", "SINTERSTORE d nothing",
             "SADD p 1 2 3", "SPOP p 0", "SPOP p 5", "SADD q 1", "SPOP q"],
    "streams": ["XADD st 1-1 a 1", "XADD st 2-1 b 2", "XADD st MAXLEN 1 3-1 c 3",
                "XADD nost NOMKSTREAM 1-1 a 1", "XTRIM st MAXLEN 5", "XADD st 4-1 d 4",
                "XTRIM st MAXLEN 1", "XDEL st 1-1", "XDEL st 4-1", "XSETID st 9-9",
                "XGROUP CREATE st g 0", "XGROUP CREATE new g $ MKSTREAM",
                "XGROUP SETID st g 0", "XGROUP CREATECONSUMER st g c1",
                "XGROUP CREATECONSUMER st g c1", "XADD st 10-1 e 5",
                "XREADGROUP GROUP g c2 COUNT 1 STREAMS st >",
                "XCLAIM st g c3 0 10-1 JUSTID", "XAUTOCLAIM st g c4 0 0 JUSTID",
                "XGROUP DELCONSUMER st g c1", "XGROUP DESTROY st g",
                "XGROUP DESTROY st g"],
    "zsets": ["ZADD z 1 a 2 b", "ZADD z 1 a", "ZADD z INCR 5 a", "ZADD z XX 1 new",
              "ZINCRBY z 1 b", "ZREM z nothing", "ZREM z a", "ZADD z 3 c 4 d 5 e",
              "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYSCORE z 4 4", "ZADD l 0 a 0 b 0 c",
              "ZREMRANGEBYLEX l [a [a", "ZPOPMIN z", "ZPOPMAX l 5", "ZMPOP 1 z MIN",
              "ZADD y 1 a 2 b", "ZUNIONSTORE u 1 y", "ZINTERSTORE u 2 y nothing",
              "ZINTERSTORE u 2 y nothing", "ZDIFFSTORE u 1 y", "ZRANGESTORE r y 0 0",
              "BZPOPMIN y 1", "BZPOPMAX y 1", "ZSCORE nothing a"],
    "keymiss": ["GET nothing", "MGET a b", "SET a 1", "GET a", "STRLEN nothing",
                "GETRANGE nothing 0 1", "LRANGE nothing 0 1", "HGET nothing f",
                "SMEMBERS nothing", "HGETALL nothing", "SCARD nothing",
                # looked up before their arguments are refused, as in Redis
                "LINDEX nothing x", "XAUTOCLAIM nothing g c x 0",
                "XAUTOCLAIM nothing g c 0 0 COUNT 0"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_events_of_commands(differ, name):
    flags = "KEA" if name != "keymiss" else "KEm"
    compare_scenario(differ, _events(CASES[name], flags=flags), protocols=(2,))


def test_scan_type_looks_up_expired_keys(differ):
    """SCAN's TYPE filter looks each walked key up (Redis's lookupKeyReadWithFlags):
    an expired key is reclaimed there (expired, then keymiss), and TYPE none lists its
    name, since the expiry check after it finds the key gone (Redis 7.0)."""
    commands = ["SET e 1 PX 20", "SET s 1", "sleep", "SCAN 0 TYPE none", "DBSIZE",
                "SET e 1 PX 20", "sleep", "SCAN 0 TYPE string", "DBSIZE",
                "SET e 1 PX 20", "sleep", "SCAN 0 TYPE none MATCH s", "DBSIZE",
                "SCAN 0 TYPE NONE", "DBSIZE", "SCAN 0 TYPE list"]
    try:
        compare_scenario(differ, _events(commands, flags="KEAm",
                                         setup=["DEBUG SET-ACTIVE-EXPIRE 0"]),
                         protocols=(2,))
    finally:
        for port in differ.ports.values():
            conn = connect(port)
            conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            conn.close()


@pytest.mark.parametrize("flags", ["KEA", "K$", "El", "Kg", "KEx", "Ex", "KEn", "KEA$n", "E"])
def test_event_classes(differ, flags):
    commands = ["SET a 1", "RPUSH l x", "DEL a", "SET e 1 PX 20", "sleep", "GET e",
                "LPOP l"]
    compare_scenario(differ, _events(commands, flags=flags), protocols=(2,))


def test_resp3_subscriber_gets_pushes(differ):
    compare_scenario(differ, _events(["SET a 1", "DEL a"]), protocols=(3,))


def test_config_round_trip(differ):
    differ.check("CONFIG SET notify-keyspace-events KEA", "CONFIG GET notify-keyspace-events",
                 "CONFIG SET notify-keyspace-events Elgx$",
                 "CONFIG GET notify-keyspace-events",
                 "CONFIG SET notify-keyspace-events Q", "CONFIG SET notify-keyspace-events ''",
                 "CONFIG GET notify-keyspace-events")
