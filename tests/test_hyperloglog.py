"""HyperLogLog: differential tests against redis-server (RESP2 and RESP3).

The value is Redis's own string format, so besides replies the tests compare the raw
bytes (GET) after the same PFADDs, carry values from one server to the other (GET
there, SET here, PFCOUNT) and corrupt values with SETRANGE/APPEND.
"""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

from miniredis.commands import load_all, lookup
from miniredis.datatypes import hll, hll_bulk
from tests.harness import RawConnection, command_metadata, configured, parse_raw

load_all()

HLL_COMMANDS = ["pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"]


@pytest.mark.parametrize("name", HLL_COMMANDS)
def test_command_metadata_matches_redis(differ, name):
    assert command_metadata(differ.ports["miniredis"], name) == \
        command_metadata(differ.ports["redis"], name)


def test_every_command_is_registered():
    for name in HLL_COMMANDS:
        cmd = lookup(name.encode())
        assert cmd is not None and cmd.group == "hyperloglog", name


def test_getkeys(differ):
    differ.check("COMMAND GETKEYS PFADD h a b", "COMMAND GETKEYS PFCOUNT a b c",
                 "COMMAND GETKEYS PFMERGE d a b", "COMMAND GETKEYS PFDEBUG GETREG h")


# -- PFADD / PFCOUNT -------------------------------------------------------------------
def test_pfadd_pfcount_basics(differ):
    differ.check(
        "PFADD h", "EXISTS h", "GET h", "PFCOUNT h", "PFADD h", "PFADD h a b c",
        "PFADD h a", "PFADD h a d", "GET h", "PFCOUNT h", "GET h", "PFCOUNT h",
        "PFCOUNT nosuch", "PFADD h2 x y z a", "PFCOUNT h h2", "PFCOUNT h h2 nosuch",
        "PFCOUNT nosuch nosuch2", "TYPE h", "OBJECT ENCODING h", "STRLEN h",
        "PFADD e ''", "PFCOUNT e", "GET e")


def test_pfadd_many_sparse_then_dense(differ):
    elements = ["e%d" % i for i in range(3000)]
    commands = []
    for i in range(0, len(elements), 250):
        commands += [["PFADD", "h", *elements[i:i + 250]], "PFCOUNT h",
                     "PFDEBUG ENCODING h", "STRLEN h"]
    commands += ["GET h", "PFADD h e1 e2 new1 new2", "GET h", "PFCOUNT h"]
    differ.check(*commands, protocols=(2,))


def test_small_sparse_limit_promotes(differ):
    with configured(differ, ["hll-sparse-max-bytes", "40"], ["hll-sparse-max-bytes", "3000"]):
        differ.check("PFADD h a b c d e f g", "PFDEBUG ENCODING h", "STRLEN h",
                     "PFADD h2 a", "PFDEBUG ENCODING h2", "PFDEBUG DECODE h2", "GET h",
                     "PFCOUNT h", "GET h2")


def test_wrong_types_and_invalid_values(differ):
    differ.check(
        "LPUSH l a", "PFADD l a", "PFCOUNT l", "PFCOUNT l l", "PFMERGE l",
        "PFMERGE d l", "PFDEBUG GETREG l",
        "SET s hello", "PFADD s a", "PFCOUNT s", "PFCOUNT s x", "PFMERGE d s",
        "PFDEBUG ENCODING s", "SET n 12345", "PFADD n a",
        "SET fake HYLL", "PFADD fake a", "SET fake2 HYLLxxxxxxxxxxxxxxxxxx",
        "PFADD fake2 a", "EXISTS d")


