"""Hash commands: differential tests of replies and errors, RESP2 and RESP3.

Every sequence goes to a real redis-server and to miniredis (see tests/harness.py) and
the raw replies must be byte-identical. Small hashes are listpacks in Redis, whose
order (insertion order) is deterministic, so most replies are compared exactly;
``Unordered`` is used only where a hash is a hash table. Random commands are checked
for shape, size, distinctness and membership.
"""
from __future__ import annotations

import random

import pytest

from miniredis.commands import load_all, lookup
from tests.harness import (RawConnection, SameType, Unordered, assert_same_hits_and_misses,
                           command_metadata, configured, mini_signals, parse_raw,
                           redis_signals)

load_all()

ALL_HASH_COMMANDS = (
    "hset hsetnx hget hmget hmset hdel hexists hlen hstrlen hkeys hvals hgetall hincrby "
    "hincrbyfloat hrandfield hscan").split()


def _conn(port: int, protocol: int = 2) -> RawConnection:
    conn = RawConnection(port)
    if protocol == 3:
        conn.call("HELLO", "3")
    conn.call("SELECT", "9")
    return conn


@pytest.fixture
def small_listpack(differ):
    """hash-max-listpack-entries 4 and -value 8 on both servers, restored afterwards."""
    with configured(differ, ['hash-max-listpack-entries', '4', 'hash-max-listpack-value', '8'],
                    ['hash-max-listpack-entries', '512', 'hash-max-listpack-value', '64']):
        yield differ


# -- metadata -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_HASH_COMMANDS)
def test_command_metadata_matches_redis(differ, name):
    """Arity, flags, key positions, summary, since and group as Redis 7.0 has them."""
    assert command_metadata(differ.ports["miniredis"], name) == \
        command_metadata(differ.ports["redis"], name)


def test_every_command_is_registered():
    for name in ALL_HASH_COMMANDS:
        cmd = lookup(name.encode())
        assert cmd is not None and cmd.group == "hash", name


# -- setting and getting ----------------------------------------------------------------------
def test_hset_hget_family(differ):
    differ.check(
        "HSET h a 1 b 2 c 3", "HSET h a 10 d 4", "HGET h a", "HGET h zz", "HGET missing a",
        "HMGET h a zz c", "HMGET missing a b", "HLEN h", "HLEN missing", "HEXISTS h a",
        "HEXISTS h zz", "HEXISTS missing a", "HSTRLEN h a", "HSTRLEN h zz",
        "HSTRLEN missing a", "HKEYS h", "HVALS h", "HGETALL h", "HKEYS missing",
        "HVALS missing", "HGETALL missing", "HMSET h e 5 a 0", "HGETALL h",
        "HSETNX h a x", "HSETNX h f 6", "HSETNX new f 6", "HGETALL new", "HSET h a",
        "HSET h a 1 b", "HMSET h a", "HMSET h a 1 b", "HSET h", "HSETNX h a", "HGET h",
        "HMGET h", "HSET h '' ''", "HGET h ''", "HSTRLEN h ''", "HSET h a 1 a 2 a 3",
        "HGET h a", "TYPE h", "OBJECT ENCODING h")


def test_insertion_order_of_listpacks(differ):
    """A listpack keeps insertion order; an update stays in place, a re-added field
    goes last (the dict order miniredis keeps)."""
    differ.check(
        "HSET h z 1 y 2 x 3 w 4", "HSET h y 20", "HDEL h z", "HSET h z 5", "HKEYS h",
        "HVALS h", "HGETALL h", "HSCAN h 0", "HRANDFIELD h 10", "HRANDFIELD h 4 WITHVALUES")


