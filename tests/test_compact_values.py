"""Compact (listpack) values: the conversion boundaries at Redis's default limits, at
runtime-changed limits, and across DEBUG RELOAD and DUMP/RESTORE, compared with a real
redis-server; plus the in-process form of a listpack value (one packed blob).

No timing or memory figures are asserted here: benchmarks/memory.py measures those.
"""
from __future__ import annotations

import pytest

from miniredis.datatypes.packed import EMPTY, PackedHash, pack, unpack
from tests.harness import Unordered, configured


def _fields(count: int, start: int = 0) -> str:
    return " ".join("f%d v%d" % (i, i) for i in range(start, start + count))


# -- the packed blob ----------------------------------------------------------------------
@pytest.mark.parametrize("items", [
    [], [b""], [b"a", b"", b"\x00\xff" * 3], [b"x" * 255, b"y" * 256, b"z" * 70000],
    [bytes([i % 256]) * i for i in range(300)],
])
def test_pack_round_trips(items):
    blob = pack(items)
    assert unpack(blob) == items and blob.__class__ is bytes
    assert (blob == EMPTY) == (not items)


@pytest.mark.parametrize("first", [0, 1, 255, 256, 70000])
@pytest.mark.parametrize("second", [0, 3, 255, 256])
def test_two_elements_pack_as_the_pickler_writes_them(first, second):
    """pack() joins a pair of short elements itself (a hash of one field): the same
    bytes the pickler writes, whatever the lengths (from 256 bytes on, it defers)."""
    import io
    import pickle
    items = [b"\x00" * first, b"\xff" * second]
    out = io.BytesIO()
    pickler = pickle.Pickler(out, 4)
    pickler.fast = True
    pickler.dump(items)
    written = out.getvalue()
    assert pack(items) == (written[11:] if written[2] == 0x95 else written[2:])
    assert unpack(pack(items)) == items
    assert unpack(pack([b"m", 1.5])) == [b"m", 1.5] and unpack(pack([b"m", 2])) == [b"m", 2]


def test_packed_hash_put_keeps_every_version_right():
    """HSETs at one hash in a row reuse the elements put unpacked last (a memo of one
    hash); writes to other hashes, and to older versions of the same one, in between
    must each see their own fields, and a value equal to a field's name is no field
    (for put, get and [])."""
    import random
    rng = random.Random(7)
    versions = [(PackedHash(), {})]
    for _ in range(3000):
        packed, plain = versions[-1] if rng.random() < 0.7 else rng.choice(versions)
        # (values spelled as field names too: put finds a field by its even place)
        field = b"f%d" % rng.randrange(6)
        value = (b"v%d" if rng.random() < 0.5 else b"f%d") % rng.randrange(6)
        new, added, size = packed.put(field, value)
        assert added == (field not in plain)
        plain = dict(plain)
        plain[field] = value
        assert new.items() == list(plain.items()) and size == len(plain)
        assert (new is packed) == (packed.items() == new.items())
        versions.append((new, plain))
        # Reads (from the remembered elements when ``new`` is the hash put wrote last).
        old, old_plain = rng.choice(versions)
        for hash_, model in ((new, plain), (old, old_plain)):
            asked = b"f%d" % rng.randrange(7)
            assert hash_.get(asked) == model.get(asked)
            assert hash_.get(asked, b"-") == model.get(asked, b"-")
            if asked in model:
                assert hash_[asked] == model[asked]
            else:
                with pytest.raises(KeyError):
                    hash_[asked]
    for packed, plain in versions:
        assert packed.items() == list(plain.items())


