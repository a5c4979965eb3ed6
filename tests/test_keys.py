"""Generic keyspace commands: differential tests, glob rules, the SCAN guarantee."""
from __future__ import annotations

import random
import re
import time

from tests.harness import (RawConnection, SameType, Unordered, compare_scenario, configured,
                           connect, encode_command, parse_raw, replies_until)


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
        "OBJECT FOO n", "OBJECT HELP", "OBJECT ENCODING", SameType("OBJECT IDLETIME s"),
        "OBJECT REFCOUNT missing", "OBJECT IDLETIME missing", "OBJECT", "INCR n",
        "OBJECT ENCODING n", "SETRANGE n 0 1", "OBJECT ENCODING n")


def test_object_idletime_counts_up(mini):
    conn = RawConnection(mini.port)
    conn.call("SET", "idle", "v")
    # 0, or 1 if the LRU clock (seconds, advanced by cron) ticked in between.
    assert conn.call("OBJECT", "IDLETIME", "idle") in (b":0\r\n", b":1\r\n")
    db = mini.state.dbs[0]
    mini.call(lambda: db.set_access(b"idle", db.access_of(b"idle") - 5))
    try:
        assert conn.call("OBJECT", "IDLETIME", "idle") in (b":5\r\n", b":6\r\n")
        conn.call("GET", "idle")
        assert conn.call("OBJECT", "IDLETIME", "idle") in (b":0\r\n", b":1\r\n")
    finally:
        conn.call("DEL", "idle")
        conn.close()


# -- glob rules: tricky patterns, compared with real Redis KEYS ------------------------
GLOB_KEYS = [b"", b"a", b"b", b"A", b"ab", b"aB", b"abc", b"a\\b", b"a*b", b"a?b", b"a[b",
             b"a]b", b"a-b", b"a^b", b"\xff", b"\x80", b"a\xffb", b"\x00", b"a\x00b",
             b"\n", b"zz", b"-", b"]", b"[", b"\\", b"^", b"aaaa", b"abab", b"ba"]


def _glob_setup():
    return [["MSET", *[x for k in GLOB_KEYS for x in (k, b"v")]]]


def test_glob_tricky_patterns(differ):
    patterns = [
        b"**", b"***", b"", b"?", b"??", b"?*", b"*?", b"a*", b"*a", b"*a*", b"a**b",
        b"a\\*b", b"a\\?b", b"a\\[b", b"a\\", b"\\", b"\\\\", b"a\\\\b", b"a\\b",
        b"[", b"[^", b"[]", b"[^]", b"[]]", b"[]a]", b"[^]a]", b"[a", b"[^a", b"[a-",
        b"[a-]", b"[-a]", b"[-]", b"[a-b]", b"[b-a]", b"[B-a]", b"[a-B]", b"[\\]]",
        b"[\\-]", b"[\\\\]", b"[\\", b"a[\\", b"[a\\", b"a[^b]", b"a[^]b", b"a[]b",
        b"a[*]b", b"a[?]b", b"[*]", b"[?]", b"a[a-z]*", b"[\\a-z]", b"[a-\\z]",
        b"[\x00-a]", b"[a-\xff]", b"[\xff-a]", b"[\x80-\xff]", b"[\x01-\x90]",
        b"[^\x80-\xff]", b"?\xff?", b"*\xff*", b"\x00", b"*\x00*", b"a?b*", b"*ab",
        b"*b*b", b"[[]", b"[a]]", b"[^^]", b"^*", b"[a-a]", b"[z-a]", b"*[a-c]",
        b"[A-z]", b"[]-a]", b"h[e-]llo", b"*\\", b"*[",
    ]
    differ.check(*_glob_setup(), *[Unordered(["KEYS", p]) for p in patterns])


def test_glob_scan_match_agrees(differ):
    """SCAN MATCH (one call covering the small keyspace) uses the same matcher."""
    patterns = [b"**", b"*", b"", b"a*", b"[a-\xff]", b"*b", b"[^a]*"]
    results = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        conn.call("SELECT", "9")
        conn.call("FLUSHDB")
        conn.call(*_glob_setup()[0])
        results[name] = [sorted(_scan_all(conn, "MATCH", p, "COUNT", "1000"))
                         for p in patterns]
        conn.call("FLUSHDB")
        conn.close()
    assert results["redis"] == results["miniredis"]


def test_glob_random_patterns(differ):
    rng = random.Random(11)
    atoms = [b"a", b"b", b"A", b"-", b"]", b"[", b"\\", b"^", b"\xff", b"\x80", b"*",
             b"?", b"[^", b"\x00"]
    patterns = []
    for _ in range(400):
        pattern = b"".join(rng.choice(atoms) for _ in range(rng.randrange(1, 7)))
        if pattern != b"*":
            patterns.append(pattern)
    differ.check(*_glob_setup(), *[Unordered(["KEYS", p]) for p in patterns],
                 protocols=(2,))


def test_glob_match_api_and_nocase():
    from miniredis.glob import GlobPattern, compile_pattern, match
    assert match(b"h?llo", b"hello") and not match(b"h?llo", b"hllo")
    assert not match(b"*", b"") and match(b"", b"")
    assert GlobPattern(b"a*c")(b"abbc") and GlobPattern(b"a*c").match(b"ac")
    assert compile_pattern(b"[a-c]")(b"b")
    # nocase: literals and ranges fold A-Z only; an escaped byte in a class stays exact
    assert match(b"HeLLo*", b"hello world", nocase=True)
    assert not match(b"HeLLo*", b"hello world")
    assert match(b"[A-C]x", b"bX", nocase=True)
    assert not match(b"[\\A]", b"a", nocase=True) and match(b"[\\A]", b"A", nocase=True)
    assert match(b"\\A", b"a", nocase=True)
    assert match(b"[^a]", b"B", nocase=True) and not match(b"[^a]", b"A", nocase=True)
    # Redis folds the bounds after ordering them: [Z-a] becomes the empty range z..a
    assert not match(b"[Z-a]", b"b", nocase=True) and match(b"[Z-a]", b"_")
    assert match(b"\xc9", b"\xc9", nocase=True) and not match(b"\xc9", b"\xe9", nocase=True)
    # signed char ranges: [a-\xff] is -1..97
    assert match(b"[a-\xff]", b"\x00") and match(b"[a-\xff]", b"\xff")
    assert not match(b"[a-\xff]", b"b") and not match(b"[a-\xff]", b"\xfe")


