"""Set commands: differential tests of replies and errors, RESP2 and RESP3.

Every sequence goes to a real redis-server and to miniredis (see tests/harness.py) and
the raw replies must be byte-identical. Sets of integers are intsets in Redis, listed
in ascending order, so those replies are compared exactly; ``Unordered`` is used where
a set is a hash table. Random commands are checked for shape, size, distinctness and
membership.
"""
from __future__ import annotations

import random

import pytest

from miniredis.commands import load_all, lookup
from tests.harness import (SameType, Unordered, assert_same_hits_and_misses, command_metadata,
                           configured, mini_signals, parse_raw, redis_signals)
from tests.test_hashes import _conn

load_all()

ALL_SET_COMMANDS = (
    "sadd srem scard sismember smismember smembers spop srandmember smove sinter sunion "
    "sdiff sinterstore sunionstore sdiffstore sintercard sscan").split()


@pytest.fixture
def small_intset(differ):
    """set-max-intset-entries 4 on both servers, restored afterwards."""
    with configured(differ, ['set-max-intset-entries', '4'], ['set-max-intset-entries', '512']):
        yield differ


# -- metadata -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_SET_COMMANDS)
def test_command_metadata_matches_redis(differ, name):
    """Arity, flags, key positions, summary, since and group as Redis 7.0 has them."""
    assert command_metadata(differ.ports["miniredis"], name) == \
        command_metadata(differ.ports["redis"], name)


def test_every_command_is_registered():
    for name in ALL_SET_COMMANDS:
        cmd = lookup(name.encode())
        assert cmd is not None and cmd.group == "set", name


def test_sintercard_keys_are_found(differ):
    differ.check("COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1", "COMMAND GETKEYS SINTERCARD 1 a")


# -- membership ---------------------------------------------------------------------------
def test_sadd_srem_and_membership(differ):
    differ.check(
        "SADD s 3 1 2", "SADD s 2 4 4", "SCARD s", "SMEMBERS s", "SISMEMBER s 1",
        "SISMEMBER s 9", "SISMEMBER missing 1", "SMISMEMBER s 1 9 2", "SMISMEMBER missing a b",
        "SCARD missing", "SMEMBERS missing", "SREM s 1 9", "SREM s 9", "SREM missing 1",
        "SMEMBERS s", "SADD s", "SREM s", "SISMEMBER s", "SMISMEMBER s", "SCARD", "SMEMBERS",
        "SADD s -5 10 0 -0 007", Unordered("SMEMBERS s"), "SREM s -0 007", Unordered("SMEMBERS s"),
        "SREM s 2 3 4 -5 10 0 99", "EXISTS s", "TYPE s", "SMEMBERS s", "SADD s ''",
        "SISMEMBER s ''", "SADD t a", "EXPIRE t 100", "SADD t b", "TTL t", "SREM t a b",
        "EXISTS t", "SADD u 1", "SREM u 1 1", "EXISTS u")


def test_intset_order(differ):
    """Intsets list their members in ascending numeric order everywhere."""
    differ.check(
        "SADD s 10 -3 7 1000000 -9223372036854775808 9223372036854775807 0 2",
        "SMEMBERS s", "SSCAN s 0", "SSCAN s 0 COUNT 1", "SSCAN s 99", "SINTER s",
        "SUNION s", "SDIFF s", "SRANDMEMBER s 8", "SRANDMEMBER s 100", "SADD t 7 -3 5",
        "SINTER s t", "SINTER t s", "SUNION s t", "SDIFF s t", "SDIFF t s",
        "SSCAN s 0 MATCH 1*", "SSCAN s 0 MATCH -*", "SPOP s 100", "EXISTS s",
        # Equal sizes: Redis's stable sort walks the first; an intset first is sorted.
        "SADD b 3 2 1 x", "SREM b x", "SADD a 3 1 2", "SINTER a b", Unordered("SINTER b a"),
        "SINTERSTORE d b a", "OBJECT ENCODING d", "SMEMBERS d")