def test_hdel_and_empty_keys(differ):
    differ.check(
        "HSET h a 1 b 2 c 3", "HDEL h a zz", "HDEL h zz", "HDEL missing a", "HLEN h",
        "HDEL h b c a", "EXISTS h", "TYPE h", "HGETALL h", "HSET h a 1", "HDEL h a a",
        "EXISTS h", "HDEL h", "HSET h x 1", "EXPIRE h 100", "HSET h y 2", "TTL h",
        "HDEL h x y", "TTL h", "EXISTS h")


def test_wrongtype(differ):
    differ.check(
        "SET s x", "HSET s a 1", "HMSET s a 1", "HSETNX s a 1", "HGET s a", "HMGET s a",
        "HDEL s a", "HEXISTS s a", "HLEN s", "HSTRLEN s a", "HKEYS s", "HVALS s",
        "HGETALL s", "HINCRBY s a 1", "HINCRBYFLOAT s a 1", "HRANDFIELD s",
        "HRANDFIELD s 2", "HRANDFIELD s -2 WITHVALUES", "HRANDFIELD s 0", "HSCAN s 0",
        "HSCAN s 0 COUNT 0", "RPUSH l x", "HSET l a 1", "HGETALL l", "HSET h a 1",
        "GET h", "LPUSH h x", "INCR h", "TYPE h", "HINCRBY s a x", "HINCRBYFLOAT s a x",
        "HINCRBYFLOAT s a inf", "HSCAN s x", "HRANDFIELD s x", "HRANDFIELD s 1 foo")


# -- counters -----------------------------------------------------------------------------
def test_hgetall_everywhere(differ):
    # HGETALL's reply (a flat map, encoded in one join) alone, in a transaction, in a
    # script (a map table in RESP3, an array in RESP2), empty and missing, with
    # binary and long fields, RESP2 and RESP3.
    long = "x" * 300
    differ.check(
        "HSET h a 1 b '' c 333", "HGETALL h", "HGETALL nosuch", "MULTI", "HGETALL h",
        "HGETALL nosuch", "EXEC", "HSET bin '\x00\r\n' '\xff' %s %s" % (long, long),
        Unordered(["HGETALL", "bin"]), "EVAL \"return redis.call('hgetall', 'h')\" 0",
        "EVAL \"redis.setresp(3) local t = redis.call('hgetall', 'h') "
        "return {t.map.a, t.map.b, t.map.c}\" 0",
        "EVAL \"redis.setresp(3) return redis.call('hgetall', 'h')\" 0",
        "EVAL \"redis.setresp(3) return redis.call('hgetall', 'nosuch')\" 0",
        "EVAL \"return #redis.call('hgetall', 'bin')\" 0", "HDEL h a b c", "HGETALL h")


def test_field_lists_everywhere(differ):
    # HKEYS/HVALS (bulks from one unpack of a listpack) and HMGET (one unpack for
    # every field) of a listpack and a hash table: a field named as another's value,
    # a field asked twice, missing ones, alone, in a transaction and in scripts.
    long = "x" * 300
    differ.check(
        "HSET h a b b 5 '' e", "HKEYS h", "HVALS h", "HMGET h b a b nosuch ''",
        "HMGET nosuch a", "HKEYS nosuch", "HVALS nosuch", "MULTI", "HKEYS h",
        "HMGET h a nosuch", "EXEC", "EVAL \"return redis.call('hkeys', 'h')\" 0",
        "EVAL \"redis.setresp(3) return redis.call('hvals', 'h')\" 0",
        "EVAL \"return redis.call('hmget', 'h', 'a', 'x', 'b')\" 0",
        "HSET big f %s" % long, "OBJECT ENCODING big", "HSET big a 1",
        Unordered(["HKEYS", "big"]), Unordered(["HVALS", "big"]), "HMGET big a f x",
        "SET s v", "HKEYS s", "HVALS s", "HMGET s a")