def test_glob_no_exponential_blowup():
    from miniredis.glob import match
    started = time.perf_counter()
    assert not match(b"a*" * 60 + b"b", b"a" * 20000)
    assert not match(b"*a*a*a*a*a*a*a*a*a*a*c", b"a" * 5000)
    assert match(b"*a*a*a*a*a*a*a*a*a*a*c", b"a" * 5000 + b"c")
    assert time.perf_counter() - started < 2.0


# -- SCAN ------------------------------------------------------------------------------
def test_scan_cursor_parsing(differ):
    differ.check("SET k v", ["SCAN", ""], "SCAN +0", "SCAN -0", ["SCAN", " 0"],
                 ["SCAN", "0 "], "SCAN +", "SCAN -", "SCAN 0x10", "SCAN 1.5", "SCAN 1e3",
                 "SCAN -18446744073709551616", "SCAN 18446744073709551616",
                 "SCAN 0 COUNT 99999999999999999999", "SCAN 0 count 5 count",
                 "SCAN 0 MATCH a MATCH", "SCAN 0 TYPE", "SCAN 0 COUNT 1 FOO",
                 ["SCAN", "0", "COUNT", "1\x00"], "SCAN")


def _scan_set(port, *options):
    conn = RawConnection(port)
    try:
        conn.call("SELECT", "9")
        return sorted(set(_scan_all(conn, *options)))
    finally:
        conn.close()


def test_scan_match_type_and_expired(differ):
    setup = ["FLUSHDB", "MSET s1 a s2 b x1 c", "RPUSH l1 a", "RPUSH l2 b",
             "SET gone v PX 20", "RPUSH lgone a", "PEXPIRE lgone 20"]
    for port in differ.ports.values():
        conn = RawConnection(port)
        conn.call("SELECT", "9")
        for command in setup:
            conn.call(*command.split())
        conn.close()
    time.sleep(0.1)
    for options in [(), ("TYPE", "list"), ("TYPE", "LIST"), ("TYPE", "string"),
                    ("TYPE", "hash"), ("TYPE", "bogus"), ("MATCH", "s*"),
                    ("MATCH", "*1", "TYPE", "list"), ("COUNT", "1", "MATCH", "?1"),
                    ("TYPE", "string", "TYPE", "list")]:
        assert _scan_set(differ.ports["redis"], *options) == \
            _scan_set(differ.ports["miniredis"], *options), options
    differ.check("SET a 1", "SCAN 0 TYPE list COUNT 100", "SCAN 0 MATCH zz* COUNT 100")


def test_scan_index_survives_compaction_directly():
    """Property: across many mass deletions (which compact the slot table) and
    insertions between calls, every key present for the whole scan is returned."""
    from miniredis.state import ServerState
    compactions = 0
    for seed in range(60):
        rng = random.Random(seed)
        db = ServerState().dbs[0]
        stable, churn = set(), set()
        for i in range(rng.randrange(0, 4000)):
            key = b"k%d" % i
            (stable if rng.random() < 0.3 else churn).add(key)
            db.set(key, b"v")
        start_epoch = db._epoch
        cursor, seen, calls = 0, set(), 0
        while True:
            cursor, found = db.scan(cursor, rng.choice([1, 5, 10, 100]))
            assert len(found) == len(set(found))
            seen.update(found)
            calls += 1
            roll = rng.random()
            if roll < 0.3 and churn:
                for key in rng.sample(sorted(churn), min(len(churn), rng.randrange(1, 2500))):
                    db.delete(key)
                    churn.discard(key)
            elif roll < 0.6:
                for _ in range(rng.randrange(1, 600)):
                    key = b"c%d" % rng.randrange(10 ** 9)
                    db.set(key, b"v")
                    churn.add(key)
            if cursor == 0:
                break
            assert calls < 100000
        assert stable <= seen
        compactions += db._epoch - start_epoch
    assert compactions > 10  # the property was exercised across compactions


def test_scan_table_stays_dense_after_mass_delete():
    from miniredis.state import ServerState
    db = ServerState().dbs[0]
    for i in range(50000):
        db.set(b"k%d" % i, b"v")
    for i in range(49990):
        db.delete(b"k%d" % i)
    assert len(db._slots) < 2100
    cursor, seen, calls = 0, set(), 0
    while True:
        cursor, found = db.scan(cursor, 10)
        seen.update(found)
        calls += 1
        if cursor == 0:
            break
    assert seen == {b"k%d" % i for i in range(49990, 50000)} and calls < 300


def test_scan_old_cursor_after_flush_restarts(mini):
    conn = RawConnection(mini.port)
    conn.call("SELECT", "4")
    conn.call("FLUSHDB")
    for i in range(50):
        conn.call("SET", "a%d" % i, "v")
    _, (cursor, _) = parse_raw(conn.call("SCAN", "0", "COUNT", "10"))
    conn.call("FLUSHDB")
    conn.call("SET", "fresh", "v")
    seen = []
    cursor = cursor[1]
    while True:
        _, (cursor, keys) = parse_raw(conn.call("SCAN", cursor, "COUNT", "10"))
        seen.extend(k for _, k in keys[1])
        cursor = cursor[1]
        if cursor == b"0":
            break
    assert seen == [b"fresh"]
    conn.call("FLUSHDB")
    conn.close()


