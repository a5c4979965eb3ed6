"""Generic keyspace commands: differential tests, glob rules, the SCAN guarantee."""
from __future__ import annotations

import random
import time

from tests.harness import RawConnection, SameType, Unordered, parse_raw


def test_del_exists_type_touch(differ):
    differ.check("SET a 1", "RPUSH l x", "DEL a missing a", "EXISTS a l l missing",
                 "TYPE l", "TYPE missing", "SET s x", "TYPE s", "TOUCH s l missing",
                 "UNLINK s l", "EXISTS s l", "DEL", "TYPE", "TYPE a b")


def test_keys_glob_rules(differ):
    keys = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "h[llo",
            "h]llo", "h\\llo", "a-b", "^", "]", "a", "b", "-", "ab", "Hello", "x\ny"]
    setup = [["MSET", *[x for k in keys for x in (k, "v")]]]
    patterns = ["*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo",
                "h\\*llo", "h\\?llo", "h[\\[]llo", "h[\\]]llo", "h[llo", "[a-]", "[]a]",
                "[^]", "[]", "h\\", "\\", "[a-b", "*llo*", "**", "?", "??", "[", "x?y",
                "h[e-]llo", "[-]", "[\\-]", "H*", "*[!]*", "h[^a-z]llo"]
    differ.check(*setup, *[Unordered(["KEYS", p]) for p in patterns])


def test_rename_family(differ):
    differ.check("SET a 1", "EXPIRE a 1000", "RENAME a b", "TTL b", "EXISTS a",
                 "RENAME missing x", "RENAME b b", "RENAMENX b b", "SET c 2",
                 "RENAMENX b c", "RENAMENX b d", "GET d", "RPUSH l 1", "RENAME l d",
                 "TYPE d", "RENAMENX missing x", "RENAME a", "TTL d")


def test_copy_move(differ):
    differ.check("SET a 1", "EXPIRE a 1000", "COPY a b", "TTL b", "COPY a b",
                 "COPY a b REPLACE", "COPY a a", "COPY a b DB 99", "COPY a b DB x",
                 "COPY a b FOO", "COPY missing b", "RPUSH l 1 2", "COPY l l2",
                 "RPUSH l2 3", "LRANGE l 0 -1", "LRANGE l2 0 -1", "COPY a a DB 1",
                 "SELECT 1", "GET a", "TTL a", "DEL a", "SELECT 9", "MOVE a 9",
                 "MOVE a 99", "MOVE a x", "MOVE missing 1", "MOVE a 1", "EXISTS a",
                 "SELECT 1", "GET a", "TTL a", "SET b z", "SELECT 9", "MOVE b 1", "GET b",
                 "SELECT 1", "FLUSHDB", "SELECT 9")


def test_swapdb(differ):
    differ.check("SET a 9", "SELECT 1", "FLUSHDB", "SET a 1", "SWAPDB 1 9", "GET a",
                 "SELECT 9", "GET a", "SWAPDB 9 99", "SWAPDB x 1", "SWAPDB 1 x",
                 "SWAPDB -1 1", "SWAPDB 9 9", "SWAPDB 1 9", "SELECT 1", "FLUSHDB",
                 "SELECT 9")


def test_expire_family(differ):
    differ.check(
        "SET a 1", "EXPIRE a 100", "TTL a", "TTL a",
        "EXPIRE a 200 NX", "EXPIRE a 200 XX", "TTL a", "EXPIRE a 100 GT", "EXPIRE a 300 GT",
        "TTL a", "EXPIRE a 400 LT", "EXPIRE a 50 LT", "TTL a", "EXPIRE a 1 NX XX",
        "EXPIRE a 1 GT LT", "EXPIRE a 1 NX GT", "EXPIRE a 1 FOO", "EXPIRE a abc",
        "EXPIRE a 9223372036854775807", "PEXPIRE a 9223372036854775807",
        "EXPIREAT a 9223372036854775807", "EXPIRE a -9223372036854775808",
        "EXPIRE missing 10", "PERSIST a", "PERSIST a", "TTL a", "EXPIRE a 10 XX",
        "EXPIRE a 10 GT", "EXPIRE a 10 LT", "TTL a", "PERSIST missing", "TTL missing",
        "PTTL missing", "EXPIRETIME missing", "PEXPIRETIME missing", "SET b 1",
        "EXPIRETIME b", "PEXPIRETIME b", "EXPIREAT b 4102444800", "EXPIRETIME b",
        "PEXPIREAT b 4102444800123", "PEXPIRETIME b", "EXPIRETIME b", "EXPIRE b 0",
        "EXISTS b", "SET c 1", "PEXPIRE c -5", "EXISTS c", "SET d 1", "EXPIREAT d 1",
        "GET d", "SET e 1", "EXPIRE e -1 GT", "EXISTS e", "EXPIRE e -1 LT", "EXISTS e",
        SameType("PTTL a"), "SET f 1 EX 100", "SET f 2 KEEPTTL", "TTL f", "SET f 3",
        "TTL f")