def test_corruption_through_string_commands(differ):
    differ.check(
        "PFADD h a b c", "SETRANGE h 4 \x02", "PFADD h z", "PFCOUNT h",
        "PFADD h2 a b c", "APPEND h2 xyz", "PFCOUNT h2", "PFADD h2 q", "GET h2",
        "PFADD h3 a b c", "SETRANGE h3 4 \x00", "PFCOUNT h3", "PFADD h3 x",
        "PFADD h4 a", "SETRANGE h4 16 \x7f", "PFCOUNT h4", "PFADD h4 k l m",
        "PFDEBUG TODENSE h4", "PFDEBUG GETREG h4", "PFDEBUG DECODE h4", "PFMERGE d h4",
        "PFCOUNT h4 h", "GET h4",
        "PFADD h5 a b", "APPEND h5 \x80\x80", "PFCOUNT h5", "PFADD h5 c d e f",
        "GET h5", "PFMERGE d5 h5", "PFCOUNT h5 d5")


def test_cached_cardinality(differ):
    # A forged cache (top bit clear) is trusted; SETRANGE of the top bit forces a
    # recount, which rewrites the cache.
    differ.check(
        "PFADD h a b c", "PFCOUNT h", "SETRANGE h 8 \x39\x05", "PFCOUNT h", "GET h",
        "SETRANGE h 15 \x80", "PFCOUNT h", "GET h",
        "SETRANGE h 8 \xff\xff\xff\xff\xff\xff\xff\x7f", "PFCOUNT h")


def test_pfmerge(differ):
    differ.check(
        "PFADD a 1 2 3 4 5", "PFADD b 4 5 6 7", "PFMERGE d a b", "GET d", "PFCOUNT d",
        "PFMERGE d", "PFMERGE a a", "GET a", "PFMERGE new", "GET new",
        "PFMERGE d2 nosuch a", "GET d2", "PFDEBUG ENCODING d2",
        ["PFADD", "big", *("x%d" % i for i in range(2000))], "PFDEBUG ENCODING big",
        "PFMERGE m a big", "PFDEBUG ENCODING m", "GET m", "PFCOUNT m",
        "PFMERGE a big", "GET a", "PFCOUNT a b big", "PFDEBUG TODENSE b",
        "PFMERGE b2 b", "GET b2", "PFMERGE s1 b a", "GET s1")


def test_pfmerge_sparse_exact_bytes(differ):
    rng = random.Random(7)
    commands = []
    for i in range(6):
        elements = ["%d-%d" % (i, rng.randrange(10 ** 6))
                    for _ in range(rng.choice([3, 40, 200, 500]))]
        commands.append(["PFADD", "k%d" % i, *elements])
    commands += ["PFMERGE d k0 k1 k2", "GET d", "PFMERGE d k3", "GET d",
                 "PFMERGE e k4 k5 k0", "GET e", "PFDEBUG DECODE e", "PFCOUNT d e k3",
                 "PFMERGE k1 k0", "GET k1"]
    differ.check(*commands, protocols=(2,))


def test_pfdebug(differ):
    differ.check(
        "PFDEBUG GETREG nosuch", "PFADD h a b c", "PFDEBUG ENCODING h",
        "PFDEBUG DECODE h", "PFDEBUG encoding h", "PFDEBUG foo h", "PFDEBUG foo nosuch",
        "PFDEBUG GETREG h", "PFDEBUG ENCODING h", "PFDEBUG DECODE h",
        "PFDEBUG TODENSE h", "PFADD h2 x", "PFDEBUG TODENSE h2", "PFDEBUG TODENSE h2",
        "GET h2", "PFDEBUG getreg", "PFDEBUG getreg h extra", ["PFDEBUG", "todense\x00x", "h"],
        ["PFDEBUG", "nope\x00x", "h"])


def test_pfselftest(differ):
    differ.check("PFSELFTEST", "PFSELFTEST x")


def test_all_registers_full_estimate(differ):
    """Registers at 51 (hllTau's edge: the estimate divides by zero) and above 51
    (ignored by the estimator) are counted as Redis counts them."""
    for register in (51, 50, 63, 1, 32):
        dense = b"HYLL\x00\x00\x00\x00" + b"\x00" * 7 + b"\x80" + \
            hll.pack_dense(bytes([register]) * hll.REGISTERS)
        differ.check(["SET", "h", dense], "PFCOUNT h", "PFCOUNT h h2", "PFMERGE d h",
                     "PFCOUNT d", "PFDEBUG GETREG d")