def test_expire_times_out_of_range(differ):
    big = "9223372036854775807"
    differ.check(
        "SET k v", "EXPIRE k %s" % big, "EXPIRE k -%s" % big, "EXPIRE k 9223372036854775",
        "EXPIRE k 9223372036854776", "EXPIRE k -9223372036854776", "PEXPIRE k %s" % big,
        "PEXPIRE k 9223372036854775000", "EXPIREAT k %s" % big, "PEXPIREAT k %s" % big,
        # (EXPIRETIME, not TTL, reads the deadline left: a TTL in seconds is rounded
        # from each server's own clock, and one read a millisecond apart from the other
        # at a half second's edge differed by one in a CI run)
        "EXPIREAT k 9223372036854776", "EXPIRETIME k", "PEXPIRE k 100000", "EXPIRE k x",
        "EXPIRE k 10 xx gt", "EXPIRE k 10 nx xx", "EXPIRE k 10 gt lt", "EXPIRE k 10 foo",
        "EXPIRE nosuch %s" % big, "EXPIRE nosuch 10", "TTL k")


# -- reads of many keys in one loop (Database.read_many) ---------------------------------
def test_many_keys_read_and_deleted_with_expired_missing_and_other_types(differ):
    live = " ".join("k%d" % i for i in range(0, 40, 3))
    mixed = " ".join("k%d" % i for i in range(40)) + " l nosuch e1 k1 e2 e1"
    try:
        differ.check(
            "DEBUG SET-ACTIVE-EXPIRE 0", "MSET " + " ".join("k%d %d" % (i, i) for i in range(30)),
            "RPUSH l x", "SET e1 v PX 10", "SET e2 v PX 10", "SET k31 v EX 1000",
            "SETRANGE k32 0 abc", "APPEND k32 def", "DEBUG SLEEP 0.05",
            "MGET " + mixed, "EXISTS " + mixed, "TOUCH " + mixed, "DBSIZE",
            "MGET " + live, "EXISTS " + live, "SET e3 v PX 10", "DEBUG SLEEP 0.05",
            "EXISTS e3 e3 k1", "DBSIZE", "SET e4 v PX 10", "DEBUG SLEEP 0.05",
            "TOUCH e4 k2", "MGET e4", "DBSIZE", "CONFIG SET notify-keyspace-events Km",
            "SET e5 v PX 10", "DEBUG SLEEP 0.05", "MGET e5 nosuch k3", "EXISTS e5 k3",
            "CONFIG SET notify-keyspace-events ''", "SET e6 v PX 10", "SET k40 v EX 100",
            "DEBUG SLEEP 0.05", "WATCH k5", "DEL " + mixed + " k40 e6 k33", "MULTI",
            "GET k1", "EXEC", "DBSIZE", "MSET a 1 b 2 c 3", "WATCH c", "UNLINK a b nosuch",
            "MULTI", "GET c", "EXEC", "DBSIZE", "DEBUG SET-ACTIVE-EXPIRE 1")
    finally:
        for port in differ.ports.values():
            conn = RawConnection(port)
            conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            conn.call("CONFIG", "SET", "notify-keyspace-events", "")
            conn.close()


# -- expiry with the active cycle off: lookups reclaim, DBSIZE counts the rest ---------
def test_expired_keys_with_active_expiry_off(differ):
    try:
        differ.check(
            "DEBUG SET-ACTIVE-EXPIRE 0", "SET a 1 PX 10", "SET b 2 PX 10", "SET c 3",
            "DEBUG SLEEP 0.05", "DBSIZE", "KEYS *", "DBSIZE", "SCAN 0 MATCH nomatch",
            "DBSIZE", "SCAN 0 MATCH a", "DBSIZE", "SCAN 0", "DBSIZE", "SET d 1 PX 10",
            "DEBUG SLEEP 0.05", "TYPE d", "DBSIZE", "SET x 1 PX 10", "SET y 1",
            "SET z 1 PX 10", "DEBUG SLEEP 0.05", "RENAME y x", "DBSIZE",
            "SCAN 0 TYPE list", "DBSIZE", "SET e 1 PX 10", "DEBUG SLEEP 0.05",
            "EXISTS e", "TTL e", "PERSIST e", "EXPIRE e 10", "COPY e e2", "MOVE e 1",
            "RENAME e e3", "TOUCH e", "OBJECT ENCODING e", "DBSIZE", "FLUSHDB",
            "SET a 1 PX 10", "SET b 1 PX 10", "DEBUG SLEEP 0.05", "RANDOMKEY", "DBSIZE",
            "DEBUG SET-ACTIVE-EXPIRE 1")
    finally:
        for port in differ.ports.values():
            conn = RawConnection(port)
            conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            conn.close()