def test_counters_in_packed_hashes_keep_order_and_convert(differ):
    # HINCRBY and HINCRBYFLOAT read and write a listpack hash in one unpack: a
    # field whose name is another's value, order kept (a new field goes last), the
    # conversion to a hash table at either limit, and the hash table after it.
    with configured(differ, ["hash-max-listpack-entries", "4",
                             "hash-max-listpack-value", "8"],
                    ["hash-max-listpack-entries", "128", "hash-max-listpack-value", "64"]):
        differ.check(
            "HSET h a b b 5", "HINCRBY h b 1", "HINCRBY h a 1", "HGETALL h",
            "HSET h a 2", "HINCRBY h a 1", "HINCRBYFLOAT h c 1.5", "HGETALL h",
            "OBJECT ENCODING h", "HINCRBY h d 7", "OBJECT ENCODING h", "HINCRBY h e 1",
            "OBJECT ENCODING h", Unordered(["HGETALL", "h"]), "HINCRBY h e 1", "HGET h e",
            "HSET g x 1 y 2", "HINCRBYFLOAT g x 0.123456789", "OBJECT ENCODING g",
            Unordered(["HGETALL", "g"]),
            "HSET k x 1", "HINCRBY k x 99999999", "OBJECT ENCODING k", "HINCRBY k x 1",
            "OBJECT ENCODING k", "HINCRBY fresh 5 5", "HGETALL fresh",
            "OBJECT ENCODING fresh", "HINCRBYFLOAT fresh2 f 2.5", "HGETALL fresh2",
            "HINCRBY h b x", Unordered(["HGETALL", "h"]))


def test_hincrby(differ):
    differ.check(
        "HINCRBY h n 5", "HINCRBY h n -7", "HINCRBY h n 0", "HGET h n", "HINCRBY h n x",
        "HINCRBY h n 1.5", "HINCRBY h n ''", "HINCRBY h n 9223372036854775808",
        "HSET h big 9223372036854775806", "HINCRBY h big 1", "HINCRBY h big 1",
        "HGET h big", "HSET h small -9223372036854775807", "HINCRBY h small -1",
        "HINCRBY h small -1", "HINCRBY h small 9223372036854775807", "HSET h s abc",
        "HINCRBY h s 1", "HSET h sp ' 1'", "HINCRBY h sp 1", "HSET h z 007",
        "HINCRBY h z 1", "HSET h e ''", "HINCRBY h e 1", "HSET h f 1.0", "HINCRBY h f 1",
        "HINCRBY new n -3", "HGETALL new", "HINCRBY h n", "HINCRBY h n 1 2",
        "HSET h neg -5", "HINCRBY h neg +1", "HINCRBY h neg -0", "OBJECT ENCODING h")


def test_hincrbyfloat(differ):
    differ.check(
        "HINCRBYFLOAT h f 1.5", "HINCRBYFLOAT h f 0.1", "HINCRBYFLOAT h f -1.6",
        "HGET h f", "HINCRBYFLOAT h f 1e3", "HINCRBYFLOAT h f 3.0e-2", "HINCRBYFLOAT h f x",
        "HINCRBYFLOAT h f inf", "HINCRBYFLOAT h f -inf", "HINCRBYFLOAT h f nan",
        "HINCRBYFLOAT h f ''", "HINCRBYFLOAT h f 1e5000", "HINCRBYFLOAT h f ' 1'",
        "HINCRBYFLOAT h f 0x10", "HINCRBYFLOAT h f 1e4000", "HINCRBYFLOAT h f -1e4000",
        "HSET h s abc", "HINCRBYFLOAT h s 1", "HSET h i inf", "HINCRBYFLOAT h i 1",
        "HSET h big 1e4932", "HINCRBYFLOAT h big 1e4932", "HGET h big", "HSET h n 10",
        "HINCRBYFLOAT h n 1", "HINCRBYFLOAT h n 5.0e3", "HSET h sp ' 2'",
        "HINCRBYFLOAT h sp 1", "HSET h hex 0x1p3", "HINCRBYFLOAT h hex 1",
        "HINCRBYFLOAT new f 10.50", "HGETALL new", "HINCRBYFLOAT h f",
        "HINCRBYFLOAT h f 1 2", "HSET h q 1", "HINCRBYFLOAT h q 0.000000000000000001",
        "HINCRBYFLOAT h q 1e17", "HINCRBYFLOAT h q -1e17", "OBJECT ENCODING h",
        Unordered("HGETALL h"))