def test_packed_hash_behaves_as_an_ordered_dict():
    """Every dict operation the commands use, against a dict doing the same."""
    packed, plain = PackedHash([(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]), {}
    plain.update([(b"a", b"1"), (b"b", b"2"), (b"a", b"3")])
    assert packed.items() == list(plain.items())
    before = packed
    packed, added = packed.updated([b"c", b"4", b"a", b"5", b"1", b"a"])
    assert added == 2 and before.items() == [(b"a", b"3"), (b"b", b"2")]   # immutable
    plain.update({b"c": b"4", b"a": b"5", b"1": b"a"})
    packed, deleted = packed.without([b"b", b"zz", b"b"])
    assert deleted == 1
    del plain[b"b"]
    packed, added = packed.updated([b"b", b"6"] + [b"a", b"5"] * 5)   # indexed path
    plain[b"b"] = b"6"
    assert added == 1 and packed.items() == list(plain.items())
    assert packed.keys() == list(plain) and packed.values() == list(plain.values())
    assert len(packed) == 4 and bool(packed) and b"a" in packed and b"5" not in packed
    assert packed.get(b"1") == b"a" and packed.get(b"a") == b"5" and packed.get(b"v") is None
    assert packed[b"c"] == b"4" and list(packed) == list(plain)
    with pytest.raises(KeyError):
        packed[b"zz"]
    emptied, deleted = packed.without([b"a", b"c", b"1", b"b", b"a"])
    assert deleted == 4 and not emptied and len(emptied) == 0
    assert packed.without([b"zz"]) == (packed, 0) and packed.copy() is packed


# -- hashes -------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [127, 128, 129])
def test_hash_entries_boundary(differ, count):
    differ.check("HSET h " + _fields(count), "OBJECT ENCODING h", "HLEN h", "HGET h f0",
                 "HGETALL h" if count <= 128 else Unordered("HGETALL h"),
                 "HSCAN h 0" if count <= 128 else "HLEN h",
                 "HSET h f0 new", "HSET h extra 1", "OBJECT ENCODING h", "HDEL h extra",
                 "OBJECT ENCODING h", "HGET h f0")


def test_hash_entries_boundary_one_by_one(differ):
    commands = ["HSET h f%d v" % i for i in range(128)]
    differ.check(*commands, "OBJECT ENCODING h", "HSETNX h f0 x", "HINCRBY h f127 1",
                 "OBJECT ENCODING h", "HINCRBY h f128 1", "OBJECT ENCODING h",
                 "HGET h f128")


@pytest.mark.parametrize("length", [64, 65])
def test_hash_value_length_boundary(differ, length):
    long = "x" * length
    differ.check("HSET a f %s" % long, "OBJECT ENCODING a", "HGET a f",
                 "HSET b %s v" % long, "OBJECT ENCODING b", "HGETALL b",
                 "HSET c f v g w", "HSETNX c f %s" % long, "OBJECT ENCODING c",
                 "HSETNX c n %s" % long, "OBJECT ENCODING c", "HGETALL c" if length == 64
                 else Unordered("HGETALL c"), "HSET d f 1", "HINCRBYFLOAT d f 0.1",
                 "HINCRBY d %s 1" % long, "OBJECT ENCODING d")


def test_hash_limits_changed_at_runtime(differ):
    with configured(differ, ["hash-max-listpack-entries", "3", "hash-max-listpack-value", "5"],
                    ["hash-max-listpack-entries", "512", "hash-max-listpack-value", "64"]):
        differ.check("HSET h a 1 b 2 c 3", "OBJECT ENCODING h", "HSET h d 4",
                     "OBJECT ENCODING h", "HSET s a 1", "HSET s b 123456",
                     "OBJECT ENCODING s", "HSET big a 1 b 2", "CONFIG SET "
                     "hash-max-listpack-entries 1", "OBJECT ENCODING big", "HGET big b",
                     "HSET big b 3", "OBJECT ENCODING big", Unordered("HGETALL big"))


def test_hash_encodings_survive_reload_and_restore(differ):
    small = _fields(5)
    differ.check("HSET small " + small, "HSET large " + _fields(200),
                 "HSET long f " + "y" * 100, "HSET shrunk " + _fields(129),
                 "HDEL shrunk " + " ".join("f%d" % i for i in range(1, 129)),
                 "OBJECT ENCODING shrunk", "DUMP small", "DUMP long", "DUMP shrunk",
                 "DEBUG RELOAD", "OBJECT ENCODING small", "OBJECT ENCODING large",
                 "OBJECT ENCODING long", "OBJECT ENCODING shrunk", "HGETALL small",
                 "HGETALL shrunk", "HLEN large", "HGET large f150", "HSET small z 1",
                 "HGETALL small")


def test_hash_restore_of_both_encodings(differ):
    """A DUMP payload from Redis, restored into both servers, keeps its encoding rules."""
    from tests.harness import RawConnection, parse_raw
    conn = RawConnection(differ.ports["redis"])
    try:
        conn.call("FLUSHALL")
        conn.call("HSET", "a", *("f%d v" % i for i in range(3)))
        conn.call("HSET", "b", *[x for i in range(300) for x in ("f%d" % i, "v")])
        payloads = [parse_raw(conn.call("DUMP", key)) for key in ("a", "b")]
    finally:
        conn.close()
    differ.check(["RESTORE", "a", "0", payloads[0]], ["RESTORE", "b", "0", payloads[1]],
                 "OBJECT ENCODING a", "OBJECT ENCODING b", "HGETALL a", "HLEN b",
                 "DUMP a", "HSET a f9 v", "HGETALL a", "HLEN a")


def test_listpack_hash_is_one_packed_value(mini):
    """In-process form: a listpack hash is a PackedHash, a converted one a dict."""
    from tests.harness import RawConnection
    conn = RawConnection(mini.port)
    try:
        # (Redis 7.0's own default is 512; other tests may have left another value)
        conn.call("CONFIG", "SET", "hash-max-listpack-entries", "128")
        conn.call("SELECT", "9")
        conn.call("FLUSHDB")
        conn.call("HSET", "small", "a", "1", "b", "2")
        conn.call("HSET", "large", *[x for i in range(129) for x in ("f%d" % i, "v")])
        db = mini.state.dbs[9]
        assert db.data[b"small"].__class__ is PackedHash
        assert isinstance(db.data[b"large"], dict)
        conn.call("DEBUG", "RELOAD")
        db = mini.state.dbs[9]
        assert db.data[b"small"].__class__ is PackedHash
        assert isinstance(db.data[b"large"], dict)
    finally:
        conn.call("CONFIG", "SET", "hash-max-listpack-entries", "512")
        conn.close()


# -- sorted sets --------------------------------------------------------------------------
def _members(count: int, start: int = 0) -> str:
    return " ".join("%d m%d" % (i % 7, i) for i in range(start, start + count))


@pytest.mark.parametrize("count", [127, 128, 129])
def test_zset_entries_boundary(differ, count):
    differ.check("ZADD z " + _members(count), "OBJECT ENCODING z", "ZCARD z",
                 "ZRANGE z 0 -1 WITHSCORES", "ZSCORE z m5", "ZRANK z m5",
                 "ZSCAN z 0" if count <= 128 else "ZCARD z", "ZADD z 1.5 extra",
                 "OBJECT ENCODING z", "ZREM z extra", "OBJECT ENCODING z",
                 "ZRANGEBYSCORE z 2 3 LIMIT 1 5", "ZRANGEBYLEX z - + LIMIT 0 3")


@pytest.mark.parametrize("length", [64, 65])
def test_zset_member_length_boundary(differ, length):
    long = "x" * length
    differ.check("ZADD a 1 %s" % long, "OBJECT ENCODING a", "ZSCORE a %s" % long,
                 "ZADD b 1 a 2 b", "ZINCRBY b 1 %s" % long, "OBJECT ENCODING b",
                 "ZRANGE b 0 -1 WITHSCORES", "ZADD c 1 a", "GEOADD c 1 1 %s" % long,
                 "OBJECT ENCODING c", "ZADD d -0 a 3.25 b inf c", "ZSCAN d 0",
                 "ZRANGE d 0 -1 WITHSCORES")


def test_zset_limits_changed_at_runtime(differ):
    with configured(differ, ["zset-max-listpack-entries", "3", "zset-max-listpack-value", "5"],
                    ["zset-max-listpack-entries", "128", "zset-max-listpack-value", "64"]):
        differ.check("ZADD z 1 a 2 b 3 c", "OBJECT ENCODING z", "ZADD z 4 d",
                     "OBJECT ENCODING z", "ZADD s 1 a", "ZADD s 2 123456",
                     "OBJECT ENCODING s", "ZADD big 1 a 2 b", "CONFIG SET "
                     "zset-max-listpack-entries 1", "OBJECT ENCODING big", "ZSCORE big b",
                     "ZADD big 3 b", "OBJECT ENCODING big", "ZADD big 4 c",
                     "OBJECT ENCODING big", "ZRANGE big 0 -1 WITHSCORES",
                     "ZUNIONSTORE u 1 big", "OBJECT ENCODING u")


def test_zset_encodings_survive_reload_and_restore(differ):
    differ.check("ZADD small " + _members(5), "ZADD large " + _members(200),
                 "ZADD long 1 " + "y" * 100, "ZADD frac 0.1 a -2.5e-7 b 1e300 c -inf d",
                 "DUMP small", "DUMP frac", "DEBUG RELOAD", "OBJECT ENCODING small",
                 "OBJECT ENCODING large", "OBJECT ENCODING long", "OBJECT ENCODING frac",
                 "ZRANGE small 0 -1 WITHSCORES", "ZRANGE frac 0 -1 WITHSCORES",
                 "ZCARD large", "ZSCORE large m150", "DUMP small", "DUMP frac")


def test_many_small_zsets_stay_correct_when_packed_at_rest(differ):
    """More sets than stay hydrated: each is packed and rebuilt between commands."""
    from miniredis.datatypes.zset import _KEEP_HYDRATED
    keys = ["z%d" % i for i in range(_KEEP_HYDRATED + 24)]
    writes = ["ZADD %s %d a %d.5 b -%d c" % (key, i, i, i) for i, key in enumerate(keys)]
    reads = [command for key in keys for command in (
        "ZRANGE %s 0 -1 WITHSCORES" % key, "ZINCRBY %s 1 a" % key, "ZREM %s c" % key,
        "ZSCORE %s b" % key)]
    differ.check(*writes, *reads, "ZUNIONSTORE u %d " % len(keys) + " ".join(keys),
                 "ZRANGE u 0 -1 WITHSCORES", *("ZCARD %s" % key for key in keys),
                 "DEBUG DIGEST-VALUE z3 %s" % keys[-1], "ZPOPMIN z0",
                 "ZPOPMAX %s 5" % keys[-1], "EXISTS %s" % keys[-1])


def test_listpack_zset_is_packed_at_rest(mini):
    from miniredis.datatypes.zset import _KEEP_HYDRATED, ZSet
    from tests.harness import RawConnection
    conn = RawConnection(mini.port)
    try:
        conn.call("SELECT", "9")
        conn.call("FLUSHDB")
        for i in range(40):
            conn.call("ZADD", "z%d" % i, "1", "a", "2", "b")
        conn.call("ZADD", "large", *[x for i in range(129) for x in (str(i), "m%d" % i)])
        for i in range(_KEEP_HYDRATED + 8):     # (pushes the z sets out of the few kept)
            conn.call("ZADD", "w%d" % i, "1", "a")
        db = mini.state.dbs[9]
        packed = [db.data[b"z%d" % i].packed_size() is not None for i in range(40)]
        assert all(packed)
        assert db.data[b"large"].packed_size() is None
        assert conn.call("ZRANGE", "z0", "0", "-1", "WITHSCORES") == \
            b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
        assert isinstance(db.data[b"z0"], ZSet)
    finally:
        conn.close()


def test_string_commands_refuse_listpack_hashes(differ):
    """A listpack hash is held as a bytes subclass: every string, bit and HLL command
    must still see a hash (WRONGTYPE), as in Redis."""
    differ.check("HSET h a 1", "GET h", "SET h x GET", "APPEND h x", "STRLEN h",
                 "GETRANGE h 0 -1", "SETRANGE h 0 x", "INCR h", "INCRBYFLOAT h 1",
                 "GETDEL h", "GETEX h", "BITCOUNT h", "GETBIT h 0", "SETBIT h 0 1",
                 "BITPOS h 1", "BITFIELD h GET u8 0", "PFADD h x", "PFCOUNT h",
                 "LCS h h", "MGET h", "TYPE h", "OBJECT ENCODING h",
                 "OBJECT REFCOUNT h", "DEBUG DIGEST-VALUE h", "SORT h",
                 "LPUSH h x", "SADD h x", "ZADD h 1 x", "XADD h * a 1", "HGETALL h",
                 "SET h x", "TYPE h", "GET h")