def test_expire_bounds_and_options(differ):
    differ.check(
        "SET a 1", "EXPIRE a 10 nx nx", "EXPIRE a 5 gt gt", "EXPIRE a 5 xx gt",
        "EXPIRE a 50 xx lt", "TTL a", "EXPIRE a 20 xx gt", "TTL a", "EXPIRE a 10 LT GT NX",
        "EXPIRE a 10 GT NX", "EXPIRE a 10 LT NX", "EXPIRE a 10 nx xx lt gt",
        "EXPIRE a 10 GT LT", "EXPIRE a 10 XX GT LT", "PEXPIRE a 10 BOGUS NX",
        ["EXPIRE", "a", "10", b"\xff"], ["EXPIRE", "a", "10", "a\r\nb"],
        ["EXPIRE", "a", "10", "a\x00b"], "EXPIRE a abc NX XX", "EXPIRE a 1.5",
        "EXPIRE a ''", "EXPIREAT a -9223372036854775808", "EXISTS a",
        "PEXPIREAT a 9223372036854775807", "PEXPIRETIME a", "EXPIRETIME a",
        "EXPIRE a 9223372036854775", "EXPIRE a 9223372036854776",
        "EXPIRE a 9223372036854775807", "PEXPIRE a 9223372036854775807",
        "PEXPIRE a 9223372036854775806", "EXPIREAT a 9223372036854775808",
        "PEXPIRE a -9223372036854775808", "EXISTS a", "SET a 1",
        "EXPIRE a -9223372036854775", "EXISTS a", "SET a 1",
        "EXPIRE a -9223372036854776", "EXISTS a", "EXPIRE missing 10 NX",
        "EXPIRE missing 10 GT LT", "EXPIRE", "EXPIRE a", "TTL", "PTTL a b",
        "PERSIST", "EXPIRETIME", "PEXPIRETIME a b")


def test_expire_ttl_replacement_on_rename(differ):
    differ.check("SET a 1", "SET b 2", "EXPIRE b 100", "RENAME a b", "TTL b",
                 "RPUSH l x", "EXPIRE l 100", "RENAME b l", "TYPE l", "TTL l",
                 "SET c 1", "PEXPIRE c 100000", "RENAMENX c d", "TTL d", "EXISTS c",
                 "RENAME d d", "TTL d", "RENAMENX", "RENAME a b c")


def test_pexpire_then_gone(differ):
    differ.check("SET a 1", "PEXPIRE a 50", SameType("PTTL a"), "EXISTS a",
                 "RPUSH l 1", "PEXPIREAT l 1", "EXISTS l", "TYPE l")
    for port in differ.ports.values():
        conn = RawConnection(port)
        conn.call("SELECT", "9")
        conn.call("SET", "short", "v", "PX", "50")
        time.sleep(0.1)
        assert conn.call("GET", "short") == b"$-1\r\n"
        assert conn.call("TTL", "short") == b":-2\r\n"
        conn.call("FLUSHDB")
        conn.close()


def test_db_index_errors(differ):
    differ.check(
        "SET a 1", "SWAPDB 2147483648 1", "SWAPDB 1 2147483648", "SWAPDB 1 -2147483649",
        "SWAPDB 1.0 1", "SWAPDB 1 x", "SWAPDB 16 1", "SWAPDB 1 16", "SWAPDB -1 -1",
        "MOVE a 2147483648", "MOVE a -2147483649", "MOVE a x", "MOVE a 16", "MOVE a -1",
        "MOVE a 9", "MOVE missing 9", "COPY a b DB 2147483648", "COPY a b DB x",
        "COPY a b DB", "COPY a b REPLACE DB", "COPY a b DB 16", "COPY a b DB -1",
        "COPY a b replace replace", "COPY a b DB 0 DB 1", "SELECT 1", "GET b",
        "COPY b b DB 1", "COPY b b DB 9", "SELECT 9", "GET b", "SWAPDB", "MOVE a",
        "COPY a", "SELECT 1", "FLUSHDB", "SELECT 9")


def test_copy_replace_keeps_ttl_rules(differ):
    differ.check("SET a 1", "SET b 2", "EXPIRE b 100", "COPY a b REPLACE", "TTL b",
                 "EXPIRE a 100", "COPY a c", "TTL c", "RPUSH l x y", "COPY l a",
                 "COPY l a REPLACE", "TYPE a", "LRANGE a 0 -1", "TTL a", "RPUSH a z",
                 "LRANGE l 0 -1", "COPY missing a REPLACE", "EXISTS a")


def test_object_strings_and_refcount(differ):
    differ.check(
        "SET s1 abc", "APPEND s1 d", "OBJECT ENCODING s1", "SET s2 9223372036854775807",
        "OBJECT ENCODING s2", "SET s3 9223372036854775808", "OBJECT ENCODING s3",
        "SET s4 -9223372036854775808", "OBJECT ENCODING s4", "SET s5 ' 1'",
        "OBJECT ENCODING s5", "SET s6 +1", "OBJECT ENCODING s6", "INCRBYFLOAT f 1.5",
        "OBJECT ENCODING f", "SET n 9999", "OBJECT REFCOUNT n", "SET n 10000",
        "OBJECT REFCOUNT n", "SET n -1", "OBJECT REFCOUNT n", "INCR cnt",
        "OBJECT REFCOUNT cnt", "OBJECT ENCODING cnt", "SETRANGE sr 0 12",
        "OBJECT ENCODING sr", "APPEND ap 12", "OBJECT ENCODING ap", "SET e ''",
        "OBJECT ENCODING e", "OBJECT REFCOUNT e", "RPUSH l a", "OBJECT REFCOUNT l",
        "OBJECT ENCODING l", "OBJECT FREQ l", "OBJECT foo", "OBJECT foo bar baz",
        "OBJECT HELP x", "OBJECT help", "OBJECT encoding s1 x", "OBJECT IDLETIME",
        "OBJECT FREQ", "OBJECT REFCOUNT")


