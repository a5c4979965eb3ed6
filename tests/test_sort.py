"""SORT and SORT_RO: differential tests against redis-server (RESP2 and RESP3).

Found missing by walrus (its List/Set/ZSet ``sort()`` and model queries use SORT).
"""
from __future__ import annotations

import pytest

from miniredis.commands.sort import _strtod
from tests.harness import Unordered, command_metadata, connect, parse_raw

@pytest.mark.parametrize("name", ["sort", "sort_ro"])
def test_command_metadata(differ, name):
    assert command_metadata(differ.ports["miniredis"], name) == \
        command_metadata(differ.ports["redis"], name)


def test_getkeys(differ):
    differ.check("COMMAND GETKEYS SORT k", "COMMAND GETKEYS SORT k STORE d",
                 "COMMAND GETKEYS SORT k STORE d1 LIMIT 0 1 STORE d2",
                 "COMMAND GETKEYS SORT k BY store GET store STORE d",
                 "COMMAND GETKEYS SORT k STORE", "COMMAND GETKEYS SORT_RO k BY x")


def test_numeric_and_alpha(differ):
    differ.check("RPUSH l 3 10 -1 2.5 0x10 1e2 10", "SORT l", "SORT l DESC",
                 "SORT l ASC", "SORT l ALPHA", "SORT l ALPHA DESC", "SORT_RO l DESC",
                 "RPUSH words banana Apple cherry apple", "SORT words ALPHA",
                 "SORT words ALPHA DESC", "SORT words",
                 "SORT missing", "SORT missing ALPHA DESC LIMIT 0 10",
                 "SORT_RO missing")


def test_ties_are_ordered_by_element(differ):
    differ.check("RPUSH l 1.0 1 01 +1 1e0 0.5", "SORT l", "SORT l DESC",
                 "SADD s b a c", "SET w_a 1", "SET w_b 1", "SET w_c 0",
                 "SORT s BY w_*", "SORT s BY w_* DESC")


def test_limit(differ):
    differ.check("RPUSH l 5 4 3 2 1",
                 "SORT l LIMIT 0 2", "SORT l LIMIT 1 3", "SORT l LIMIT 3 10",
                 "SORT l LIMIT 5 1", "SORT l LIMIT 10 1", "SORT l LIMIT -5 2",
                 "SORT l LIMIT 2 -1", "SORT l LIMIT 2 0", "SORT l LIMIT 0 1 DESC",
                 "SORT l DESC LIMIT 1 2 ALPHA", "SORT l LIMIT 1 1 LIMIT 0 3",
                 "SORT missing LIMIT 0 1")


def test_sets_and_sorted_sets(differ):
    differ.check("SADD ints 30 1 20 -5", "SORT ints", "SORT ints DESC LIMIT 1 2",
                 "SADD names x b a", "SORT names ALPHA", "SORT names",
                 "ZADD z 1 c 2 a 3 b", "SORT z ALPHA", "SORT z", "SORT z BY nosort",
                 "SORT z BY nosort DESC", "SORT z BY nosort LIMIT 1 1",
                 "SORT z BY nosort DESC LIMIT 0 2", "ZADD zn 5 10 1 30 3 20",
                 "SORT zn", "SORT zn DESC")


def test_dontsort(differ):
    differ.check("RPUSH l c a b", "SORT l BY nosort", "SORT l BY nosort DESC",
                 "SORT l BY nosort LIMIT 1 5", "SORT l BY nosort DESC LIMIT 1 1",
                 "SORT l BY nosort ALPHA", "SORT l BY nosort GET #",
                 "SADD ints 3 1 2", "SORT ints BY nosort",
                 Unordered("SORT names BY nosort"), "SADD names q w e r t y",
                 Unordered("SORT names BY nosort"),
                 "SORT names BY nosort STORE dst", "LRANGE dst 0 -1",
                 "SORT names BY nosort DESC STORE dst", "LRANGE dst 0 -1",
                 "EVAL \"return redis.call('sort', KEYS[1], 'by', 'nosort')\" 1 names",
                 "EVAL \"return redis.call('sort_ro', KEYS[1], 'by', 'x', 'desc')\" 1 "
                 "names")