# -- the value itself -------------------------------------------------------------------
def _call(port: int, *args):
    conn = RawConnection(port)
    try:
        conn.call("SELECT", "9")
        return parse_raw(conn.call(*args))
    finally:
        conn.close()


def test_values_move_between_servers(differ):
    """A HLL made by one server is counted and extended identically by the other."""
    mini, real = differ.ports["miniredis"], differ.ports["redis"]
    rng = random.Random(11)
    for size in (1, 10, 300, 3000):
        elements = ["t%d" % rng.randrange(10 ** 9) for _ in range(size)]
        for source, target in ((real, mini), (mini, real)):
            _call(source, "DEL", "x")
            _call(source, "PFADD", "x", *elements)
            value = _call(source, "GET", "x")[1]
            _call(target, "SET", "x", value)
            assert _call(target, "PFCOUNT", "x") == _call(source, "PFCOUNT", "x")
            _call(target, "PFADD", "x", "more", "and", "more2")
            _call(source, "PFADD", "x", "more", "and", "more2")
            assert _call(target, "GET", "x") == _call(source, "GET", "x")
            if lookup(b"dump") is not None:    # DUMP/RESTORE come with another issue
                dump_here = _call(target, "DUMP", "x")
                assert dump_here == _call(source, "DUMP", "x")
                _call(source, "DEL", "y")
                assert _call(source, "RESTORE", "y", "0", dump_here[1])[1] == b"OK"
                assert _call(source, "GET", "y") == _call(target, "GET", "x")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=30),
                        min_size=1, max_size=12),
       limit=st.sampled_from([3000, 120, 600]))
def test_random_adds_give_identical_bytes(differ, batches, limit):
    with configured(differ, ["hll-sparse-max-bytes", str(limit)],
                    ["hll-sparse-max-bytes", "3000"]):
        commands = []
        for batch in batches:
            commands += [["PFADD", "h", *batch], "PFCOUNT h"]
        commands += ["GET h", "PFMERGE m h h0", "GET m", "PFDEBUG ENCODING h"]
        differ.check(*commands, protocols=(2,))


def test_notifications(differ):
    from tests.harness import compare_scenario, connect

    def scenario(port, protocol, admin):
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        listener = connect(port, protocol)
        try:
            listener.call("PSUBSCRIBE", "__key*@9__:*")
            admin.call("PFADD", "h", "a")
            admin.call("PFADD", "h", "a")
            admin.call("PFCOUNT", "h")
            admin.call("PFMERGE", "d", "h")
            admin.call("PFDEBUG", "TODENSE", "d")
            admin.call("SET", "done", "1")
            seen = []
            while True:
                message = parse_raw(listener.read_raw())
                seen.append(message)
                if b"done" in repr(message).encode():
                    break
            return seen[:-1]
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            listener.close()
    compare_scenario(differ, scenario)


def test_watch_signals(differ, mini):
    from tests.harness import mini_signals, redis_signals
    real = differ.ports["redis"]
    cases = [
        ([], "PFADD k a"), (["PFADD k a"], "PFADD k a"), (["PFADD k a"], "PFADD k b"),
        (["PFADD k a"], "PFCOUNT k"), (["PFADD k a", "PFCOUNT k"], "PFCOUNT k"),
        (["PFADD k a"], "PFMERGE k"), (["PFADD k a"], "PFDEBUG TODENSE k"),
        (["PFADD x a"], "PFMERGE k x"),
    ]
    for setup, cmd in cases:
        assert mini_signals(mini, setup, cmd) == redis_signals(real, setup, cmd), cmd