def test_object_under_maxmemory_policies(differ):
    try:
        differ.check(
            "SET a 100", "CONFIG SET maxmemory 100mb",
            "CONFIG SET maxmemory-policy allkeys-lru", "SET r 100", "OBJECT REFCOUNT r",
            # IDLETIME right after a write: 0, or 1 when Redis's LRU clock (seconds,
            # advanced by its cron) ticks in between, so only the reply type is fixed.
            "OBJECT ENCODING r", SameType("OBJECT IDLETIME r"), "OBJECT FREQ r",
            "CONFIG SET maxmemory-policy volatile-lfu", "SET r 200", "OBJECT REFCOUNT r",
            "OBJECT IDLETIME r", "OBJECT IDLETIME missing", "OBJECT FREQ missing",
            "CONFIG SET maxmemory-policy allkeys-random", "SET r 300",
            "OBJECT REFCOUNT r", "CONFIG SET maxmemory 0",
            "CONFIG SET maxmemory-policy allkeys-lfu", "OBJECT IDLETIME a",
            "SET r 400", "OBJECT REFCOUNT r")
    finally:
        for port in differ.ports.values():
            conn = RawConnection(port)
            conn.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            conn.call("CONFIG", "SET", "maxmemory", "0")
            conn.close()


def test_exists_type_ttl_do_not_touch_but_touch_does(mini):
    conn = RawConnection(mini.port)
    conn.call("SELECT", "5")
    conn.call("SET", "idle", "v")
    db = mini.state.dbs[5]
    try:
        mini.call(lambda: db.set_access(b"idle", db.access_of(b"idle") - 10))
        for command in (("EXISTS", "idle"), ("TYPE", "idle"), ("TTL", "idle"),
                        ("OBJECT", "ENCODING", "idle"), ("SCAN", "0")):
            conn.call(*command)
        assert conn.call("OBJECT", "IDLETIME", "idle") in (b":10\r\n", b":11\r\n")
        assert conn.call("TOUCH", "idle", "nope") == b":1\r\n"
        assert conn.call("OBJECT", "IDLETIME", "idle") in (b":0\r\n", b":1\r\n")
    finally:
        conn.call("FLUSHDB")
        conn.close()


def test_randomkey_is_uniform_and_skips_tombstones():
    from collections import Counter
    from miniredis.state import ServerState
    db = ServerState().dbs[0]
    for i in range(3000):
        db.set(b"k%d" % i, b"v")
    for i in range(0, 3000, 3):
        db.delete(b"k%d" % i)
    live = {b"k%d" % i for i in range(3000) if i % 3}
    counts = Counter(db.random_key() for _ in range(20000))
    assert set(counts) <= live
    assert len(counts) > 1800  # not biased towards the first entries
    for key in list(live):
        db.delete(key)
    assert db.random_key() is None


def test_copy_value_is_deep_for_aggregates():
    from collections import deque
    from miniredis.commands.keys import copy_value

    class Box:
        def __init__(self, items):
            self.items = items

        def copy(self):
            return Box(list(self.items))

    values = [deque([b"a"]), {b"f": b"v"}, {b"m"}, bytearray(b"raw"), Box([1])]
    for value in values:
        clone = copy_value(value)
        assert clone is not value and type(clone) is type(value)
    assert copy_value(b"s") == b"s"
    box = Box([1])
    clone = copy_value(box)
    clone.items.append(2)
    assert box.items == [1]


def test_encoding_of_registry():
    from miniredis.config import Config
    from miniredis.datatypes.names import encoding_of, register_encoding
    config = Config()
    assert encoding_of(b"12", config) == "int"
    assert encoding_of(b"x" * 44, config) == "embstr"
    assert encoding_of(b"x" * 45, config) == "raw"
    assert encoding_of(bytearray(b"1"), config) == "raw"
    assert encoding_of({b"f": b"v"}, config) == "listpack"
    assert encoding_of({b"f": b"v" * 65}, config) == "hashtable"
    limit = config["hash-max-listpack-entries"]
    assert encoding_of({b"%d" % i: b"v" for i in range(limit)}, config) == "listpack"
    assert encoding_of({b"%d" % i: b"v" for i in range(limit + 1)}, config) == "hashtable"
    assert encoding_of({b"1", b"2"}, config) == "intset"
    assert encoding_of({b"1", b"x"}, config) == "hashtable"

    class Custom:
        pass

    register_encoding(Custom, lambda value, config: "skiplist")
    assert encoding_of(Custom(), config) == "skiplist"


def test_compaction_keeps_values_access_and_estimates():
    """Values, access stamps and memory estimates live in slot-indexed tables: a
    compaction that renumbers slots must carry them along (issue 17)."""
    from miniredis.state import ServerState
    db = ServerState().dbs[0]
    for i in range(5000):
        db.set(b"k%d" % i, b"v%d" % i)
    db.settle()
    for i in range(0, 5000, 7):
        db.set_access(b"k%d" % i, 1000 + i)
    epoch = db._epoch
    for i in range(5000):
        if i % 7:
            db.delete(b"k%d" % i)
    assert db._epoch != epoch                      # compacted
    survivors = range(0, 5000, 7)
    assert len(db) == len(survivors)
    for i in survivors:
        key = b"k%d" % i
        assert db.peek(key) == b"v%d" % i
        assert db.access_of(key) == 1000 + i
    assert db.settle() == sum(db.key_bytes(b"k%d" % i) for i in survivors) > 0
    db.set(b"new", b"x")                           # a reused or appended slot starts fresh
    assert db.peek(b"new") == b"x"


def test_writes_pending_across_a_compaction_are_estimated_once():
    """``touched`` holds slots (issue 17: a set of the index's own int objects costs
    less than one of keys): writes not yet settled when deletions compact the slot
    tables must be estimated at their new slots, and deleted keys not at all. The
    total must equal that of a database written once with the survivors' values."""
    from miniredis.state import ServerState
    db = ServerState().dbs[0]
    for i in range(5000):
        db.set(b"k%d" % i, b"v%d" % i)
    db.settle()
    for i in range(5000):
        db.set(b"k%d" % i, b"w" * (i % 50))         # pending: none settled
    epoch = db._epoch
    for i in range(5000):
        if i % 7:
            db.delete(b"k%d" % i)
    assert db._epoch != epoch                      # compacted with writes pending
    for i in range(0, 5000, 14):
        db.set(b"k%d" % i, b"x" * 300)             # pending at the new slots
    fresh = ServerState().dbs[0]
    for i in range(0, 5000, 7):
        fresh.set(b"k%d" % i, db.peek(b"k%d" % i))
    assert db.settle() == fresh.settle() > 0