def test_expired_keys_disappear(differ):
    differ.check("SET a 1 PX 30", "SET b 2 PX 30",
                 ["DEBUG", "SLEEP", "0.1"], "GET a", "EXISTS b", "TTL a", "DBSIZE",
                 "KEYS *")


def test_scan_errors_and_options(differ):
    differ.check("SCAN abc", "SCAN -1", "SCAN 0 COUNT 0", "SCAN 0 COUNT -1",
                 "SCAN 0 COUNT x", "SCAN 0 TYPE", "SCAN 0 FOO bar", "SCAN 0 MATCH",
                 "SCAN 18446744073709551616", "MSET a 1 b 2 c 3", "RPUSH l 1",
                 "DBSIZE")


def _scan_all(conn, *options):
    cursor = b"0"
    seen = []
    while True:
        kind, (next_cursor, keys) = parse_raw(conn.call("SCAN", cursor, *options))
        seen.extend(k for _, k in keys[1])
        cursor = next_cursor[1]
        if cursor == b"0":
            return seen


def test_scan_options_same_keys(differ):
    for port in differ.ports.values():
        conn = RawConnection(port)
        conn.call("SELECT", "9")
        conn.call("FLUSHDB")
        for i in range(300):
            conn.call("SET", "key:%d" % i, "v")
        for i in range(20):
            conn.call("RPUSH", "list:%d" % i, "v")
        everything = _scan_all(conn, "COUNT", "7")
        assert sorted(set(everything)) == sorted(
            [b"key:%d" % i for i in range(300)] + [b"list:%d" % i for i in range(20)])
        lists = _scan_all(conn, "TYPE", "list", "COUNT", "50")
        assert sorted(set(lists)) == sorted(b"list:%d" % i for i in range(20))
        matched = _scan_all(conn, "MATCH", "key:1?", "COUNT", "1000")
        assert sorted(matched) == sorted(b"key:1%d" % i for i in range(10))
        conn.call("FLUSHDB")
        conn.close()


def test_scan_returns_every_stable_key_during_churn(mini):
    """Keys present for the whole scan are all returned while others come and go."""
    conn = RawConnection(mini.port)
    conn.call("SELECT", "3")
    conn.call("FLUSHDB")
    rng = random.Random(7)
    stable = {b"stable:%d" % i for i in range(500)}
    for key in stable:
        conn.call("SET", key, "v")
    churn = set()
    cursor = b"0"
    seen = set()
    while True:
        reply = parse_raw(conn.call("SCAN", cursor, "COUNT", "13"))
        _, (next_cursor, keys) = reply
        seen.update(k for _, k in keys[1])
        for _ in range(20):  # add and remove other keys between calls
            if churn and rng.random() < 0.5:
                conn.call("DEL", churn.pop())
            else:
                key = b"churn:%d" % rng.randrange(10 ** 6)
                churn.add(key)
                conn.call("SET", key, "v")
        cursor = next_cursor[1]
        if cursor == b"0":
            break
    assert stable <= seen
    conn.call("FLUSHDB")
    conn.close()


def test_randomkey_dbsize(differ):
    differ.check("RANDOMKEY", "DBSIZE", "SET a 1", "RANDOMKEY", "DBSIZE", "RANDOMKEY x")


def test_object(differ):
    differ.check(
        "SET n 123", "OBJECT ENCODING n", "OBJECT REFCOUNT n", "SET big 12345",
        "OBJECT REFCOUNT big", "SET s abc", "OBJECT ENCODING s", "APPEND s x",
        "OBJECT ENCODING s", "SET e 12345678901234567890", "OBJECT ENCODING e",
        "SET f -0", "OBJECT ENCODING f", "SET g 01", "OBJECT ENCODING g",
        ["SET", "long", "x" * 45], "OBJECT ENCODING long", ["SET", "l44", "x" * 44],
        "OBJECT ENCODING l44", "SET neg -5", "OBJECT ENCODING neg", "OBJECT REFCOUNT neg",
        "RPUSH l a", "OBJECT ENCODING l", "OBJECT ENCODING missing", "OBJECT FREQ n",
        "OBJECT FOO n", "OBJECT HELP", "OBJECT ENCODING", "OBJECT IDLETIME s",
        "OBJECT REFCOUNT missing", "OBJECT IDLETIME missing", "OBJECT", "INCR n",
        "OBJECT ENCODING n", "SETRANGE n 0 1", "OBJECT ENCODING n")


def test_object_idletime_counts_up(mini):
    conn = RawConnection(mini.port)
    conn.call("SET", "idle", "v")
    assert conn.call("OBJECT", "IDLETIME", "idle") == b":0\r\n"
    db = mini.state.dbs[0]
    mini.call(lambda: db.access.__setitem__(b"idle", db.access[b"idle"] - 5))
    try:
        assert conn.call("OBJECT", "IDLETIME", "idle") in (b":5\r\n", b":6\r\n")
        conn.call("GET", "idle")
        assert conn.call("OBJECT", "IDLETIME", "idle") in (b":0\r\n", b":1\r\n")
    finally:
        conn.call("DEL", "idle")
        conn.close()