def test_wrongtype(differ):
    differ.check(
        "SET str x", "SADD str a", "SREM str a", "SCARD str", "SISMEMBER str a",
        "SMISMEMBER str a", "SMEMBERS str", "SPOP str", "SPOP str 2", "SPOP str 0",
        "SRANDMEMBER str", "SRANDMEMBER str 2", "SRANDMEMBER str 0", "SINTER str",
        "SINTER missing str", "SINTER str missing", "SUNION missing str", "SDIFF missing str",
        "SDIFF s str", "SINTERSTORE d missing str", "SUNIONSTORE d str",
        "SDIFFSTORE d missing str", "EXISTS d", "SINTERCARD 1 str", "SINTERCARD 2 missing str",
        "SSCAN str 0", "SSCAN str 0 COUNT 0", "SSCAN str x", "SADD s 1", "SMOVE s str 1",
        "SMOVE str s 1", "SMOVE missing str 1", "SMOVE s str 9", "SMEMBERS s",
        "RPUSH l a", "SADD l a", "SMEMBERS l", "HSET h a 1", "SCARD h", "SADD s2 x",
        "GET s2", "LPUSH s2 x", "HSET s2 a b", "TYPE s2", "SPOP str x", "SRANDMEMBER str x",
        "SINTERSTORE str s", "TYPE str", "SMEMBERS str")


# -- random members -----------------------------------------------------------------------
def test_spop_srandmember_deterministic_cases_and_errors(differ):
    differ.check(
        "SPOP missing", "SPOP missing 2", "SPOP missing 0", "SRANDMEMBER missing",
        "SRANDMEMBER missing 2", "SRANDMEMBER missing -2", "SRANDMEMBER missing 0",
        "SADD s 5", "SRANDMEMBER s", "SRANDMEMBER s 1", "SRANDMEMBER s -3", "SPOP s 0",
        "SRANDMEMBER s 0", "SPOP s", "EXISTS s", "SADD s 1 2 3", "SRANDMEMBER s 3",
        "SRANDMEMBER s 100", "SPOP s -1", "SPOP s x", "SPOP s 1.5", "SPOP s 1 2",
        "SPOP missing -1", "SPOP missing x", "SPOP s 9223372036854775808",
        "SRANDMEMBER s 1 2", "SRANDMEMBER s x 2", "SRANDMEMBER s x", "SRANDMEMBER s 1.5",
        "SRANDMEMBER s -9223372036854775808", "SRANDMEMBER s 9223372036854775807",
        "SRANDMEMBER s 9223372036854775808", "SPOP s 3", "EXISTS s", "SADD s 1 2",
        "SPOP s 100", "EXISTS s", "SADD s a", "SPOP s 1", "SADD s a 1", "EXPIRE s 100",
        SameType("SPOP s"), "TTL s", SameType("SPOP s"), "EXISTS s")