def test_lookups_count_hits_misses_and_keymiss_as_redis(differ):
    """Which commands count keyspace hits and misses and publish ``keymiss``: Redis's
    lookupKeyRead (GET, DUMP, TOUCH, COPY...), LOOKUP_NOTOUCH (EXISTS, TYPE, the TTL
    family, SCAN's TYPE), LOOKUP_NONOTIFY (OBJECT: counted, never published) and the
    write lookups that count nothing (MOVE)."""
    commands = [["GET", "l"], ["TYPE", "s"], ["TYPE", "x"], ["EXISTS", "s", "x", "l"],
                ["TTL", "s"], ["PTTL", "x"], ["EXPIRETIME", "s"], ["PEXPIRETIME", "x"],
                ["OBJECT", "ENCODING", "s"], ["OBJECT", "ENCODING", "x"],
                ["OBJECT", "REFCOUNT", "l"], ["DUMP", "s"], ["DUMP", "x"],
                ["TOUCH", "s", "x"], ["COPY", "s", "s2"], ["COPY", "x", "x2"],
                ["MOVE", "s", "3"], ["MOVE", "x", "3"], ["SCAN", "0", "TYPE", "string"],
                ["SCAN", "0", "MATCH", "s*", "TYPE", "list"], ["LRANGE", "s", "0", "1"]]

    def scenario(port, protocol, admin):
        subscriber = connect(port, protocol)
        conn = connect(port, protocol)
        admin.call("CONFIG", "SET", "notify-keyspace-events", "Em")
        try:
            subscriber.call("SUBSCRIBE", "__keyevent@9__:keymiss")
            seen = []
            for command in commands:
                conn.call("FLUSHDB")
                conn.call("SET", "s", "v")
                conn.call("RPUSH", "l", "a")
                admin.call("CONFIG", "RESETSTAT")
                reply = conn.call(*command)
                stats = [line for line in admin.call("INFO", "stats").split(b"\r\n")
                         if line.startswith(b"keyspace_")]
                conn.call("PUBLISH", "__keyevent@9__:keymiss", "end")
                events = replies_until(subscriber, b"$3\r\nend\r\n")
                seen.append((command, reply, stats, events))
            return seen
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            subscriber.close()
            conn.close()

    compare_scenario(differ, scenario)


def test_pexpire_one_millisecond_ahead_never_deletes_at_once(mini):
    """PEXPIRE key 1 sets a TTL (an ``expire`` event); it deletes the key at once (a
    ``del`` event) only when the deadline is already past. With the clock read twice
    (deadline, then that test) a millisecond ending between the readings deleted it,
    about once in a hundred; Redis reads its clock nanoseconds apart."""
    conn = connect(mini.port)
    subscriber = connect(mini.port)
    conn.call("CONFIG", "SET", "notify-keyspace-events", "Eg")
    try:
        subscriber.send("SUBSCRIBE", "__keyevent@9__:del", "end")
        subscriber.read_raw()
        subscriber.read_raw()
        rounds = 600
        conn.send_raw(b"".join(encode_command(command) for _ in range(rounds)
                               for command in (["SET", "k", "v"], ["PEXPIRE", "k", "1"])))
        replies = [conn.read_raw() for _ in range(2 * rounds)]
        conn.call("PUBLISH", "end", "stop")
        assert replies[1::2] == [b":1\r\n"] * rounds
        assert replies_until(subscriber, b"stop") == []
    finally:
        conn.call("CONFIG", "SET", "notify-keyspace-events", "")
        conn.close()
        subscriber.close()


# A key's existing value and one command at it: Redis counts one access per lookup
# (lookupKeyRead/Write); a value a write replaces keeps the field the lookup left
# (dbOverwrite), and SET ... GET looks the key up twice.
_ACCESS_SETUPS = {
    "str": ["SET", "k", "10"], "txt": ["SET", "k", "abc"], "list": ["RPUSH", "k", "a", "b"],
    "hash": ["HSET", "k", "f", "1"], "set": ["SADD", "k", "a", "b"],
    "zset": ["ZADD", "k", "1", "a", "2", "b"], "stream": ["XADD", "k", "1-1", "f", "v"],
}
_ACCESS_CASES = [
    ("str", "INCR k"), ("str", "INCRBY k 5"), ("str", "DECRBY k 100000"),
    ("str", "INCRBYFLOAT k 1.5"), ("str", "APPEND k x"), ("str", "APPEND k ''"),
    ("txt", "APPEND k y"), ("str", "SETRANGE k 1 x"), ("str", "GETSET k 5"),
    ("str", "SET k 5 GET"), ("str", "SET k 1 XX"), ("str", "SET k 1 NX"),
    ("str", "SET k 2 NX GET"), ("str", "SET k 2 XX GET"), ("str", "SET k 1 EX 100"),
    ("str", "SET k 1 KEEPTTL"), ("str", "SETEX k 100 1"), ("str", "PSETEX k 100000 1"),
    ("str", "SETNX k 1"), ("str", "MSETNX k 1"), ("str", "MSET k 3"), ("str", "GETDEL k"),
    ("str", "GETEX k EX 100"), ("str", "SETBIT k 1 1"), ("str", "BITOP OR k k"),
    ("str", "BITFIELD k INCRBY u8 0 1"), ("txt", "PFADD k a"), ("str", "COPY k k2"),
    ("str", "RENAME k k2"), ("list", "LPUSH k x"), ("list", "LSET k 0 z"),
    ("list", "LMOVE k k RIGHT LEFT"), ("list", "SORT k ALPHA STORE k"),
    ("hash", "HSET k f 2"), ("hash", "HINCRBY k f 2"), ("hash", "HINCRBYFLOAT k f 2"),
    ("set", "SADD k c"), ("set", "SINTERSTORE k k k"), ("set", "SMOVE k k a"),
    ("zset", "ZADD k 5 a"), ("zset", "ZADD k INCR 1 a"), ("zset", "ZUNIONSTORE k 1 k"),
    ("stream", "XADD k 2-1 f v"), ("str", "INCR new"), ("str", "INCRBYFLOAT new 1"),
    ("str", "APPEND new v"), ("str", "HSET k f 2"), ("str", "HSET k f 2 g 3"),
    ("str", "LPUSH k x"), ("str", "SADD k a"), ("str", "ZADD k 1 a"), ("str", "XADD k 2-1 f v"),
    ("str", "HINCRBY k f 1"), ("list", "INCR k"), ("list", "APPEND k x"),
    ("list", "INCRBYFLOAT k 1"), ("list", "SET k 1 XX"), ("list", "GETSET k 1"),
    ("str", ["EVAL", "redis.call('INCR', KEYS[1]) return redis.call('GET', KEYS[1])",
             "1", "k"]),
]