def test_by_and_get_patterns(differ):
    differ.check("RPUSH ids 1 2 3 4", "SET w_1 40", "SET w_2 10", "SET w_3 30",
                 "HSET user:1 name zed age 33", "HSET user:2 name amy age 25",
                 "HSET user:3 name bob", "SET name_1 one", "SET name_3 three",
                 "SORT ids BY w_*", "SORT ids BY w_* DESC", "SORT ids BY w_* LIMIT 1 2",
                 "SORT ids BY user:*->age", "SORT ids BY user:*->name ALPHA",
                 "SORT ids BY user:*->name ALPHA DESC",
                 "SORT ids BY w_* GET #", "SORT ids BY w_* GET name_* GET # "
                 "GET user:*->name GET user:*->nope GET nostar",
                 "SORT ids GET user:*->", "SET user:1-> direct", "SORT ids GET user:*->",
                 "SORT ids GET *", "SORT ids BY *", "SET 2 7", "SORT ids GET *",
                 "SORT ids BY w_*_*", "SET w_1_* 1", "SORT ids GET w_*_*",
                 "SORT ids BY ids GET #", "SORT ids BY user:*->age DESC GET user:*->name",
                 "RPUSH h_1 x", "SORT ids GET h_*", "SORT ids BY w_* GET w_*->x",
                 "HSET a->b1 f v", "SORT ids GET a->b*->f")


def test_conversion_errors(differ):
    # One check (fresh connections) per value: Redis tests strtod's errno without
    # clearing it first, so after an ERANGE the next non-integer element fails too,
    # until something else (accepting a connection) overwrites errno.
    values = ["1e-310", "1e-400", "1e400", " 1", "1 ", "", "0x10", "inf", "-inf", "nan",
              "infinity", "1_0", "+.5", "5.", "  -2e1", "\t3", "0x1p-1080", "abc",
              "-0", "0x", "1e", ".", "-.5e-3"]
    for value in values:
        differ.check(["RPUSH", "l", value, "2"], ["SORT", "l"], ["SET", "w_a", value],
                     ["SORT", "l", "BY", "w_*"])
    differ.check("RPUSH l a 1", "SORT l", "SORT l STORE d", "EXISTS d", "SORT l ALPHA",
                 "SORT l BY nosort")


def test_strtod_rules():
    assert _strtod(b"") == 0.0
    assert _strtod(b" \t1.5") == 1.5
    assert _strtod(b"0x1.8p1") == 3.0
    assert _strtod(b"-INF") == float("-inf")
    assert _strtod(b"1.5 ") is None and _strtod(b"nan") is None
    assert _strtod(b"1e-320") is None and _strtod(b"0e-999") == 0.0


def test_store(differ):
    differ.check("RPUSH l 3 1 2", "SET dst old", "EXPIRE dst 100",
                 "SORT l STORE dst", "TYPE dst", "TTL dst", "LRANGE dst 0 -1",
                 "OBJECT ENCODING dst", "SORT l DESC LIMIT 0 2 STORE dst",
                 "LRANGE dst 0 -1", "SORT l GET # GET nope_* STORE dst",
                 "LRANGE dst 0 -1", "SORT l LIMIT 5 5 STORE dst", "EXISTS dst",
                 "SORT missing STORE dst", "EXISTS dst", "SORT l STORE l",
                 "LRANGE l 0 -1", "SORT l STORE a STORE b", "EXISTS a", "LRANGE b 0 -1",
                 "SORT l STORE", "SORT_RO l STORE dst", "SORT l STORE dst GET")


def test_errors(differ):
    differ.check("SET str x", "HSET h f v", "RPUSH l 1",
                 "SORT str", "SORT h", "SORT str LIMIT", "SORT str LIMIT a 1",
                 "SORT str LIMIT 1 b", "SORT str LIMIT 1", "SORT l BY", "SORT l GET",
                 "SORT l LIMIT 99999999999999999999 1", "SORT l nope", "SORT l ASC ASC X",
                 "SORT", "SORT_RO", "SORT_RO str", "XADD st 1-1 a 1", "SORT st",
                 "SORT str BY nosort")


def test_inside_transactions_and_scripts(differ):
    differ.check("RPUSH l 2 1", "MULTI", "SORT l", "SORT l STORE d", "SORT l nope",
                 "EXEC", "MULTI", "SORT l", "SORT l STORE d", "EXEC", "LRANGE d 0 -1",
                 "EVAL \"return redis.call('sort', KEYS[1], 'desc')\" 1 l",
                 "EVAL \"return redis.call('sort', KEYS[1], 'store', KEYS[2])\" 2 l d2",
                 "EVAL_RO \"return redis.call('sort', KEYS[1])\" 1 l",
                 "EVAL_RO \"return redis.call('sort_ro', KEYS[1], 'desc')\" 1 l")