def test_hincrbyfloat_random_walk(differ):
    rng = random.Random(4)
    commands = []
    for _ in range(60):
        amount = rng.choice(["%d" % rng.randint(-1000, 1000), "%.3f" % rng.uniform(-50, 50),
                             "%de%d" % (rng.randint(1, 9), rng.randint(-20, 20)),
                             "0.1", "-0.3"])
        commands.append(["HINCRBYFLOAT", "h", rng.choice("abc"), amount])
    commands.append("HGETALL h")
    differ.check(*commands)


# -- random fields ------------------------------------------------------------------------
def test_hrandfield_deterministic_cases_and_errors(differ):
    differ.check(
        "HRANDFIELD missing", "HRANDFIELD missing 2", "HRANDFIELD missing -2 WITHVALUES",
        "HRANDFIELD missing 0", "HSET h a 1", "HRANDFIELD h", "HRANDFIELD h 1",
        "HRANDFIELD h -3", "HRANDFIELD h -3 WITHVALUES", "HRANDFIELD h 1 WITHVALUES",
        "HSET h b 2 c 3", "HRANDFIELD h 0", "HRANDFIELD h 0 WITHVALUES", "HRANDFIELD h 3",
        "HRANDFIELD h 100 withvalues", "HRANDFIELD h x", "HRANDFIELD h 1.5",
        "HRANDFIELD h -9223372036854775808", "HRANDFIELD h -9223372036854775808 WITHVALUES",
        "HRANDFIELD h 9223372036854775807", "HRANDFIELD h 9223372036854775808",
        "HRANDFIELD h 4611686018427387904 WITHVALUES",
        "HRANDFIELD h -4611686018427387904 WITHVALUES",
        "HRANDFIELD h 4611686018427387903 WITHVALUES", "HRANDFIELD h 1 foo",
        "HRANDFIELD h 1 WITHVALUES foo", "HRANDFIELD h 1 WITHVALUE",
        "HRANDFIELD h x WITHVALUES", "HRANDFIELD h x foo")


def _random_replies(port: int, protocol: int, fields: int, hashtable: bool):
    conn = _conn(port, protocol)
    try:
        conn.call("DEL", "h")
        args = ["HSET", "h"]
        for i in range(fields):
            args += ["f%d" % i, ("v%d" % i) * (30 if hashtable and i == 0 else 1)]
        conn.call(*args)
        replies = {}
        for count in (1, 2, fields - 1, -1, -5, -(fields * 3)):
            replies[count] = parse_raw(conn.call("HRANDFIELD", "h", str(count)))
            replies[(count, "w")] = parse_raw(conn.call("HRANDFIELD", "h", str(count),
                                                        "WITHVALUES"))
        replies["single"] = parse_raw(conn.call("HRANDFIELD", "h"))
        return replies
    finally:
        conn.close()


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("fields,hashtable", [(6, False), (40, True)])
def test_hrandfield_shapes(differ, protocol, fields, hashtable):
    """Sizes, distinctness (positive counts), membership and pairing of random fields;
    the reply shapes are compared with Redis's."""
    known = {b"f%d" % i: (b"v%d" % i) * (30 if hashtable and i == 0 else 1)
             for i in range(fields)}
    for server in ("redis", "miniredis"):
        replies = _random_replies(differ.ports[server], protocol, fields, hashtable)
        kind, single = replies["single"]
        assert kind == b"$" and single in known
        for count in (1, 2, fields - 1, -1, -5, -(fields * 3)):
            kind, items = replies[count]
            assert kind == b"*" and len(items) == abs(count), (server, count)
            names = [item[1] for item in items]
            assert all(item[0] == b"$" for item in items) and set(names) <= set(known)
            if count > 0:
                assert len(set(names)) == count, (server, count)
            kind, items = replies[(count, "w")]
            assert kind == b"*"
            if protocol == 3:
                pairs = [(pair[1][0][1], pair[1][1][1]) for pair in items]
                assert all(pair[0] == b"*" and len(pair[1]) == 2 for pair in items)
            else:
                flat = [item[1] for item in items]
                pairs = list(zip(flat[::2], flat[1::2]))
            assert len(pairs) == abs(count)
            assert all(known[field] == value for field, value in pairs), server
            if count > 0:
                assert len({field for field, _ in pairs}) == count
    # Both servers answer with the same shapes.
    differ.check("HSET h a 1 b 2 c 3", SameType("HRANDFIELD h -5 WITHVALUES"),
                 SameType("HRANDFIELD h 2"))