# LFU counting every access (log factor 0, no decay), and Redis's defaults to restore.
_EXACT_LFU = (["maxmemory", "1gb", "maxmemory-policy", "allkeys-lfu", "lfu-log-factor", "0",
               "lfu-decay-time", "0"],
              ["maxmemory", "0", "maxmemory-policy", "noeviction", "lfu-log-factor", "10",
               "lfu-decay-time", "1"])


def test_writes_count_one_access_per_lookup_as_redis(differ):
    # An LFU policy with a log factor of 0 and no decay counts every access exactly; a
    # maxmemory far above the keys' use, as Redis shares the integers 0..9999 (and
    # their LFU field) while it is 0.
    commands: list = []
    for kind, case in _ACCESS_CASES:
        commands += [["DEL", "k", "k2", "new"], _ACCESS_SETUPS[kind], case,
                     "OBJECT FREQ k", "OBJECT FREQ k2", "OBJECT FREQ new"]
    commands += ["DEL k", "SET k 10", "MULTI", "GET k", "INCR k", "EXEC", "OBJECT FREQ k"]
    with configured(differ, *_EXACT_LFU):
        differ.check(*commands)


def test_served_blocked_clients_count_accesses_as_redis(differ):
    """A ready key is looked up once for all its waiters (handleClientsBlockedOnKeys);
    a sorted set once more per client served (genericZpopCommand), BLMOVE's
    destination once; a blocking pop that finds a sorted set at once looks it up
    twice. Counted exactly: LFU with a log factor of 0 and no decay."""
    cases = [(["BLPOP l 0", "BLPOP l 0"], "RPUSH l a b"),
             (["BZPOPMIN z 0", "BZMPOP 0 1 z MAX"], "ZADD z 1 a 2 b"),
             (["BLMOVE l d LEFT RIGHT 0", "BRPOP l 0"], "RPUSH l a b c"),
             (["BRPOPLPUSH l l 0"], "RPUSH l a"),
             (["XREAD BLOCK 0 STREAMS s $", "BLMPOP 0 1 l LEFT"], "XADD s 1-1 f v")]

    def scenario(port, protocol, admin):
        seen = []
        for blockers, feeder in cases:
            admin.call("FLUSHALL")
            waiting = []
            for blocker in blockers:
                conn = connect(port, protocol)
                conn.send(*blocker.split())
                waiting.append(conn)
                time.sleep(0.05)
            seen.append(admin.call(*feeder.split()))
            time.sleep(0.05)
            for key in ("l", "z", "d", "s"):
                seen.append(admin.call("OBJECT", "FREQ", key))
            for conn in waiting:
                conn.close()
        seen += [admin.call("ZADD", "z", "1", "a", "2", "b", "3", "c"),
                 admin.call("BZPOPMIN", "z", "0"), admin.call("OBJECT", "FREQ", "z"),
                 admin.call("BZMPOP", "0", "1", "z", "MAX"), admin.call("OBJECT", "FREQ", "z")]
        return seen
    with configured(differ, *_EXACT_LFU):
        compare_scenario(differ, scenario)