def _random_replies(port: int, protocol: int, members):
    conn = _conn(port, protocol)
    try:
        conn.call("DEL", "s")
        conn.call("SADD", "s", *members)
        replies = {"single": parse_raw(conn.call("SRANDMEMBER", "s"))}
        size = len(members)
        for count in (1, 2, size - 1, -1, -7, -3 * size):
            replies[count] = parse_raw(conn.call("SRANDMEMBER", "s", str(count)))
        popped = []
        for count in (1, 3, size // 2):
            popped.append(parse_raw(conn.call("SPOP", "s", str(count))))
        popped.append(parse_raw(conn.call("SPOP", "s")))
        replies["popped"] = popped
        replies["left"] = parse_raw(conn.call("SMEMBERS", "s"))
        replies["encoding"] = conn.call("OBJECT", "ENCODING", "s")
        return replies
    finally:
        conn.close()


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("members", [[str(i) for i in range(12)],
                                     ["m%d" % i for i in range(40)],
                                     [str(i) for i in range(30)] + ["x"]],
                         ids=["intset", "hashtable", "mixed"])
def test_random_member_shapes(differ, protocol, members):
    """Sizes, distinctness (positive counts), membership; SPOP removes exactly what it
    returns; reply types are Redis's (SPOP with a count answers a RESP3 set,
    SRANDMEMBER with a count an array)."""
    known = {m.encode() for m in members}
    results = {}
    for server in ("redis", "miniredis"):
        replies = _random_replies(differ.ports[server], protocol, members)
        assert replies["single"][0] == b"$" and replies["single"][1] in known
        for count in (1, 2, len(members) - 1, -1, -7, -3 * len(members)):
            kind, items = replies[count]
            assert kind == b"*" and len(items) == abs(count), (server, count)
            names = [item[1] for item in items]
            assert set(names) <= known
            if count > 0:
                assert len(set(names)) == count
        popped = []
        for (kind, items), count in zip(replies["popped"][:3], (1, 3, len(members) // 2)):
            assert kind == (b"~" if protocol == 3 else b"*") and len(items) == count
            popped += [item[1] for item in items]
        kind, single = replies["popped"][3]
        assert kind == b"$"
        popped.append(single)
        left = {item[1] for item in replies["left"][1]}
        assert len(set(popped)) == len(popped) and set(popped) <= known, server
        assert left == known - set(popped), server
        results[server] = (len(left), replies["encoding"])
    assert results["miniredis"] == results["redis"]


def test_random_members_are_spread(mini):
    conn = _conn(mini.port)
    try:
        conn.call("DEL", "s")
        conn.call("SADD", "s", *["m%d" % i for i in range(8)])
        seen = {parse_raw(conn.call("SRANDMEMBER", "s"))[1] for _ in range(200)}
        assert len(seen) == 8
        popped = set()
        for _ in range(4):
            conn.call("DEL", "t")
            conn.call("SADD", "t", *["m%d" % i for i in range(8)])
            popped.add(parse_raw(conn.call("SPOP", "t"))[1])
        kind, items = parse_raw(conn.call("SRANDMEMBER", "s", "-400"))
        assert len({item[1] for item in items}) == 8
    finally:
        conn.close()


def test_random_draws_see_added_members_and_drain_exactly(mini):
    """Members added after a random draw can be drawn; SPOP one at a time (members
    added meanwhile) returns every member exactly once, then the key is gone."""
    conn = _conn(mini.port)
    try:
        conn.call("DEL", "s")
        conn.call("SADD", "s", "a")
        conn.call("SRANDMEMBER", "s")
        conn.call("SADD", "s", "b")
        assert {parse_raw(conn.call("SRANDMEMBER", "s"))[1] for _ in range(100)} == \
            {b"a", b"b"}
        conn.call("DEL", "s")
        conn.call("SADD", "s", *["m%d" % i for i in range(300)])
        popped = [parse_raw(conn.call("SPOP", "s"))[1] for _ in range(200)]
        conn.call("SADD", "s", *["n%d" % i for i in range(50)])
        while True:
            kind, member = parse_raw(conn.call("SPOP", "s"))
            if member is None:
                break
            popped.append(member)
        assert sorted(popped) == sorted([b"m%d" % i for i in range(300)]
                                        + [b"n%d" % i for i in range(50)])
        assert conn.call("EXISTS", "s") == b":0\r\n"
    finally:
        conn.close()


def test_spop_rebuild_makes_an_intset_again(differ):
    """When SPOP with a count leaves few members, Redis rebuilds the set from them, so a
    hash table of integers becomes an intset; otherwise the encoding stays."""
    differ.check(
        "SADD s 1 2 3 4 5 6 7 8 9 10 x", "SREM s x", "OBJECT ENCODING s", SameType("SPOP s 9"),
        "OBJECT ENCODING s", "SCARD s", "SADD t 1 2 3 4 5 6 7 8 9 10 x", "SREM t x",
        SameType("SPOP t 1"), "OBJECT ENCODING t", "SCARD t", "SADD u 1 2 3 x", "SREM u x",
        "SPOP u 100", "SADD v 1 2 3 x", "SREM v x", Unordered("SRANDMEMBER v 100"),
        "SUNION v", "SDIFF v", Unordered("SINTER v"))


# -- moving ---------------------------------------------------------------------------------
def test_smove(differ):
    differ.check(
        "SADD s 1 2 a", "SMOVE s d 1", "SMOVE s d 1", "SMOVE s d zz", "SMOVE missing d 1",
        "SMEMBERS d", "OBJECT ENCODING d", "SMOVE s d a", "OBJECT ENCODING d", "SMOVE s s 2",
        "SMOVE s s 9", "SMOVE s e 2", "EXISTS s", "SMEMBERS e", "OBJECT ENCODING e",
        "SADD x b", "SMOVE x y b", "OBJECT ENCODING y", "SADD p 1", "SADD q 1",
        "SMOVE p q 1", "EXISTS p", "SMEMBERS q", "SMOVE", "SMOVE s d", "SMOVE s d 1 2",
        "SADD k 1", "EXPIRE k 100", "SADD k 2", "SMOVE k z 1", "TTL k")


# -- algebra ------------------------------------------------------------------------------
def test_algebra(differ):
    differ.check(
        "SADD a 1 2 3 4", "SADD b 3 4 5", "SADD c x 3 y", "SINTER a b", "SINTER a b c",
        "SINTER a missing", "SINTER missing a", "SUNION a b", Unordered("SUNION a b c"),
        "SUNION missing", "SDIFF a b", "SDIFF b a", "SDIFF a b c", Unordered("SDIFF c a"),
        "SDIFF missing a", "SDIFF a missing", "SINTER", "SUNION", "SDIFF",
        "SINTERSTORE d a b", "SMEMBERS d", "OBJECT ENCODING d", "SUNIONSTORE d a c",
        Unordered("SMEMBERS d"), "OBJECT ENCODING d", "SDIFFSTORE d a b", "SMEMBERS d",
        "SDIFFSTORE d a a", "EXISTS d", "SUNIONSTORE d a", "SINTERSTORE d a missing",
        "EXISTS d", "SUNIONSTORE d missing", "EXISTS d", "SINTERSTORE d", "SUNIONSTORE d",
        "SET d x", "EXPIRE d 100", "SUNIONSTORE d a", "TTL d", "TYPE d",
        "SINTERSTORE a a b", "SMEMBERS a", "SDIFFSTORE b b b", "EXISTS b",
        "SUNIONSTORE c c missing", Unordered("SMEMBERS c"), Unordered("SINTER c c"),
        "SADD e 1", "SINTER a e c", "SINTER c e a")


def test_sintercard(differ):
    differ.check(
        "SADD a 1 2 3 4", "SADD b 2 3 4 5", "SADD c 3 4 x", "SINTERCARD 1 a",
        "SINTERCARD 2 a b", "SINTERCARD 3 a b c", "SINTERCARD 2 a missing",
        "SINTERCARD 3 a b c LIMIT 1", "SINTERCARD 2 a b LIMIT 0", "SINTERCARD 2 a b limit 2",
        "SINTERCARD 2 a b LIMIT 100", "SINTERCARD 0 a", "SINTERCARD -1 a", "SINTERCARD x a",
        "SINTERCARD 3 a", "SINTERCARD 2 a", "SINTERCARD 1 a LIMIT -1", "SINTERCARD 1 a LIMIT x",
        "SINTERCARD 1 a LIMIT", "SINTERCARD 1 a FOO 1", "SINTERCARD 1 a LIMIT 1 LIMIT 2",
        "SINTERCARD 9223372036854775807 a", "SINTERCARD 9223372036854775808 a",
        "SINTERCARD 2147483648 a", "SINTERCARD 1 a LIMIT 9223372036854775808",
        "SINTERCARD 1", "SINTERCARD", "SINTERCARD 2 a b LIMIT 1 FOO",
        "SINTERCARD 1 missing LIMIT -1", "SINTERCARD 1 a b")


def test_algebra_random(differ):
    """Random sets of small integers and words, every operation, stored and replied."""
    rng = random.Random(11)
    commands = []
    universe = [str(i) for i in range(12)] + ["w%d" % i for i in range(6)]
    for _ in range(12):
        commands.append("FLUSHDB")
        for key in "abc":
            members = rng.sample(universe, rng.randint(0, 8))
            if members:
                commands.append(["SADD", key] + members)
        keys = rng.sample("abcm", rng.randint(1, 4))
        for name in ("SINTER", "SUNION", "SDIFF"):
            commands.append(Unordered([name] + keys))
            commands.append([name + "STORE", "d"] + keys)
            commands.append(Unordered("SMEMBERS d"))
            commands.append("OBJECT ENCODING d")
        commands.append(["SINTERCARD", str(len(keys))] + keys)
        commands.append(["SINTERCARD", str(len(keys))] + keys + ["LIMIT", "2"])
    differ.check(*commands)


# -- scanning -----------------------------------------------------------------------------
def test_sscan_small_sets_and_errors(differ):
    differ.check(
        "SSCAN missing 0", "SSCAN missing 0 COUNT 0", "SSCAN missing x", "SADD s a b ab",
        "SADD i 3 1 2", "SSCAN i 0", "SSCAN i 0 COUNT 1", "SSCAN i 5", "SSCAN i 0 MATCH 1",
        Unordered("SSCAN s 0 MATCH zz"), "SSCAN s 0 COUNT 0", "SSCAN s 0 COUNT -1",
        "SSCAN s 0 COUNT x", "SSCAN s 0 MATCH", "SSCAN s 0 TYPE string", "SSCAN s 0 FOO bar",
        "SSCAN s x", "SSCAN s ' 0'", "SSCAN s", "SSCAN i 18446744073709551616",
        "SSCAN i -1")


def _sscan_all(conn, key: str, count: int, hook=None):
    cursor, seen, calls = b"0", [], 0
    while True:
        kind, (cur, items) = parse_raw(conn.call("SSCAN", key, cursor, "COUNT", str(count)))
        calls += 1
        cursor = cur[1]
        seen += [item[1] for item in items[1]]
        if hook is not None:
            hook(calls)
        if cursor == b"0":
            return seen, calls


def test_sscan_large_set(differ):
    for server in ("redis", "miniredis"):
        conn = _conn(differ.ports[server])
        try:
            conn.call("DEL", "big")
            conn.call("SADD", "big", *["m%d" % i for i in range(1000)])
            seen, calls = _sscan_all(conn, "big", 40)
            assert set(seen) == {b"m%d" % i for i in range(1000)}, server
            assert calls > 5, server
            kind, (cur, items) = parse_raw(conn.call("SSCAN", "big", "0", "COUNT", "5000"))
            assert cur[1] == b"0" and len(items[1]) == 1000, server
            kind, (cur, items) = parse_raw(conn.call("SSCAN", "big", "0", "MATCH", "m99?",
                                                     "COUNT", "5000"))
            assert sorted(item[1] for item in items[1]) == [b"m99%d" % i for i in range(10)]
        finally:
            conn.close()


def test_sscan_guarantee_under_concurrent_changes(mini):
    rng = random.Random(3)
    conn = _conn(mini.port)
    other = _conn(mini.port)
    try:
        conn.call("DEL", "s")
        stable = [b"s%d" % i for i in range(500)]
        volatile = [b"v%d" % i for i in range(500)]
        conn.call("SADD", "s", *(stable + volatile))

        def churn(calls):
            for _ in range(20):
                if rng.random() < 0.5:
                    other.call("SREM", "s", rng.choice(volatile))
                else:
                    other.call("SADD", "s", b"n%d" % rng.randrange(10 ** 6))
            if calls == 5:
                other.call("SSCAN", "s", "0")   # another scan starts meanwhile
        seen, calls = _sscan_all(conn, "s", 20, churn)
        assert set(stable) <= set(seen) and calls > 10
    finally:
        conn.close()
        other.close()


# -- encodings ------------------------------------------------------------------------------
def test_encodings_follow_redis(small_intset):
    small_intset.check(
        "SADD s 1 2 3", "OBJECT ENCODING s", "SADD s 4", "OBJECT ENCODING s", "SADD s 5",
        "OBJECT ENCODING s", "SREM s 1 2 3 4", "OBJECT ENCODING s", "SMEMBERS s",
        "SADD t a", "OBJECT ENCODING t", "SREM t a", "SADD t 1", "OBJECT ENCODING t",
        "SADD u 1 a", "SREM u a", "OBJECT ENCODING u", "SMEMBERS u", "SADD v 1 2 3 4 4",
        "OBJECT ENCODING v", "SADD w 1 2 3 4 5 x", "SREM w x", "SINTERSTORE d w",
        "OBJECT ENCODING d", "SUNIONSTORE d w", "OBJECT ENCODING d", "SREM w 5",
        "SDIFFSTORE d w", "OBJECT ENCODING d", "SUNIONSTORE d w w", "OBJECT ENCODING d",
        "COPY w w2", "OBJECT ENCODING w2", "COPY v v2", "OBJECT ENCODING v2",
        "SADD x 1 2 3", "CONFIG SET set-max-intset-entries 2", "SADD x 3",
        "OBJECT ENCODING x", "SADD x 4", "OBJECT ENCODING x", "SADD y 1 2 3",
        "SMOVE y z 1", "OBJECT ENCODING y", "OBJECT ENCODING z", "SADD z 2 3",
        "OBJECT ENCODING z", "CONFIG SET set-max-intset-entries 0", "SADD n 1",
        "OBJECT ENCODING n", "SUNIONSTORE m n", "OBJECT ENCODING m",
        "CONFIG SET set-max-intset-entries 4", "SADD k 9223372036854775808",
        "OBJECT ENCODING k", "SADD k2 -9223372036854775808", "OBJECT ENCODING k2",
        "SADD k3 ' 1'", "OBJECT ENCODING k3", "SADD k4 +1", "OBJECT ENCODING k4")


# -- keyspace: signals, statistics ---------------------------------------------------------
SIGNAL_CASES = [
    "SADD k a", "SADD k z", "SREM k zz", "SREM k a", "SREM k a b", "SPOP k", "SPOP k 0",
    "SPOP k 1", "SPOP k 5", "SRANDMEMBER k", "SMEMBERS k", "SMOVE k other a",
    "SMOVE other k a", "SMOVE k k a", "SMOVE k other zz", "SADD other a", "SINTERSTORE k k",
    "SINTERSTORE k missing", "SUNIONSTORE k k", "SDIFFSTORE k k k", "SDIFFSTORE other k",
    "SINTERCARD 1 k", "SSCAN k 0", "SINTER k",
]


@pytest.mark.parametrize("command", SIGNAL_CASES)
def test_modification_signals_match_watch(mini, real_redis, command):
    """Exactly the commands that change ``k`` invalidate a WATCH on it, as in Redis."""
    setup = ["SADD k a b", "SADD other a c"]
    assert mini_signals(mini, setup, command) == \
        redis_signals(real_redis.port, setup, command)


def test_store_of_empty_result_on_missing_destination_signals_nothing(mini, real_redis):
    for command in ["SINTERSTORE k missing", "SDIFFSTORE k missing", "SUNIONSTORE k missing"]:
        assert mini_signals(mini, [], command) == \
        redis_signals(real_redis.port, [], command)


STATS_CASES = [
    "SCARD s", "SCARD m", "SISMEMBER s a", "SISMEMBER m a", "SMISMEMBER s a b",
    "SMISMEMBER m a", "SMEMBERS s", "SMEMBERS m", "SRANDMEMBER s", "SRANDMEMBER m",
    "SRANDMEMBER s 2", "SRANDMEMBER m 2", "SSCAN s 0", "SSCAN m 0", "SADD s z", "SADD m z",
    "SREM s a", "SREM m a", "SPOP s", "SPOP m", "SPOP s 2", "SPOP m 2", "SMOVE s m a",
    "SMOVE m s a", "SINTER s t", "SINTER s m", "SUNION s t m", "SDIFF s t m",
    "SINTERSTORE d s t", "SUNIONSTORE d s m", "SDIFFSTORE d s t m", "SINTERCARD 2 s t",
    "SINTERCARD 2 s m",
]


def test_keyspace_hits_and_misses(differ):
    assert_same_hits_and_misses(differ, ['SADD s a b', 'SADD t b c'], STATS_CASES)


def test_reply_types(differ):
    """RESP3 types: sets for SMEMBERS/SINTER/SUNION/SDIFF/SPOP count, arrays elsewhere."""
    differ.check(
        "SADD s x", SameType("SMEMBERS s"), SameType("SPOP s 1"), "SADD s x y",
        SameType("SRANDMEMBER s 1"), SameType("SRANDMEMBER s -1"), "SMISMEMBER s x",
        Unordered("SINTER s"), "SUNION missing", "SDIFF missing s", "SINTER missing s")


def test_plain_sets_stored_by_other_code_are_adopted(mini):
    """A loader may store a plain set: set commands work on it, and its encoding is
    judged from its contents (as Redis does when it loads a set)."""
    db = mini.state.dbs[9]
    conn = _conn(mini.port)
    try:
        conn.call("FLUSHDB")
        mini.call(db.set, b"ints", {b"2", b"1"})
        mini.call(db.set, b"words", {b"1", b"x"})
        assert conn.call("SMEMBERS", "ints") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
        assert conn.call("OBJECT", "ENCODING", "ints") == b"$6\r\nintset\r\n"
        assert conn.call("SREM", "words", "x") == b":1\r\n"
        assert conn.call("OBJECT", "ENCODING", "words") == b"$9\r\nhashtable\r\n"
        mini.call(db.set, b"src", {b"7"})
        assert conn.call("SMOVE", "src", "words", "7") == b":1\r\n"
        assert conn.call("SCARD", "words") == b":2\r\n"
    finally:
        conn.close()