def test_hrandfield_covers_every_field(mini):
    """Over many draws every field comes up: a uniform-looking choice, not a fixed one."""
    conn = _conn(mini.port)
    try:
        conn.call("DEL", "h")
        conn.call("HSET", "h", *[x for i in range(8) for x in ("f%d" % i, "v")])
        seen = set()
        for _ in range(200):
            seen.add(parse_raw(conn.call("HRANDFIELD", "h"))[1])
        kind, items = parse_raw(conn.call("HRANDFIELD", "h", "-400"))
        assert len({item[1] for item in items}) == 8
        assert len(seen) == 8
    finally:
        conn.close()


# -- scanning -----------------------------------------------------------------------------
def test_hscan_small_hashes_and_errors(differ):
    differ.check(
        "HSCAN missing 0", "HSCAN missing 0 COUNT 0", "HSCAN missing x", "HSET h a 1 b 2 ab 3",
        "HSCAN h 0", "HSCAN h 0 COUNT 1", "HSCAN h 17", "HSCAN h 0 MATCH a*",
        "HSCAN h 0 MATCH a* COUNT 1", "HSCAN h 0 match *b", "HSCAN h 0 MATCH zz",
        "HSCAN h 0 COUNT 0", "HSCAN h 0 COUNT -1", "HSCAN h 0 COUNT x", "HSCAN h 0 MATCH",
        "HSCAN h 0 TYPE string", "HSCAN h 0 FOO bar", "HSCAN h x", "HSCAN h -1",
        "HSCAN h 18446744073709551616", "HSCAN h ' 0'", "HSCAN h", "HSCAN h 0 COUNT 1 COUNT 5",
        "HSCAN h 0 MATCH a* MATCH b")


def _scan_all(conn, key: str, count: int, hook=None):
    """Every field a complete HSCAN returns (with duplicates), and the calls it took."""
    cursor, seen, calls = b"0", [], 0
    while True:
        kind, (cur, items) = parse_raw(conn.call("HSCAN", key, cursor, "COUNT", str(count)))
        calls += 1
        cursor = cur[1]
        flat = [item[1] for item in items[1]]
        seen += flat[::2]
        if hook is not None:
            hook(calls)
        if cursor == b"0":
            return seen, calls


def test_hscan_large_hash_returns_everything(differ):
    """A hash table is scanned in several calls; every field comes back with its value."""
    for server in ("redis", "miniredis"):
        conn = _conn(differ.ports[server])
        try:
            conn.call("DEL", "big")
            conn.call("HSET", "big", *[x for i in range(1000) for x in ("f%d" % i, "v%d" % i)])
            seen, calls = _scan_all(conn, "big", 50)
            assert set(seen) == {b"f%d" % i for i in range(1000)}, server
            assert calls > 5, server
            kind, (cur, items) = parse_raw(conn.call("HSCAN", "big", "0", "COUNT", "5000"))
            assert cur[1] == b"0" and len(items[1]) == 2000, server
            kind, (cur, items) = parse_raw(conn.call("HSCAN", "big", "0", "MATCH", "f99*",
                                                     "COUNT", "5000"))
            assert sorted(item[1] for item in items[1][::2]) == \
                sorted(b"f99" + s for s in [b""] + [b"%d" % i for i in range(10)]), server
        finally:
            conn.close()