# -- AOF ------------------------------------------------------------------------------------
AOF_COMMANDS = [
    ["PFADD", "h", "a", "b"], ["PFADD", "h", "a"], ["PFCOUNT", "h"], ["PFCOUNT", "h"],
    ["PFCOUNT", "h", "h"], ["PFMERGE", "d", "h"], ["PFDEBUG", "ENCODING", "h"],
    ["PFDEBUG", "DECODE", "h"], ["PFDEBUG", "TODENSE", "h"], ["PFDEBUG", "TODENSE", "h"],
    ["PFDEBUG", "GETREG", "d"], ["PFADD", "h", "c"], ["PFCOUNT", "h", "d"],
    ["MULTI"], ["PFADD", "m", "x"], ["PFCOUNT", "m"], ["EXEC"],
    ["EVAL", "redis.call('pfadd', KEYS[1], 'q'); return redis.call('pfcount', KEYS[1])",
     "1", "lua"],
    ["GEOADD", "g", "ch", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
     "Catania"], ["GEORADIUS", "g", "15", "37", "200", "km"],
    ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "s"],
    ["GEORADIUSBYMEMBER", "g", "Palermo", "200", "km", "WITHDIST"],
    ["GEORADIUSBYMEMBER", "g", "Palermo", "200", "km", "STOREDIST", "s3"],
    ["GEOSEARCHSTORE", "s2", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
    ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
    ["GEOADD", "g", "1", "1", "x"], ["GEOADD", "g", "500", "1", "bad"],
    ["GEOADD", "g", "NX", "1", "1", "x"], ["GEOADD", "g", "CH", "1", "1", "x"],
    ["GEOADD", "g", "CH", "2", "1", "x"],
]


def _incr_file(directory: str) -> bytes:
    from tests.aofutil import aof_files
    return open(aof_files(directory)[-1], "rb").read()


def test_aof_effects_are_redis_bytes(tmp_path, real_redis):
    """The incr file after the same commands is byte for byte Redis's, and replaying
    ours (miniredis restart) gives back the same values."""
    from miniredis import Server
    from tests.harness import RedisProcess, find_redis_server
    real_dir, mini_dir = tmp_path / "real", tmp_path / "mini"
    real_dir.mkdir()
    mini_dir.mkdir()
    redis_proc = RedisProcess(find_redis_server(), ["--appendonly", "yes", "--dir",
                                                    str(real_dir)])
    try:
        with Server(port=0, appendonly=True, dir=str(mini_dir)) as server:
            replies = {}
            for name, port in (("redis", redis_proc.port), ("mini", server.port)):
                conn = RawConnection(port)
                replies[name] = [conn.call(*cmd) for cmd in AOF_COMMANDS]
                replies[name].append(conn.call("GET", "h"))
                replies[name].append(conn.call("ZRANGE", "s3", "0", "-1", "WITHSCORES"))
                conn.close()
            assert replies["mini"] == replies["redis"]
            assert _incr_file(str(mini_dir)) == _incr_file(str(real_dir))
        with Server(port=0, appendonly=True, dir=str(mini_dir)) as server:
            conn = RawConnection(server.port)
            assert conn.call("GET", "h") == replies["redis"][-2]
            assert conn.call("ZRANGE", "s3", "0", "-1", "WITHSCORES") == replies["redis"][-1]
            conn.close()
    finally:
        redis_proc.stop()


def test_keyspace_hits_and_misses(differ):
    from tests.harness import assert_same_hits_and_misses
    assert_same_hits_and_misses(differ, ["PFADD h a", "PFADD h2 b"], [
        "PFCOUNT h", "PFCOUNT nosuch", "PFCOUNT h nosuch h2", "PFMERGE d h nosuch",
        "PFMERGE h h2", "PFADD h c", "PFDEBUG ENCODING h"])


def test_from_scripts_and_transactions(differ):
    differ.check(
        "EVAL \"redis.call('pfadd', KEYS[1], 'a', 'b'); return redis.call('pfcount', "
        "KEYS[1])\" 1 h", "EVAL_RO \"return redis.call('pfcount', KEYS[1])\" 1 h",
        "EVAL_RO \"return redis.call('pfadd', KEYS[1], 'z')\" 1 h",
        "MULTI", "PFADD h c", "PFCOUNT h", "PFMERGE d h", "GET d", "EXEC", "GET h",
        "OBJECT ENCODING h", "APPEND h x", "PFCOUNT h")