def test_keyspace_statistics(differ):
    replies = []
    for port in (differ.ports["redis"], differ.ports["miniredis"]):
        conn = connect(port)
        try:
            conn.call("FLUSHALL")
            conn.call("RPUSH", "l", "1", "2")
            conn.call("SET", "w_1", "5")
            conn.call("CONFIG", "RESETSTAT")
            conn.call("SORT", "l", "BY", "w_*", "GET", "#", "GET", "x_*")
            conn.call("SORT", "missing", "STORE", "d")
            conn.call("SORT", "l", "BY", "nosort", "STORE", "d")
            stats = conn.call("INFO", "stats").decode()
            replies.append([line for line in stats.split("\r\n")
                            if line.startswith("keyspace_")])
        finally:
            conn.close()
    assert replies[0] == replies[1]
    assert replies[1] == ["keyspace_hits:4", "keyspace_misses:3"] or \
        replies[1][0] != "keyspace_hits:0"


def test_keyspace_events(differ):
    seen = []
    for port in (differ.ports["redis"], differ.ports["miniredis"]):
        admin = connect(port)
        listener = connect(port)
        try:
            admin.call("FLUSHALL")
            admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
            listener.call("PSUBSCRIBE", "__key*__:*")
            admin.call("RPUSH", "l", "b", "a")
            admin.call("SORT", "l", "ALPHA", "STORE", "dst")
            admin.call("SORT", "l", "ALPHA", "STORE", "dst")
            admin.call("SORT", "nothing", "STORE", "dst")
            admin.call("SORT", "l", "GET", "missing_*")
            admin.call("PUBLISH", "__keyspace@0__:end", "end")
            events = []
            while True:
                message = parse_raw(listener.read_raw())
                channel, payload = message[1][2][1], message[1][3][1]
                if channel == b"__keyspace@0__:end":
                    break
                events.append((channel, payload))
            seen.append(events)
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            admin.close()
            listener.close()
    assert seen[0] == seen[1]
    assert (b"__keyspace@9__:dst", b"sortstore") in seen[1]


def test_store_serves_blocked_clients(differ):
    results = []
    for port in (differ.ports["redis"], differ.ports["miniredis"]):
        admin = connect(port)
        waiter = connect(port)
        try:
            admin.call("FLUSHALL")
            admin.call("RPUSH", "src", "2", "1")
            waiter.send("BLPOP", "dst", "5")
            for _ in range(200):
                if b"blocked_clients:1" in admin.call("INFO", "clients"):
                    break
            results.append((admin.call("SORT", "src", "STORE", "dst"), waiter.read_raw(),
                            admin.call("LRANGE", "dst", "0", "-1")))
        finally:
            admin.close()
            waiter.close()
    assert results[0] == results[1]
    assert results[1][1] == b"*2\r\n$3\r\ndst\r\n$1\r\n1\r\n"


def test_watch_sees_store(differ):
    differ.check("RPUSH l 1", "WATCH dst", "SORT l STORE dst", "MULTI", "PING", "EXEC",
                 "WATCH dst", "SORT missing STORE nothing", "MULTI", "PING", "EXEC")


def _weighted_list(size: int) -> list:
    """RPUSH of ``size`` elements and SETs of their weights: three values, so most
    weights are shared, and every seventh weight missing."""
    commands = [["RPUSH", "l"] + ["e%d" % i for i in range(size)]]
    for i in range(size):
        if i % 7:
            commands.append(["SET", "w_e%d" % i, "abc"[(i * 5) % 3]])
            commands.append(["HSET", "h_e%d" % i, "f", "xy"[i % 2]])
    return commands


@pytest.mark.parametrize("size", [8, 45, 120])
def test_by_alpha_ties_under_limit(differ, size):
    # BY with a LIMIT that leaves elements out is Redis's partial quicksort (pqsort),
    # and ALPHA weights that are equal (or missing) are not ordered any further: their
    # order is pqsort's. Without such a LIMIT, glibc's merge sort keeps list order.
    differ.check(*_weighted_list(size),
                 "SORT l BY w_* ALPHA LIMIT 0 5", "SORT l BY w_* ALPHA LIMIT 3 20",
                 "SORT l BY w_* ALPHA DESC LIMIT 1 6", "SORT l BY w_* ALPHA LIMIT 0 -1",
                 "SORT l BY w_* ALPHA", "SORT l BY w_* ALPHA DESC",
                 "SORT l BY h_*->f ALPHA LIMIT 2 9 GET # GET w_*",
                 "SORT l BY nosuch_* ALPHA LIMIT 1 4",
                 "SORT_RO l BY w_* ALPHA LIMIT 4 4", "SORT l BY w_* LIMIT 0 7",
                 "SORT l BY w_* ALPHA LIMIT 0 6 STORE d", "LRANGE d 0 -1",
                 "EVAL \"return redis.call('sort', KEYS[1], 'by', 'w_*', 'alpha', "
                 "'limit', 2, 5)\" 1 l")