def test_hscan_guarantee_under_concurrent_changes(mini):
    """Fields present for the whole scan are returned at least once although other
    fields are added and removed between calls (and the hash is rewritten)."""
    rng = random.Random(7)
    conn = _conn(mini.port)
    other = _conn(mini.port)
    try:
        conn.call("DEL", "h")
        stable = [b"s%d" % i for i in range(600)]
        volatile = [b"v%d" % i for i in range(600)]
        conn.call("HSET", "h", *[x for f in stable + volatile for x in (f, b"x")])

        def churn(calls):
            for _ in range(20):
                field = rng.choice(volatile)
                if rng.random() < 0.5:
                    other.call("HDEL", "h", field)
                else:
                    other.call("HSET", "h", field, "y", b"n%d" % rng.randrange(10 ** 6), "z")
        seen, calls = _scan_all(conn, "h", 25, churn)
        assert set(stable) <= set(seen)
        assert calls > 10
        # A second scan starting while the first would be in progress changes nothing.
        seen, _ = _scan_all(conn, "h", 1000)
        assert set(stable) <= set(seen)
    finally:
        conn.close()
        other.close()


# -- encodings ----------------------------------------------------------------------------
def test_encodings_follow_redis(small_listpack):
    """Conversion to a hash table on long fields or values and on too many fields, by
    every writing command, and never back when fields are removed."""
    small_listpack.check(
        "HSET h a 1 b 2", "OBJECT ENCODING h", "HSET h c 3 d 4", "OBJECT ENCODING h",
        "HSET h e 5", "OBJECT ENCODING h", "HDEL h a b c d", "OBJECT ENCODING h",
        "HGETALL h", "HSET v short 123456789", "OBJECT ENCODING v", "HDEL v short",
        "HSET v k 12345678", "OBJECT ENCODING v", "HSET v k2 1 123456789 2",
        "OBJECT ENCODING v", "HSETNX n 123456789 1", "OBJECT ENCODING n",
        "HSETNX m f 123456789", "OBJECT ENCODING m", "HSET m2 f 1", "HSETNX m2 f 123456789",
        "OBJECT ENCODING m2", "HINCRBY i 123456789 1", "OBJECT ENCODING i",
        "HINCRBYFLOAT j f 0.1", "HINCRBYFLOAT j f 0.2", "OBJECT ENCODING j",
        "HINCRBY k f 100000000", "OBJECT ENCODING k", "HINCRBY k2 f 10000000",
        "OBJECT ENCODING k2", "HSET p a 1 b 2 c 3 d 4", "HINCRBY p e 1", "OBJECT ENCODING p",
        "HSET q a 1 b 2 c 3 d 4 a 5", "OBJECT ENCODING q", "HMSET r a 1 b 2 c 3 d 4 e 5",
        "OBJECT ENCODING r", "HDEL r a b c d", "HSET r a 1", "OBJECT ENCODING r",
        "COPY r r2", "OBJECT ENCODING r2", "COPY q q2", "OBJECT ENCODING q2",
        "HSET x a 1 b 2 c 3 d 4", "CONFIG SET hash-max-listpack-entries 2",
        "OBJECT ENCODING x", "HDEL x a", "OBJECT ENCODING x", "HSET x b 3",
        "OBJECT ENCODING x", "HSET y a 1 b 2 c 3", "CONFIG SET hash-max-listpack-entries 4",
        "CONFIG SET hash-max-listpack-value 0", "HSET z '' ''", "OBJECT ENCODING z",
        "HSET z a ''", "OBJECT ENCODING z")