def test_rdb_snapshot_loads_in_redis(tmp_path, real_redis):
    """A HLL saved by miniredis (SAVE) is read by redis-server as the same string."""
    from miniredis import Server
    from tests.harness import RedisProcess, find_redis_server
    with Server(port=0, dir=str(tmp_path)) as server:
        conn = RawConnection(server.port)
        conn.call("PFADD", "small", "a", "b", "c")
        conn.call("PFADD", "big", *("e%d" % i for i in range(5000)))
        conn.call("PFCOUNT", "big")
        conn.call("GEOADD", "geo", "13.361389", "38.115556", "Palermo")
        values = [conn.call("GET", "small"), conn.call("GET", "big")]
        assert conn.call("SAVE") == b"+OK\r\n"
        conn.close()
    loaded = RedisProcess(find_redis_server(), ["--dir", str(tmp_path)])
    try:
        conn = RawConnection(loaded.port)
        assert [conn.call("GET", "small"), conn.call("GET", "big")] == values
        assert conn.call("PFDEBUG", "ENCODING", "big") == b"+dense\r\n"
        assert conn.call("GEOPOS", "geo", "Palermo").startswith(b"*1\r\n*2\r\n$20\r\n13.36")
        conn.close()
    finally:
        loaded.stop()


@pytest.mark.parametrize("seed", range(6))
def test_random_merges_give_identical_bytes(differ, seed):
    """PFMERGE of random sparse and dense HLLs, into new and existing (sparse or
    dense) destinations, register by register as Redis: the same bytes."""
    rng = random.Random(seed)
    limit = rng.choice(["3000", "300", "1200"])
    with configured(differ, ["hll-sparse-max-bytes", limit],
                    ["hll-sparse-max-bytes", "3000"]):
        commands = []
        for i in range(5):
            size = rng.choice([1, 4, 30, 120, 400, 2500])
            commands.append(["PFADD", "k%d" % i,
                             *("%d:%d" % (i, rng.randrange(10 ** 7)) for _ in range(size))])
        for _ in range(8):
            sources = rng.sample(["k0", "k1", "k2", "k3", "k4", "nosuch"], rng.randrange(1, 4))
            dest = rng.choice(["d", "e", "k0", "k3"])
            commands += [["PFMERGE", dest, *sources], ["GET", dest],
                         ["PFDEBUG", "ENCODING", dest], ["PFCOUNT", dest, *sources]]
        differ.check(*commands, protocols=(2,))


def test_batch_editor_matches_single_updates():
    """PFADD of many elements edits a sparse value as an opcode list: the bytes are
    those of one update after the other (Redis's order), promotion included, and a
    corrupted value falls back to the byte editor."""
    rng = random.Random(5)
    for trial in range(120):
        limit = rng.choice([3000, 3000, 200, 700, 40])
        one, batch = hll.new_sparse(), hll.new_sparse()
        for _ in range(rng.randrange(1, 6)):
            elements = [rng.randbytes(rng.randrange(0, 20))
                        for _ in range(rng.choice([8, 20, 200, 1500]))]
            if trial % 7 == 0 and one[4] == hll.SPARSE:
                spot = rng.randrange(hll.HEADER, len(one))
                one[spot] = batch[spot] = rng.randrange(256)
            expected = 0
            for element in elements:
                result = hll.add(one, element, limit)
                if result < 0:
                    expected = -1
                    break
                expected += result     # (add_many counts the updates)
            got = hll_bulk.add_many(batch, elements, limit)
            assert got == expected
            assert bytes(batch)[:15] + bytes(batch)[16:] == \
                bytes(one)[:15] + bytes(one)[16:], trial
            if got >= 0 and expected:
                hll.invalidate_cache(one)
                hll.invalidate_cache(batch)
            assert batch == one, trial
            if got < 0:
                break