def test_keys_are_signalled_ready_where_redis_signals_them(differ):
    """Redis signals a key ready, with its value's type, where the database adds it,
    overwrites or deletes a stream there, at XADD and XGROUP DESTROY, and in SWAPDB's
    and FLUSH's scans -- and only when some client waits for a value of that type.
    A signalled key is looked up (an access) even when its waiters were served from
    another key since; a waiter for another type is not offered it. Compared: the
    feeders' replies, who CLIENT UNBLOCK finds still waiting, each blocked client's
    reply, and the keys' access counts."""
    cases = [
        # (setup, blocked commands, feeders)
        ([], ["BZPOPMIN k 0"], ["LPUSH k a", "LPUSH k b"]),     # no list waiter at all
        ([], ["BZPOPMIN k 0", "BLPOP other 0"], ["LPUSH k a"]),  # one elsewhere: looked up
        (["RPUSH src 3 1 2"], ["BLPOP k 0"], ["SET k x", "SORT src STORE k"]),  # overwrite
        ([], ["BLPOP k 0"], ["SET k x", "DEL k", "RPUSH k a"]),
        ([], ["BLPOP k 0"], ["SET k x", "RENAME k k3", "RPUSH k2 a", "RENAME k2 k"]),
        ([], ["XREAD BLOCK 0 STREAMS k s $ $"],
         ["MULTI", "XADD k 1-1 f v", "XADD s 1-1 f v", "EXEC"]),
        (["XGROUP CREATE s g $ MKSTREAM"], ["XREADGROUP GROUP g c BLOCK 0 STREAMS s >"],
         ["SET s x"]),
        (["XGROUP CREATE s g $ MKSTREAM"], ["XREADGROUP GROUP g c BLOCK 0 STREAMS s >",
                                            "BLPOP s 0"], ["FLUSHDB"]),
        (["XGROUP CREATE s g $ MKSTREAM"], ["XREAD BLOCK 0 STREAMS s $"],
         ["XGROUP DESTROY s g"]),
        (["SELECT 8", "RPUSH k a", "XADD s 1-1 f v", "SELECT 9"],
         ["BLPOP k 0", "XREAD BLOCK 0 STREAMS s 0", "BZPOPMIN z 0"],
         ["SWAPDB 9 8", "SELECT 8", "ZADD z 1 a", "SELECT 9", "SWAPDB 9 8"]),
    ]

    def scenario(port, protocol, admin):
        seen = []
        for setup, blockers, feeders in cases:
            admin.call("FLUSHALL")
            for command in setup:
                admin.call(*command.split())
            waiting = []
            for blocker in blockers:
                conn = connect(port, protocol)
                waiting.append((conn, conn.call("CLIENT", "ID")[1:-2]))
                conn.send(*blocker.split())
                time.sleep(0.05)
            seen += [admin.call(*feeder.split()) for feeder in feeders]
            time.sleep(0.05)
            for conn, client_id in waiting:
                seen.append(admin.call("CLIENT", "UNBLOCK", client_id))
                seen.append(conn.read_raw())
                conn.close()
            seen += [admin.call("OBJECT", "FREQ", key) for key in ("k", "k2", "s", "z")]
        return seen
    with configured(differ, *_EXACT_LFU):
        compare_scenario(differ, scenario)


# (setup making k, or k and k2, logically expired; the write)
_OVER_EXPIRED = [
    (["SADD k a"], "SUNIONSTORE k nosuch"), (["SADD k a"], "SINTERSTORE k nosuch"),
    (["SADD k a"], "SDIFFSTORE k nosuch"), (["ZADD k 1 a"], "ZUNIONSTORE k 1 nosuch"),
    (["ZADD k 1 a"], "ZRANGESTORE k nosuch 0 -1"), (["RPUSH k a"], "SORT nosuch STORE k"),
    (["ZADD k 1 a"], "GEOSEARCHSTORE k nosuch FROMLONLAT 0 0 BYRADIUS 1 km"),
    (["SET k x"], "BITOP AND k nosuch"), (["SET k x"], "RESTORE k 0 {dump} REPLACE"),
    (["SET k x"], "SET k v"), (["RPUSH k a"], "SET k v NX"),
    (["SET k x", "SET k2 y"], "MSET k v k2 w"), (["SET k x"], "MSETNX k v"),
    (["SET k x"], "SET k v|SET k w|SET k2 u"), (["SET k x", "SET k2 y"], "MSET k v|MSET k2 w"),
]


def _changes_so_far(conn: RawConnection) -> int:
    return int(re.search(rb"rdb_changes_since_last_save:(\d+)",
                         conn.call("INFO", "persistence")).group(1))


def test_writes_over_a_logically_expired_key_as_redis(differ):
    """A key past its deadline that nothing reclaimed yet (active expiry off). A
    command's destination deleted without a lookup (an empty SUNIONSTORE, SORT ...
    STORE, RESTORE ... REPLACE: Redis's dbDelete) goes as a deletion -- a "del" event,
    a change -- not as an expiry; a SET or MSET (also in a run of them in one read)
    looks its key up for writing first, so it expires ("expired", then "new"). Compared:
    replies, expired_keys, changes, keys and the events, in order."""
    def scenario(port, protocol, admin):
        admin.call("RPUSH", "src", "a", "b")
        raw = admin.call("DUMP", "src")
        dump = raw[raw.index(b"\r\n") + 2:-2]
        events = connect(port, 2)
        events.call("PSUBSCRIBE", "__key*@9__:*")
        admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        seen = []
        try:
            for setup, write in _OVER_EXPIRED:
                admin.call("FLUSHALL")
                for command in setup:
                    admin.call(*command.split())
                    admin.call("PEXPIRE", command.split()[1], "2")
                time.sleep(0.005)
                admin.call("CONFIG", "RESETSTAT")
                changes = _changes_so_far(admin)
                admin.call("PUBLISH", "__keyspace@9__:start", "")
                replies_until(events, b"__keyspace@9__:start")
                requests = [[dump if word == "{dump}" else word for word in part.split()]
                            for part in write.split("|")]
                admin.send_raw(b"".join(encode_command(args) for args in requests))
                seen.append([admin.read_raw() for _ in requests])
                seen.append(re.findall(rb"expired_keys:\d+", admin.call("INFO", "stats")))
                seen.append(_changes_so_far(admin) - changes)
                seen.append(admin.call("DBSIZE"))
                admin.call("PUBLISH", "__keyspace@9__:end", "")
                seen.append(replies_until(events, b"__keyspace@9__:end"))
        finally:
            admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            events.close()
        return seen
    with configured(differ, ["notify-keyspace-events", "KEA"],
                    ["notify-keyspace-events", ""]):
        compare_scenario(differ, scenario)