def test_hash_table_order_is_only_compared_unordered(small_listpack):
    small_listpack.check(
        "HSET h a 1 b 2 c 3 d 4 e 5 f 6", Unordered("HKEYS h"), Unordered("HVALS h"),
        Unordered("HGETALL h"), Unordered("HRANDFIELD h 10"), "HLEN h",
        "HMGET h f a zz", "OBJECT ENCODING h")


# -- keyspace: signals, statistics ---------------------------------------------------------
SIGNAL_CASES = [
    "HSET k a 1", "HSET k a 2", "HSET k z 1", "HMSET k a 1", "HSETNX k a 1", "HSETNX k z 1",
    "HDEL k zz", "HDEL k a", "HDEL k a b", "HINCRBY k a 1", "HINCRBY k a 0",
    "HINCRBY k b 1", "HINCRBYFLOAT k a 1", "HINCRBYFLOAT k b 1", "HGET k a",
    "HGETALL k", "HRANDFIELD k", "HSCAN k 0", "HSET other a 1", "HINCRBY k a x",
    "HINCRBY k b 9223372036854775807",
]


@pytest.mark.parametrize("command", SIGNAL_CASES)
def test_modification_signals_match_watch(mini, real_redis, command):
    """Exactly the commands that change ``k`` invalidate a WATCH on it, as in Redis."""
    setup = ["HSET k a 1 b x"]
    assert mini_signals(mini, setup, command) == \
        redis_signals(real_redis.port, setup, command)


STATS_CASES = [
    "HGET h a", "HGET m a", "HMGET h a b", "HMGET m a", "HEXISTS h a", "HEXISTS m a",
    "HLEN h", "HLEN m", "HSTRLEN h a", "HSTRLEN m a", "HKEYS h", "HKEYS m", "HVALS h",
    "HGETALL h", "HGETALL m", "HRANDFIELD h", "HRANDFIELD m", "HRANDFIELD h 2",
    "HRANDFIELD m 2", "HSCAN h 0", "HSCAN m 0", "HSET h a 1", "HSET m a 1", "HSETNX h a 1",
    "HSETNX m a 1", "HDEL h a", "HDEL m a", "HINCRBY h n 1", "HINCRBY m n 1",
    "HINCRBYFLOAT h n 1", "HINCRBYFLOAT m n 1", "HMSET h a 2",
]


def test_keyspace_hits_and_misses(differ):
    """Read commands count a hit or a miss; writes count neither, as in Redis."""
    assert_same_hits_and_misses(differ, ['HSET h a 1 n 5'], STATS_CASES)


def test_plain_dicts_stored_by_other_code_are_adopted(mini):
    """A loader may store a plain dict: hash commands work on it, and its encoding is
    judged from its contents (as Redis does when it loads a hash)."""
    db = mini.state.dbs[9]
    conn = _conn(mini.port)
    try:
        conn.call("FLUSHDB")
        mini.call(db.set, b"small", {b"a": b"1"})
        mini.call(db.set, b"long", {b"a": b"x" * 100})
        assert conn.call("HSET", "small", "b", "2") == b":1\r\n"
        assert conn.call("HGETALL", "small") == \
            b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
        assert conn.call("OBJECT", "ENCODING", "small") == b"$8\r\nlistpack\r\n"
        assert conn.call("HDEL", "long", "a") == b":1\r\n"
        assert conn.call("EXISTS", "long") == b":0\r\n"
        mini.call(db.set, b"long", {b"a": b"x" * 100, b"b": b"1"})
        assert conn.call("HDEL", "long", "a") == b":1\r\n"
        assert conn.call("OBJECT", "ENCODING", "long") == b"$9\r\nhashtable\r\n"
    finally:
        conn.close()