def test_c_strings(differ):
    # strtod, and ALPHA's strcoll without STORE, read up to the first NUL byte (equal
    # C strings keep their order); ALPHA with STORE compares every byte.
    differ.check(["RPUSH", "l", "a\x00c", "b", "", "a\x00b", "\x00x", "a", "\x00"],
                 "SORT l ALPHA", "SORT l ALPHA DESC", "SORT l ALPHA STORE d",
                 "LRANGE d 0 -1", "SORT l ALPHA LIMIT 1 3",
                 ["SET", "w_b", "\x00junk"], ["SET", "w_a", "2\x00x"],
                 ["SET", "w_", "a\x00"], ["SET", "w_a\x00c", "a\x00z"],
                 "SORT l BY w_*", "SORT l BY w_* ALPHA", "SORT l BY w_* ALPHA LIMIT 0 4",
                 "SORT l BY w_* ALPHA STORE d", "LRANGE d 0 -1",
                 ["RPUSH", "n", "3\x00x", "1", "2\x00"], "SORT n", "SORT n DESC",
                 ["RPUSH", "bad", "1", "x\x002"], "SORT bad")


def test_pqsort_sorts_the_range_without_recursion():
    # An own stack, not recursion: crafted weights cannot exhaust Python's.
    import random
    from miniredis.pqsort import pqsort
    rng = random.Random(7)
    for size, low, high in ((3000, 0, 2999), (3000, 100, 120), (50, 49, 49), (9, 0, -1)):
        items = [rng.randrange(40) for _ in range(size)]
        expected = sorted(items)
        pqsort(items, lambda a, b: (a > b) - (a < b), low, high)
        assert items[low:high + 1] == expected[low:high + 1]
        assert sorted(items) == expected
    items = list(range(5000, 0, -1)) + list(range(5000))    # deep on one side
    pqsort(items, lambda a, b: (a > b) - (a < b), 0, len(items) - 1)
    assert items == sorted(items)


def test_sorted_set_becomes_a_skiplist(differ):
    # sort.c converts a sorted set to a skiplist before sorting it, whatever the
    # options (SORT_RO and BY nosort too); a missing key or another type stays as is.
    differ.check("ZADD z 1 a 2 b", "OBJECT ENCODING z", "SORT z BY nosort",
                 "OBJECT ENCODING z", "ZADD z2 1 x", "SORT_RO z2 ALPHA LIMIT 0 0",
                 "OBJECT ENCODING z2", "ZADD z3 3 c", "SORT z3 LIMIT 0 1 STORE d",
                 "OBJECT ENCODING z3", "ZRANGE z3 0 -1 WITHSCORES", "ZADD z4 1 m",
                 "EVAL \"return redis.call('sort', KEYS[1], 'alpha')\" 1 z4",
                 "OBJECT ENCODING z4", "ZADD z5 1 m", "SORT z5 nope", "OBJECT ENCODING z5",
                 "ZADD z4 5 n", "ZRANGE z4 0 -1 WITHSCORES", "ZCARD z4",
                 "COPY z4 z6", "OBJECT ENCODING z6", "ZREM z4 m n", "EXISTS z4")


def _quicksort_killer(size: int) -> list:
    """McIlroy's adversary ("A Killer Adversary for Quicksort"): values decided while
    the sort compares them, so that it goes quadratic on them."""
    from miniredis.pqsort import _pqsort
    gas = size
    values = [gas] * size
    state = {"solid": 0, "candidate": 0}

    def compare(x: int, y: int) -> int:
        if values[x] == gas and values[y] == gas:
            frozen = x if x == state["candidate"] else y
            values[frozen] = state["solid"]
            state["solid"] += 1
        if values[x] == gas:
            state["candidate"] = x
        elif values[y] == gas:
            state["candidate"] = y
        return values[x] - values[y]

    _pqsort(list(range(size)), compare, 0, size - 1)
    return values


def test_pqsort_bounds_its_comparisons():
    # Crafted weights make Redis's quicksort quadratic (in C); here it stops at a
    # budget and sorts stably, so SORT BY ... ALPHA LIMIT cannot stall the server.
    from miniredis.pqsort import _pqsort, pqsort
    size = 4000
    data = _quicksort_killer(size)
    calls = [0]

    def compare(a: int, b: int) -> int:
        calls[0] += 1
        return (a > b) - (a < b)

    _pqsort(list(data), compare, 0, size - 1)
    quadratic, calls[0] = calls[0], 0
    items = list(data)
    pqsort(items, compare, 0, size - 1)
    budget = 8 * size * size.bit_length() + 64
    assert quadratic > size * size // 20 > budget
    assert calls[0] < budget + 2 * size * size.bit_length()
    assert items == sorted(data)
